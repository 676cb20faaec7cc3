"""The PWA contract: prepare, sync (create, replay, refusals), read back."""
import pytest

from tests.factories import make_entity, make_user
from tests.inspections.conftest import OFFICER, items_of, payload

pytestmark = pytest.mark.django_db


def test_prepare_lists_open_tasks_items_of_their_lines_key_first_and_certified_officers(client, checklists, team, shop, food_task, unit):
    """Items come from the business lines of the entity's open tasks, key items first; officers
    are the unit's enforcement officers holding a certificate number."""
    make_user(OFFICER, bureau=unit, enforcement_cert_no="")  # no certificate: not offered
    client.force_login(team[0])
    r = client.get(f"/api/v1/inspections/prepare/?entity={shop.credit_code}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["entity"] == {"credit_code": shop.credit_code, "name": shop.name, "address": shop.address,
                              "legal_rep": shop.legal_rep, "lng": shop.lng, "lat": shop.lat}
    assert [t["id"] for t in body["tasks"]] == [food_task.pk]
    assert body["tasks"][0]["business_line"] == "food_sales" and body["tasks"][0]["due_on"] == "2026-12-31"
    assert body["checklist_version"] == 1
    assert {i["business_line"] for i in body["items"]} == {"food_sales"}
    assert len(body["items"]) == 54
    keys = [i["key_item"] for i in body["items"]]
    assert keys == sorted(keys, reverse=True) and sum(keys) == 12
    assert body["items"][0]["basis"].startswith("《中华人民共和国食品安全法》")
    assert sorted(o["id"] for o in body["officers"]) == sorted(o.pk for o in team)
    assert all(o["cert_no"] for o in body["officers"])


def test_prepare_without_tasks_offers_every_line(client, checklists, team, shop):
    client.force_login(team[0])
    body = client.get(f"/api/v1/inspections/prepare/?entity={shop.credit_code}").json()
    assert body["tasks"] == [] and len(body["items"]) == 374


def test_prepare_outside_jurisdiction_is_404(client, checklists, team):
    far = make_entity("370102001001")
    client.force_login(team[0])
    assert client.get(f"/api/v1/inspections/prepare/?entity={far.credit_code}").status_code == 404


def test_sync_creates_a_sealed_numbered_record_and_replay_returns_the_same(sync, checklists, team, shop, food_task):
    """201 with id, number, state, pdf urls and public url; the same client_key again is 200 with
    the same body and nothing is created twice."""
    from zhijian.inspections.models import Attachment, Inspection, Signature

    body = payload(entity=shop, officers=team, items=items_of("food_sales"), tasks=[food_task], conclusion="correct", correction_days=5)
    r = sync(team[0], body)
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["state"] == "sealed"
    assert out["number"] == "测市监检〔%d〕1号" % Inspection.objects.get().created_at.astimezone().year
    assert set(out["pdf_urls"]) == {"record", "correction"}
    assert out["public_url"].startswith("/p/inspections/")
    again = sync(team[1], body)
    assert again.status_code == 200 and again.json() == out
    assert Inspection.objects.count() == 1 and Attachment.objects.count() == 2 and Signature.objects.count() == 3
