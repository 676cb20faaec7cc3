"""Nobody sees or changes what lies outside their jurisdiction: every scoped model, every API
endpoint over one, and every object page. An outsider gets 404, never the object."""
import pytest
from django.urls import NoReverseMatch

from tests.factories import make_user
from tests.scope_factories import FACTORIES
from zhijian.core.scoping import SCOPED_MODELS

INSIDE = "441900003001"   # 东莞市 莞城街道 …
OUTSIDE = "370102001001"  # 济南市 历下区 …


def _label(model):
    return model._meta.label_lower


def test_every_scoped_model_has_a_factory():
    missing = sorted({_label(m) for m in SCOPED_MODELS} - set(FACTORIES))
    assert not missing, f"add factories to tests/scope_factories.py for: {missing}"


@pytest.fixture
def people(db):
    return make_user("leader", "registry_clerk", jurisdiction="4419"), make_user("leader", "registry_clerk", jurisdiction="3701")


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_queryset_scope(label, people):
    insider, outsider = people
    obj = FACTORIES[label](INSIDE)
    model = type(obj)
    assert model.objects.scoped(insider).filter(pk=obj.pk).exists()
    assert not model.objects.scoped(outsider).filter(pk=obj.pk).exists()


def _api_routes():
    from zhijian.api_urls import router

    for prefix, viewset, basename in router.registry:
        qs = getattr(viewset, "queryset", None)
        if qs is not None and _label(qs.model) in FACTORIES:
            yield pytest.param(prefix, viewset, id=prefix)


@pytest.mark.django_db
@pytest.mark.parametrize("prefix, viewset", list(_api_routes()))
def test_api_outsider_cannot_list_open_or_change(prefix, viewset, people, client):
    insider, outsider = people
    obj = FACTORIES[_label(viewset.queryset.model)](INSIDE)
    key = getattr(obj, getattr(viewset, "lookup_field", "pk") or "pk")
    detail = f"/api/v1/{prefix}/{key}/"

    client.force_login(outsider)
    listing = client.get(f"/api/v1/{prefix}/")
    assert listing.status_code == 200
    body = listing.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert all(str(r.get(getattr(viewset, "lookup_field", "id"), r.get("id"))) != str(key) for r in rows)
    assert client.get(detail).status_code == 404
    for method in ("patch", "put", "delete"):
        r = getattr(client, method)(detail, data={}, content_type="application/json")
        assert r.status_code in (404, 405), (method, r.status_code)
    for extra in getattr(viewset, "get_extra_actions", lambda: [])():
        if extra.detail:
            url = f"{detail}{extra.url_path}/"
            for method in extra.mapping:
                r = getattr(client, method)(url, data={}, content_type="application/json")
                assert r.status_code in (404, 405), (url, method, r.status_code)

    client.force_login(insider)
    assert client.get(detail).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_pages_outsider_gets_404(label, people, client):
    insider, outsider = people
    obj = FACTORIES[label](INSIDE)
    try:
        url = obj.get_absolute_url()
    except (AttributeError, NoReverseMatch):
        pytest.skip("no page for this model")
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(insider)
    assert client.get(url).status_code == 200
