"""Uploads are checked by size (streamed) and content, never by name, and stored with random names."""
import io
import json
import stat
import tracemalloc
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from tests.factories import make_user
from zhijian.core.errors import ApplicationError
from zhijian.security.models import StoredUpload
from zhijian.security.uploads import check_upload, store_upload

MB = 1024 * 1024


def xlsx_bytes():
    wb = openpyxl.Workbook()
    wb.active.append(["统一社会信用代码", "名称"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(name, data):
    return SimpleUploadedFile(name, data)


def test_real_workbook_passes():
    checked = check_upload(upload("主体.xlsx", xlsx_bytes()), kinds=["xlsx"])
    assert checked.kind == "xlsx" and checked.original_name == "主体.xlsx" and len(checked.sha256) == 64


@pytest.mark.parametrize("data", [
    "名称,地址\n甲,乙\n".encode("utf-8"),           # a CSV renamed .xlsx
    b"PK\x03\x04" + b"\x00" * 100,                    # zip magic, not a zip
    None,                                              # a zip without a workbook
])
def test_non_excel_named_xlsx_is_refused(data):
    if data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("word/document.xml", "<w/>")
        data = buf.getvalue()
    with pytest.raises(ApplicationError) as exc:
        check_upload(upload("主体.xlsx", data), kinds=["xlsx"])
    assert exc.value.message == "文件不是有效的 Excel（.xlsx）文件"


def test_fifty_megabytes_is_refused_without_reading_it_into_memory(tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    big = TemporaryUploadedFile("big.xlsx", "application/octet-stream", 50 * MB, None)
    block = xlsx_bytes()[:4096] * 256  # 1 MB
    for _ in range(50):
        big.write(block)
    big.seek(0)
    tracemalloc.start()
    try:
        with pytest.raises(ApplicationError) as exc:
            check_upload(big, kinds=["xlsx"])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        big.close()
    assert exc.value.message == "文件过大：上限 20 MB"
    assert peak < 4 * MB


def test_fifty_megabyte_post_is_refused_cleanly(client):
    response = client.generic("POST", "/accounts/login/", b"\0" * (50 * MB), content_type="application/octet-stream")
    assert response.status_code == 413
    assert response.content.decode() == "文件过大：上限 20 MB"
    api = client.generic("POST", "/api/v1/auth/token/", b"\0" * (50 * MB), content_type="application/octet-stream")
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"


def test_csv_encodings_and_nul_bytes():
    assert check_upload(upload("a.csv", "名称,地址\n测试,东莞\n".encode("utf-8")), kinds="csv").encoding == "utf-8"
    assert check_upload(upload("a.csv", "名称,地址\n测试,东莞\n".encode("gb18030")), kinds="csv").encoding == "gb18030"
    with pytest.raises(ApplicationError, match="不是有效的 CSV"):
        check_upload(upload("a.csv", b"a,b\n\x00\x01,2\n"), kinds="csv")
    with pytest.raises(ApplicationError, match="不是有效的 CSV"):
        check_upload(upload("a.csv", b"\xff\xfe\x80\x80"), kinds="csv")


def test_geojson_image_pdf():
    fc = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    assert check_upload(upload("g.json", fc), kinds="geojson").kind == "geojson"
    with pytest.raises(ApplicationError, match="GeoJSON"):
        check_upload(upload("g.geojson", b"[1, 2, 3]"), kinds="geojson")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    webp = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
    assert [check_upload(upload("x.bin", d), kinds="image").content_type for d in (png, jpeg, webp)] == [
        "image/png", "image/jpeg", "image/webp"]
    with pytest.raises(ApplicationError, match="不是有效的图片"):
        check_upload(upload("photo.jpg", b"GIF89a" + b"\x00" * 32), kinds="image")
    assert check_upload(upload("d.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), kinds="pdf").kind == "pdf"
    with pytest.raises(ApplicationError, match="不是有效的 PDF"):
        check_upload(upload("d.pdf", b"%PDF-1.7\ntruncated"), kinds="pdf")


def test_several_kinds_and_message():
    assert check_upload(upload("x", xlsx_bytes()), kinds=["csv", "xlsx"]).kind == "xlsx"
    with pytest.raises(ApplicationError, match="文件类型不受支持，允许：CSV 文本、Excel（.xlsx）"):
        check_upload(upload("x.csv", b"\x00\x01\x02"), kinds=["csv", "xlsx"])


@pytest.mark.django_db
def test_store_upload_uses_random_names_outside_the_web_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    user = make_user(username="uploader")
    data = xlsx_bytes()
    stored = store_upload(check_upload(upload("../../etc/主体名单.xlsx", data), kinds="xlsx"), uploaded_by=user, purpose="entities")
    assert stored.original_name == "主体名单.xlsx"
    assert stored.path.is_file() and stored.path.is_relative_to(tmp_path / "uploads")
    assert "主体" not in stored.relative_path and stored.relative_path.endswith(".xlsx")
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
    assert stored.path.read_bytes() == data and stored.size == len(data)
    assert StoredUpload.objects.get(pk=stored.pk).sha256 == stored.sha256
    assert not str(settings.MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))
