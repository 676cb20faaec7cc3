"""A filter on a related id answers the same for an id outside the caller's jurisdiction as for one
that does not exist (issue 14, finding 6: ``?grid=<济南 grid>`` answered 200 to an officer of 东莞 and
400 for a missing id, which told an outsider what exists). Number filters on integer columns refuse
what the database cannot hold with a 400, not a 500."""
import pytest

from tests.factories import make_bureau, make_entity, make_user
from zhijian.geo.models import Division, Grid
from zhijian.org.models import Bureau, User

pytestmark = pytest.mark.django_db


def _same(client, url, param, outside, missing):
    a = client.get(url, {param: outside})
    b = client.get(url, {param: missing})
    assert (a.status_code, a.content) == (b.status_code, b.content), (param, a.content, b.content)
    assert a.status_code == 400 and param in a.json()["error"]["detail"], a.content
    return a


def test_out_of_scope_ids_read_as_missing_ones(client, officer):
    # 东莞 (4419) is the officer's; 济南 (3701) is not.
    mine = Grid.objects.create(code="G4419001", name="莞城网格", level=2, division_code="441900003001")
    theirs = Grid.objects.create(code="G3701001", name="历下网格", level=2, division_code="370102001001")
    missing_grid = Grid.objects.order_by("-pk").first().pk + 1000
    their_bureau = make_bureau("3701", division_code="370102")
    their_person = make_user("grid_officer", bureau=their_bureau)
    missing_person = User.objects.order_by("-pk").first().pk + 1000
    missing_bureau = Bureau.objects.order_by("-pk").first().pk + 1000
    Division.objects.get_or_create(code="370102", defaults={"name": "历下区", "level": 3})
    Division.objects.get_or_create(code="441900", defaults={"name": "东莞市", "level": 3})
    make_entity("441900003001")
    client.force_login(officer)

    _same(client, "/api/v1/entities/", "grid", theirs.pk, missing_grid)
    _same(client, "/api/v1/grids/", "parent", theirs.pk, missing_grid)
    _same(client, "/api/v1/grid/cases/", "grid", theirs.pk, missing_grid)
    _same(client, "/api/v1/grid/cases/", "assignee", their_person.pk, missing_person)
    _same(client, "/api/v1/grid/warnings/", "recipient", their_person.pk, missing_person)
    _same(client, "/api/v1/people/", "bureau", their_bureau.pk, missing_bureau)
    _same(client, "/api/v1/divisions/", "parent", "370102", "370199")
    # In scope, the filter still filters.
    r = client.get("/api/v1/entities/", {"grid": mine.pk})
    assert r.status_code == 200 and r.json()["count"] == 1  # the entity lies in that grid
    assert client.get("/api/v1/divisions/", {"parent": "441900"}).status_code == 200


@pytest.mark.parametrize("url, param", [("/api/v1/tasks/", "bureau"), ("/api/v1/tasks/", "assignee"),
                                        ("/api/v1/push-items/", "since"), ("/api/v1/deadlines/clocks/", "object_id")])
@pytest.mark.parametrize("value", ["-1.7976931348623157e+308", "99999999999999999999999", "1.5"])
def test_an_integer_filter_out_of_range_is_a_400(client, officer, url, param, value):
    client.force_login(officer)
    r = client.get(url, {param: value})
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert param in error["detail"] and any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error


def test_delivery_filter_does_not_tell_which_subscriptions_exist(client, officer):
    """Subscriptions have no jurisdiction: ``?subscription=`` filters on the id, so an existing
    subscription the caller sees nothing of answers exactly as a missing one."""
    from zhijian.core.models import WebhookSubscription

    sub = WebhookSubscription.objects.create(name="上级局", url="http://127.0.0.1:9/", secret="s" * 32, event_types="*")
    client.force_login(officer)
    a = client.get("/api/v1/deliveries/", {"subscription": sub.pk})
    b = client.get("/api/v1/deliveries/", {"subscription": sub.pk + 1000})
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert client.get("/api/v1/deliveries/", {"subscription": "abc"}).status_code == 400
