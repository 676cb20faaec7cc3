"""A write that sends a field it cannot change answers 400 naming the field (issue 14, finding 6:
``PATCH`` with a read-only field answered 200 and ignored it); nothing is written."""
import pytest

from tests.factories import make_entity
from zhijian.core.errors import ApplicationError
from zhijian.entities.models import MarketEntity

pytestmark = pytest.mark.django_db


def _refused(response, code, *fields):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    for field in fields:
        assert field in error["message"] and field in error["detail"], error
    return error


def test_patch_with_a_read_only_field_is_refused_and_nothing_changes(client, officer):
    entity = make_entity("441900003001", legal_rep="张三")
    client.force_login(officer)
    url = f"/api/v1/entities/{entity.credit_code}/"
    for body, field in [({"status": "revoked"}, "status"), ({"legal_rep": "李四", "grid": 1}, "grid"),
                        ({"version": 9}, "version"), ({"credit_code": "91440300MA5FXXXX0X"}, "credit_code"),
                        ({"division_code": "441900004001"}, "division_code"), ({"status_display": "已吊销"}, "status_display")]:
        error = _refused(client.patch(url, body, content_type="application/json"), "read_only_field", field)
        assert "只读" in error["message"]
    after = MarketEntity.objects.get(pk=entity.pk)
    assert (after.status, after.legal_rep, after.version) == (entity.status, "张三", entity.version)
    assert client.patch(url, {"legal_rep": "李四"}, content_type="application/json").status_code == 200


def test_an_unknown_field_is_refused_not_ignored(client, officer):
    entity = make_entity("441900003001", legal_rep="张三")
    client.force_login(officer)
    r = client.patch(f"/api/v1/entities/{entity.credit_code}/", {"legal_reps": "李四"}, content_type="application/json")
    _refused(r, "unknown_field", "legal_reps")
    r = client.post(f"/api/v1/entities/{entity.credit_code}/status/", {"status": "revoked", "reason": "x"},
                    content_type="application/json")
    _refused(r, "unknown_field", "reason")
    assert MarketEntity.objects.get(pk=entity.pk).status == entity.status


def test_create_refuses_fields_the_registry_sets_itself(client, officer):
    from tests.factories import credit_code

    client.force_login(officer)
    body = {"credit_code": credit_code("441900"), "name": "东莞市只读测试有限公司", "division_code": "441900003001"}
    _refused(client.post("/api/v1/entities/", {**body, "status": "revoked"}, content_type="application/json"),
             "read_only_field", "status")
    assert not MarketEntity.objects.filter(credit_code=body["credit_code"]).exists()
    assert client.post("/api/v1/entities/", body, content_type="application/json").status_code == 201


def test_every_model_serializer_refuses_read_only_fields_on_input():
    """DisplayModelSerializer, the base of every model serializer, used for a write."""
    from zhijian.entities.api import EntitySerializer
    from zhijian.geo.api import GridSerializer

    with pytest.raises(ApplicationError) as info:
        EntitySerializer(data={"name": "x", "version": 3}).is_valid()
    assert info.value.code == "read_only_field" and set(info.value.extra) == {"version"}
    with pytest.raises(ApplicationError) as info:
        GridSerializer(data={"name": "x", "colour": "red"}).is_valid()
    assert info.value.code == "unknown_field" and set(info.value.extra) == {"colour"}


def test_a_step_body_with_an_unknown_field_is_refused(client, officer):
    from zhijian.supervision import tasks

    task = tasks.task_create(actor=officer, entity=make_entity("441900003001"), title="日常检查", source="manual")
    client.force_login(officer)
    r = client.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "重复", "state": "cancelled"}, content_type="application/json")
    _refused(r, "unknown_field", "state")
    task.refresh_from_db()
    assert task.state == "registered"
