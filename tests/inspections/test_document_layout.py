"""The documents' layout, tested by rendering: pdftotext per page and the page count."""
import subprocess

import pytest

from tests.inspections.conftest import items_of, payload

pytestmark = pytest.mark.django_db
LONG_NOTE = "现场发现该批次产品标签标注的生产日期与进货查验记录不一致，经营者未能提供供货者的许可证和产品合格证明文件，已当场拍照取证并要求下架封存。"


def _pdf_pages(pdf: bytes, tmp_path, name: str, layout: bool = False) -> list[str]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, timeout=60).stdout.decode()
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", *(["-layout"] if layout else []), "-f", str(n), "-l", str(n), str(path), "-"], capture_output=True, check=True,
                           timeout=60).stdout.decode() for n in range(1, pages + 1)]


def _flat(text: str) -> str:
    return "".join(text.split())


def _sealed(sync, team, shop, n_items, *, bureau_level=None):
    from zhijian.inspections.models import Inspection

    items = items_of("food_sales", n_items)
    body = payload(entity=shop, officers=team, items=items, conclusion="correct", correction_days=5)
    for k, row in enumerate(body["results"]):
        if k < n_items:
            row.update(result="problem", note=LONG_NOTE)
    if bureau_level:
        team[0].bureau.__class__.objects.filter(pk=team[0].bureau_id).update(level=bureau_level)
    r = sync(team[0], body)
    assert r.status_code == 201, r.content
    return Inspection.objects.get(pk=r.json()["id"]), items


def test_record_rows_never_split_across_pages(sync, checklists, team, shop, tmp_path):
    from zhijian.inspections import documents

    inspection, items = _sealed(sync, team, shop, 30)
    pages = _pdf_pages(documents.render_record(inspection), tmp_path, "record")
    assert len(pages) >= 3, "enough rows to need several pages"
    flat_pages = [_flat(p) for p in pages]
    for item in items:
        row = _flat(item.text) + "问题" + _flat(LONG_NOTE)
        whole = [k for k, page in enumerate(flat_pages) if _flat(item.text) in page]
        assert whole, f"item {item.number} split across pages: {item.text[:30]}"
        # the note of the row is on the same page as its text
        assert any(_flat(LONG_NOTE)[:40] in flat_pages[k] for k in whole), row[:40]


def test_correction_order_content_column_is_readable_and_says_which_unit(sync, checklists, team, shop, tmp_path):
    from zhijian.inspections import documents
    from zhijian.org.choices import BureauLevel

    inspection, items = _sealed(sync, team, shop, 3, bureau_level=BureauLevel.STATION)
    pages = _pdf_pages(documents.render_correction(inspection), tmp_path, "correction", layout=True)
    text = "\n".join(pages)
    # the content column holds at least 12 characters a line (it was two)
    first = _flat(items[0].text)
    longest = max(len(run) for line in text.splitlines() for run in line.split("  ") if _flat(run) and _flat(run) in first)
    assert longest >= 12, longest
    assert "本所" in _flat(text) and "本局" not in _flat(text)
    assert len(pages) <= 2

    county = team[0].bureau.__class__.objects.filter(pk=team[0].bureau_id)
    county.update(level=BureauLevel.COUNTY)
    inspection.refresh_from_db()
    inspection.bureau.refresh_from_db()
    text = _flat("".join(_pdf_pages(documents.render_correction(inspection), tmp_path, "correction2")))
    assert "本局" in text and "本所" not in text
