"""examples/receiver.py as a department's developer would run it: it accepts exactly the
signatures Zhijian makes and its feedback call works (and replays) against a live server."""
import importlib.util
import json
import time
from pathlib import Path

import pytest

from tests.coordination.conftest import VILLAGE, drain, make_department_user
from tests.factories import credit_code
from zhijian.coordination.models import PushItem
from zhijian.core import webhooks


@pytest.fixture
def receiver(tmp_path, monkeypatch):
    monkeypatch.setenv("RECEIVER_DB", str(tmp_path / "seen.sqlite3"))
    monkeypatch.setenv("ZHIJIAN_WEBHOOK_SECRET", "s3cret")
    path = Path(__file__).resolve().parents[2] / "examples" / "receiver.py"
    spec = importlib.util.spec_from_file_location("example_receiver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_signature_check_matches_zhijian(receiver):
    body = json.dumps({"id": 1, "type": "push.created"}).encode()
    stamp = str(int(time.time()))
    good = {"X-Zhijian-Timestamp": stamp, "X-Zhijian-Signature": webhooks.signature("s3cret", stamp, body)}
    assert receiver.verify(good, body)
    assert not receiver.verify(good, body + b" ")
    assert not receiver.verify({**good, "X-Zhijian-Signature": webhooks.signature("other", stamp, body)}, body)
    old = str(int(time.time()) - 600)
    assert not receiver.verify({"X-Zhijian-Timestamp": old, "X-Zhijian-Signature": webhooks.signature("s3cret", old, body)}, body)


@pytest.mark.django_db(transaction=True)
def test_feedback_call_against_live_server(receiver, rules, depts, live_server):
    from zhijian.entities import services as entities
    from zhijian.security.services import issue_token

    entities.entity_create(actor=None, credit_code=credit_code("441900"), name="好味餐饮店", division_code=VILLAGE,
                           industry_code="6210", business_scope="餐饮服务")
    drain()
    item = PushItem.objects.get(department=depts["health"])
    receiver.BASE, receiver.TOKEN = live_server.url, issue_token(actor=None, user=make_department_user(depts["health"]))
    status, body = receiver.feedback(item.pk, "claim", {}, key="claim-d1")
    assert status == 200 and body["state"] == "claimed"
    assert receiver.feedback(item.pk, "claim", {}, key="claim-d1") == (200, body)
    status, err = receiver.feedback(item.pk, "finish", {"result": "x"}, key="finish-early")
    assert status == 409 and err["error"]["code"] == "illegal_state"
    assert item.steps.filter(action="claim", via="api").count() == 1
