"""Benchmark: 现场检查笔录 PDFs rendered per second.

    python bench/documents.py [--size 50] [--database postgres://postgres@127.0.0.1:5432/zj_bench]

Sets up its own database (bench/_setup.py), loads the checklists and records one sealed
inspection through ``services.inspection_sync`` (two officers, 20 food-sales items, two
signatures, a QR code). Measures in the same run:
- ours: ``documents.render_record`` of that inspection (template, queries, signature images,
  QR code, WeasyPrint with Noto Sans CJK SC embedded), N times;
- baseline: WeasyPrint rendering a minimal one-line HTML page (one CJK line, same font), N times.
Last line: RESULT name=documents size=N ours=<docs/s> baseline=<docs/s> ratio=… unit=docs/s …
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import struct
import sys
import time
import uuid
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_for, percentile  # noqa: E402


def _png(shade: int) -> str:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([(x * 5 + shade) % 256 for x in range(120)]) for _ in range(40))
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 120, 40, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def make_inspection():
    from django.utils import timezone

    from zhijian.entities import creditcode, services as entity_services
    from zhijian.inspections import loading, services
    from zhijian.inspections.models import CheckItem
    from zhijian.org.models import Bureau, Role, User

    loading.load_checklists()
    bureau = Bureau.objects.create(name="东莞市市场监督管理局", short_name="东市监", level="city", division_code="4419", jurisdiction="4419")
    role, _ = Role.objects.get_or_create(code="enforcement_officer")
    officers = []
    for n in range(2):
        u = User.objects.create_user(username=f"bench-officer-{uuid.uuid4().hex[:8]}", password=uuid.uuid4().hex, bureau=bureau,
                                     full_name=f"执法员{n + 1}", enforcement_cert_no=f"4419001000{n}")
        u.roles.add(role)
        officers.append(u)
    import random

    entity = entity_services.entity_create(actor=None, credit_code=creditcode.generate(random.Random(7), "441900", "1"),
                                           name="东莞市莞城示范食品商行", legal_rep="陈老板", address="东莞市莞城街道示范路1号",
                                           division_code="441900003001", industry_code="5211")
    items = list(CheckItem.objects.filter(business_line__code="food_sales").order_by("order")[:20])
    now = timezone.now()
    return services.inspection_sync(
        actor=officers[0], client_key=uuid.uuid4().hex, entity=entity, tasks=[], officers=officers,
        started_at=now - dt.timedelta(hours=1), finished_at=now - dt.timedelta(minutes=1), lng=113.75, lat=23.02,
        results=[{"item_id": i.pk, "result": "problem" if k == 3 else "ok", "note": ""} for k, i in enumerate(items)],
        conclusion="correct", correction_days=5, opinion="货架过期食品须下架。", attachments=[],
        signatures={"officers": {str(o.pk): _png(o.pk) for o in officers}, "representative": {"name": "陈老板", "image": _png(9)}},
        public_base_url="https://zhijian.example.cn/",
    )


def timed(fn, n: int) -> tuple[float, list[float]]:
    fn()  # warm-up: fonts, templates
    laps = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        fn()
        laps.append(time.perf_counter() - t)
    return n / (time.perf_counter() - start), laps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    django_for("documents", args.database)
    from django.db import connection

    from zhijian.inspections import documents

    inspection = make_inspection()
    pdf = documents.render_record(inspection, base_url="https://zhijian.example.cn/")
    print(f"record PDF: {len(pdf) / 1024:.0f} KiB, {inspection.results.count()} items", flush=True)
    minimal = f'<html><body style="font-family: \'{documents.FONT_FAMILY}\'">现场检查笔录</body></html>'
    base, base_laps = timed(lambda: documents.html_to_pdf(minimal), args.size)
    print(f"baseline (one-line page): {base:.2f} docs/s, p50 {percentile(base_laps, 50) * 1000:.0f} ms", flush=True)
    ours, laps = timed(lambda: documents.render_record(inspection, base_url="https://zhijian.example.cn/"), args.size)
    print(f"现场检查笔录: {ours:.2f} docs/s, p50 {percentile(laps, 50) * 1000:.0f} ms, p99 {percentile(laps, 99) * 1000:.0f} ms", flush=True)
    print(f"RESULT name=documents size={args.size} ours={ours:.2f} baseline={base:.2f} ratio={ours / base:.3f} unit=docs/s "
          f"p50_ms={percentile(laps, 50) * 1000:.0f} p99_ms={percentile(laps, 99) * 1000:.0f} db={connection.vendor}")


if __name__ == "__main__":
    main()
