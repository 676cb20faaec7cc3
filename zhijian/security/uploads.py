"""Checking and storing uploaded files by content, never by name.

``check_upload(file, kinds=("xlsx",))`` streams the file once to measure and hash it (never
holding it all in memory), then checks magic bytes and structure for the allowed kinds and returns
a ``CheckedUpload``; anything else raises ApplicationError with a message for the person.
``store_upload(checked, ...)`` saves it under MEDIA_ROOT (outside the web root) with a random
name; the original name is metadata in ``StoredUpload``.
"""
from __future__ import annotations

import codecs
import hashlib
import json
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError

from . import audit
from .choices import AuditEvent, UploadKind
from .models import StoredUpload

CHUNK = 64 * 1024
# A workbook may not expand beyond this (zip bomb guard).
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
GEOJSON_TYPES = {
    "FeatureCollection", "Feature", "Point", "MultiPoint", "LineString", "MultiLineString",
    "Polygon", "MultiPolygon", "GeometryCollection",
}
EXTENSIONS = {"xlsx": ".xlsx", "csv": ".csv", "geojson": ".geojson", "pdf": ".pdf"}
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "geojson": "application/geo+json",
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
}


@dataclass
class CheckedUpload:
    file: IO[bytes]
    kind: str
    size: int
    sha256: str
    original_name: str
    content_type: str
    extension: str
    encoding: str = ""  # for csv: "utf-8" or "gb18030"

    def open(self) -> IO[bytes]:
        self.file.seek(0)
        return self.file


def _messages() -> dict[str, str]:
    return {
        "xlsx": _("文件不是有效的 Excel（.xlsx）文件"),
        "csv": _("文件不是有效的 CSV 文本文件（须为 UTF-8 或 GB18030 编码）"),
        "geojson": _("文件不是有效的 GeoJSON 文件"),
        "image": _("文件不是有效的图片（支持 JPEG、PNG、WebP）"),
        "pdf": _("文件不是有效的 PDF 文件"),
        "audio": _("文件不是有效的音频（支持 MP3、M4A、AAC、OGG、WAV、WebM）"),
        "video": _("文件不是有效的视频（支持 MP4、MOV、WebM）"),
    }


def _mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f}" if mb == int(mb) else f"{mb:.1f}"


def _chunks(file) -> Iterable[bytes]:
    file.seek(0)
    if hasattr(file, "chunks"):
        yield from file.chunks(CHUNK)
        return
    while True:
        block = file.read(CHUNK)
        if not block:
            return
        yield block


def _measure(file, max_bytes: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for block in _chunks(file):
        size += len(block)
        if size > max_bytes:
            raise ApplicationError(_("文件过大：上限 %(mb)s MB") % {"mb": _mb(max_bytes)}, code="too_large", extra={"max_bytes": max_bytes})
        digest.update(block)
    file.seek(0)
    return size, digest.hexdigest()


def _head(file, n: int = 64) -> bytes:
    file.seek(0)
    data = file.read(n)
    file.seek(0)
    return data


def _is_xlsx(file) -> bool:
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as zf:
            names = set(zf.namelist())
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                return False
            if sum(i.file_size for i in zf.infolist()) > MAX_XLSX_UNCOMPRESSED:
                return False
            # Read the central manifest to be sure the archive really decompresses.
            with zf.open("[Content_Types].xml") as fh:
                return b"spreadsheetml" in fh.read(1024 * 1024)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, NotImplementedError):
        return False
    finally:
        file.seek(0)


def _csv_encoding(file) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            for block in _chunks(file):
                if b"\x00" in block:
                    return None
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
        finally:
            file.seek(0)
    return None


def _is_geojson(file) -> bool:
    file.seek(0)
    try:
        data = json.loads(file.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    finally:
        file.seek(0)
    return isinstance(data, dict) and data.get("type") in GEOJSON_TYPES


def _image_type(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _media_type(head: bytes, kind: str) -> tuple[str, str] | None:
    """(content type, extension) of an audio or video container recognised by its magic bytes."""
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM/Matroska, what browsers' MediaRecorder writes
        return ("audio/webm", ".webm") if kind == UploadKind.AUDIO else ("video/webm", ".webm")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if kind == UploadKind.AUDIO:
            return ("audio/mp4", ".m4a") if brand in (b"M4A ", b"M4B ", b"mp42", b"isom", b"dash") else None
        return ("video/quicktime", ".mov") if brand == b"qt  " else ("video/mp4", ".mp4")
    if kind == UploadKind.AUDIO:
        if head.startswith(b"OggS"):
            return "audio/ogg", ".ogg"
        if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return "audio/wav", ".wav"
        if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
            return ("audio/aac", ".aac") if len(head) >= 2 and head[1] & 0xF6 == 0xF0 else ("audio/mpeg", ".mp3")
    return None


def _is_pdf(file, size: int) -> bool:
    if not _head(file, 1024).lstrip(b"\r\n\t \x0c")[:5] == b"%PDF-":
        return False
    file.seek(max(0, size - 2048))
    tail = file.read()
    file.seek(0)
    return b"%%EOF" in tail


def _detect(file, kind: str, size: int) -> tuple[str, str, str] | None:
    """(content_type, extension, encoding) when ``file`` is a valid ``kind``, else None."""
    if kind == UploadKind.XLSX:
        return (CONTENT_TYPES["xlsx"], ".xlsx", "") if _is_xlsx(file) else None
    if kind == UploadKind.CSV:
        encoding = _csv_encoding(file)
        return (CONTENT_TYPES["csv"], ".csv", encoding) if encoding else None
    if kind == UploadKind.GEOJSON:
        return (CONTENT_TYPES["geojson"], ".geojson", "") if _is_geojson(file) else None
    if kind == UploadKind.IMAGE:
        image = _image_type(_head(file, 16))
        return (CONTENT_TYPES[image], "." + ("jpg" if image == "jpeg" else image), "") if image else None
    if kind == UploadKind.PDF:
        return (CONTENT_TYPES["pdf"], ".pdf", "") if _is_pdf(file, size) else None
    if kind in (UploadKind.AUDIO, UploadKind.VIDEO):
        media = _media_type(_head(file, 16), kind)
        return (media[0], media[1], "") if media else None
    raise ValueError(f"unknown upload kind {kind!r}")


def check_upload(file, *, kinds: Iterable[str], max_bytes: int | None = None) -> CheckedUpload:
    """Check an uploaded file (a Django UploadedFile or any binary file object) against the
    allowed ``kinds``; the first kind that matches wins. Raises ApplicationError."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if not kinds:
        raise ValueError("kinds must not be empty")
    max_bytes = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if file is None:
        raise ApplicationError(_("请选择要上传的文件"), code="no_file")
    size, sha256 = _measure(file, max_bytes)
    if size == 0:
        raise ApplicationError(_("文件为空"), code="empty_file")
    for kind in kinds:
        found = _detect(file, kind, size)
        if found:
            content_type, extension, encoding = found
            file.seek(0)
            return CheckedUpload(
                file=file, kind=kind, size=size, sha256=sha256,
                original_name=os.path.basename(getattr(file, "name", "") or "")[:255],
                content_type=content_type, extension=extension, encoding=encoding,
            )
    messages = _messages()
    if len(kinds) == 1:
        message = messages[kinds[0]]
    else:
        message = _("文件类型不受支持，允许：%(kinds)s") % {"kinds": "、".join(str(UploadKind(k).label) for k in kinds)}
    raise ApplicationError(message, code="invalid_file_type", extra={"allowed": kinds})


@transaction.atomic
def store_upload(checked: CheckedUpload, *, uploaded_by=None, purpose: str = "") -> StoredUpload:
    """Save a checked upload under MEDIA_ROOT/<yyyy>/<mm>/<random><ext>, owner-readable only."""
    now = timezone.now()
    relative = Path(f"{now:%Y}") / f"{now:%m}" / f"{uuid.uuid4().hex}{checked.extension}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for block in _chunks(checked.file):
                out.write(block)
        checked.file.seek(0)
        stored = StoredUpload.objects.create(
            kind=checked.kind, original_name=checked.original_name or relative.name, relative_path=str(relative),
            size=checked.size, sha256=checked.sha256, uploaded_by=uploaded_by if uploaded_by is not None and uploaded_by.pk else None,
            purpose=purpose,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    audit.record(AuditEvent.UPLOAD, user=uploaded_by, obj=stored, detail={"kind": checked.kind, "size": checked.size,
                                                                         "sha256": checked.sha256, "purpose": purpose})
    return stored
