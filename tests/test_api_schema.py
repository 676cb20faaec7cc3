"""The published schema (/api/v1/schema/) says what the API answers (issue 14, finding 6): the bodies
that differed from it (the name search without ``count``, ``history/`` unpaginated, ``grid_name``
null, ``stats/push`` an object published as an array) now validate against it, and every operation
documents its error statuses with the one error shape. Responses are checked with schemathesis's own
validator, the one the CI contract run (scripts/api_contract.py) applies to every operation."""
import pytest
import requests
import schemathesis
from schemathesis.core.transport import Response

from tests.factories import make_entity, make_user
from zhijian.geo.models import Grid

pytestmark = pytest.mark.django_db

ERRORS = {"400", "401", "403", "404", "409", "429"}
WRITE_ERRORS = {"413", "415"}


@pytest.fixture
def schema(client, officer):
    client.force_login(officer)
    raw = client.get("/api/v1/schema/?format=json").json()
    client.logout()
    return raw


def _validate(schema, path, method, response):
    """Validate a Django test response against the operation's documented response."""
    request = requests.Request(method.upper(), "http://testserver" + response.request["PATH_INFO"]).prepare()
    wrapped = Response(status_code=response.status_code, headers={k: [v] for k, v in response.headers.items()},
                       content=response.content, request=request, elapsed=0.0, verify=False)
    schemathesis.openapi.from_dict(schema)[path][method.upper()].validate_response(wrapped)


def test_every_operation_documents_its_errors_with_the_error_shape(schema):
    operations = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operations += 1
            wanted = ERRORS | (WRITE_ERRORS if method in {"post", "put", "patch"} else set())
            responses = operation["responses"]
            assert wanted <= set(responses), (method, path, sorted(responses))
            for status in wanted:
                ref = responses[status]["content"]["application/json"]["schema"].get("$ref", "")
                assert ref == "#/components/schemas/ApiError", (method, path, status)
    assert operations >= 70
    body = schema["components"]["schemas"]["ApiErrorBody"]
    assert set(body["required"]) == {"code", "message", "detail"}


def test_stats_push_is_one_object_and_validates(client, schema):
    assert schema["paths"]["/api/v1/stats/push/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PushStats"}
    leader = make_user("leader")
    client.force_login(leader)
    r = client.get("/api/v1/stats/push/")
    assert r.status_code == 200 and isinstance(r.json(), dict)
    _validate(schema, "/api/v1/stats/push/", "get", r)


def test_the_name_search_validates_against_the_list_schema(client, schema, officer):
    make_entity("441900003001", name="东莞市契约测试商行")
    client.force_login(officer)
    r = client.get("/api/v1/entities/", {"q": "契约测试"})
    assert r.status_code == 200 and r.json()["count"] is None and len(r.json()["results"]) == 1
    _validate(schema, "/api/v1/entities/", "get", r)
    _validate(schema, "/api/v1/entities/", "get", client.get("/api/v1/entities/"))


def test_history_and_a_null_grid_name_validate(client, schema, officer):
    entity = make_entity("441900003001")  # no grid covers it: grid_name is null
    client.force_login(officer)
    one = client.get(f"/api/v1/entities/{entity.credit_code}/")
    assert one.json()["grid_name"] is None
    _validate(schema, "/api/v1/entities/{credit_code}/", "get", one)
    history = client.get(f"/api/v1/entities/{entity.credit_code}/history/")
    assert history.json()["count"] == 1 and history.json()["results"][0]["actor"] is None  # created by the system
    _validate(schema, "/api/v1/entities/{credit_code}/history/", "get", history)


def test_a_task_without_unit_assignee_or_actor_validates(client, schema, officer):
    from zhijian.supervision import tasks

    task = tasks.task_create(actor=None, entity=make_entity("441900003001"), title="首次走访", source="manual")
    client.force_login(officer)
    r = client.get(f"/api/v1/tasks/{task.pk}/")
    body = r.json()
    assert (body["bureau_name"], body["assignee_name"]) == (None, None) and body["steps"][0]["actor"] is None
    _validate(schema, "/api/v1/tasks/{id}/", "get", r)
    _validate(schema, "/api/v1/tasks/", "get", client.get("/api/v1/tasks/"))


def test_a_grid_case_with_a_blank_route_target_validates(client, schema, officer):
    from zhijian.grid import cases

    Grid.objects.create(code="G4419X", name="莞城网格", level=2, division_code="441900003001")
    case = cases.case_open(actor=None, trigger="registration", entity=make_entity("441900003001"), trigger_ref="t1")
    client.force_login(officer)
    r = client.get(f"/api/v1/grid/cases/{case.pk}/")
    assert r.status_code == 200 and r.json()["route_target"] == ""
    _validate(schema, "/api/v1/grid/cases/{id}/", "get", r)


def test_errors_validate_against_the_error_component(client, schema, officer):
    client.force_login(officer)
    _validate(schema, "/api/v1/entities/", "get", client.get("/api/v1/entities/", {"page": "abc"}))
    _validate(schema, "/api/v1/tasks/{id}/", "get", client.get("/api/v1/tasks/999999/"))
    bad = client.patch(f"/api/v1/entities/{make_entity('441900003001').credit_code}/", {"status": "revoked"},
                       content_type="application/json")
    assert bad.status_code == 400
    _validate(schema, "/api/v1/entities/{credit_code}/", "patch", bad)
    client.logout()
    anonymous = client.get("/api/v1/tasks/")
    assert anonymous.status_code in (401, 403)
    _validate(schema, "/api/v1/tasks/", "get", anonymous)
