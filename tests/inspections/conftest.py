import base64
import datetime as dt
import struct
import uuid
import zlib

import pytest
from django.utils import timezone

from tests.factories import make_bureau, make_entity, make_user

OFFICER = "enforcement_officer"


def png_bytes(width=40, height=16, shade=0) -> bytes:
    """A real (tiny) PNG, so WeasyPrint can draw it as a signature."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([(x * 7 + shade) % 256 for x in range(width)]) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_data_url(shade=0) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(shade=shade)).decode()


# A minimal WebM (EBML header) stands for a voice recording.
WEBM = b"\x1a\x45\xdf\xa3" + b"\x9f\x42\x86\x81\x01" + b"\x00" * 64


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Laws and checklists loaded once into the test database (transactional tests reload them)."""
    from zhijian.inspections import loading

    with django_db_blocker.unblock():
        loading.load_checklists()


@pytest.fixture
def checklists(db):
    from zhijian.inspections import loading
    from zhijian.inspections.models import CheckItem

    if not CheckItem.objects.exists():  # flushed by a transactional test
        loading.load_checklists()


@pytest.fixture
def unit(db):
    return make_bureau("4419")


@pytest.fixture
def team(unit):
    a = make_user(OFFICER, bureau=unit, enforcement_cert_no="44190010001", full_name="李执法")
    b = make_user(OFFICER, bureau=unit, enforcement_cert_no="44190010002", full_name="王执法")
    return a, b


@pytest.fixture
def shop(db):
    return make_entity("441900003001", name="东莞市莞城示范食品商行", legal_rep="陈老板")


@pytest.fixture
def food_task(shop, unit):
    from zhijian.supervision.models import Task

    return Task.objects.create(title="食品销售日常检查", number="RW-1", entity=shop, division_code=shop.division_code,
                               business_line="food_sales", bureau=unit, due_on=dt.date(2026, 12, 31))


def items_of(line, n=3):
    from zhijian.inspections.models import CheckItem

    return list(CheckItem.objects.filter(business_line__code=line, version__number=1).order_by("order")[:n])


def key_items_of(lines, *, besides=()):
    """The key items (重点) of ``lines`` not in ``besides``: a record must answer them before signing."""
    from zhijian.inspections.models import CheckItem

    taken = {i.pk for i in besides}
    return [i for i in CheckItem.objects.filter(business_line__code__in=lines, version__number=1, key_item=True).order_by("order")
            if i.pk not in taken]


def payload(*, entity, officers, items, tasks=(), conclusion="pass", correction_days=None, representative=None,
            attachments=(), results=None, client_key=None, answer_key_items=True):
    """An upload as the phone sends it. Unless ``results`` is given or ``answer_key_items`` is off,
    the key items of the covered lines (the tasks' lines, else the items') are answered 合格 too."""
    now = timezone.now().replace(microsecond=0)
    if results is None and answer_key_items:
        lines = {t.business_line for t in tasks if t.business_line} or {i.business_line.code for i in items}
        items = list(items) + key_items_of(lines, besides=items)
    return {
        "client_key": client_key or uuid.uuid4().hex,
        "entity": entity.credit_code,
        "task_ids": [t.pk for t in tasks],
        "officer_ids": [o.pk for o in officers],
        "started_at": (now - dt.timedelta(hours=1)).isoformat(),
        "finished_at": (now - dt.timedelta(minutes=5)).isoformat(),
        "lng": 113.75, "lat": 23.02,
        "results": results if results is not None else [
            {"item_id": it.pk, "result": "problem" if k == 0 and conclusion == "correct" else "ok", "note": "现场查看" if k == 0 else ""}
            for k, it in enumerate(items)
        ],
        "conclusion": conclusion,
        "correction_days": correction_days,
        "opinion": "经营场所整洁，证照齐全。" if conclusion == "pass" else "部分问题须整改。",
        "attachments": list(attachments) or [
            {"client_id": "p1", "kind": "photo", "name": "门头.png", "content_type": "image/png",
             "data_base64": base64.b64encode(png_bytes(shade=9)).decode()},
            {"client_id": "t1", "kind": "text", "name": "备注", "content_type": "text/plain",
             "data_base64": base64.b64encode("货架已查看".encode()).decode()},
        ],
        "signatures": {
            "officers": {str(o.pk): png_data_url(shade=o.pk) for o in officers},
            "representative": representative or {"name": "陈老板", "image": png_data_url(shade=3)},
        },
    }


@pytest.fixture
def sync(client):
    def post(user, body):
        client.force_login(user)
        return client.post("/api/v1/inspections/sync/", data=body, content_type="application/json")

    return post
