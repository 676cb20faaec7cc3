"""Invalid paging answers 400 with the API's error shape (issue 14, finding 6), never a 500 or the
default page; a page past the last is a documented 404; every list, the registry's name search and an
entity's history page the same way."""
import pytest

from tests.factories import make_entity, make_user
from zhijian.core.pagination import MAX_PAGE_SIZE

pytestmark = pytest.mark.django_db

CJK = lambda text: any("\u4e00" <= c <= "\u9fff" for c in text)  # noqa: E731


@pytest.fixture
def api(client, officer):
    for i in range(3):
        make_entity("441900003001", name=f"东莞市翻页测试商行{i}")
    client.force_login(officer)
    return client


def lists(code):
    return ["/api/v1/entities/", "/api/v1/entities/?q=翻页测试", f"/api/v1/entities/{code}/history/", "/api/v1/tasks/",
            "/api/v1/grids/"]


BAD_PAGES = ["abc", "0", "-1", "1.5", "１", "1e3"]
BAD_SIZES = ["abc", "0", "-5", str(MAX_PAGE_SIZE + 1), "2.0"]


def _get(client, url, **params):
    sep = "&" if "?" in url else "?"
    return client.get(url + sep + "&".join(f"{k}={v}" for k, v in params.items()))


def _assert_error(response, status, code, param):
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}, body
    assert body["error"]["code"] == code and CJK(body["error"]["message"]), body
    if param:
        assert param in body["error"]["detail"], body


def test_a_page_that_is_not_a_positive_integer_is_a_400(api):
    code = make_entity("441900003001").credit_code
    for url in lists(code):
        for bad in BAD_PAGES:
            _assert_error(_get(api, url, page=bad), 400, "bad_page", "page")


def test_a_page_size_outside_1_to_500_is_a_400_not_the_default(api):
    code = make_entity("441900003001").credit_code
    for url in lists(code):
        for bad in BAD_SIZES:
            _assert_error(_get(api, url, page_size=bad), 400, "bad_page_size", "page_size")


def test_the_search_with_a_negative_page_was_a_500(api):
    """The search computed ``offset=(page - 1) * page_size`` from whatever it was given."""
    _assert_error(api.get("/api/v1/entities/", {"q": "翻页测试", "page": "-3"}), 400, "bad_page", "page")
    _assert_error(api.get("/api/v1/entities/", {"q": "翻页测试", "page_size": "abc"}), 400, "bad_page_size", "page_size")


def test_a_page_past_the_last_is_a_404_with_the_error_shape(api):
    _assert_error(api.get("/api/v1/entities/", {"page": "99"}), 404, "not_found", None)
    _assert_error(api.get("/api/v1/entities/", {"page": "9" * 40}), 404, "not_found", None)
    # The search has no total: a page deeper than any registry is past the end, not an offset overflow.
    _assert_error(api.get("/api/v1/entities/", {"q": "翻页测试", "page": "9" * 18}), 404, "not_found", None)
    _assert_error(api.get("/api/v1/entities/", {"q": "91441900MA4X0000XX", "page": "9" * 18, "page_size": "500"}),
                  404, "not_found", None)


def test_good_paging_still_pages(api):
    r = api.get("/api/v1/entities/", {"page_size": "2", "page": "2"})
    assert r.status_code == 200 and r.json()["count"] == 3 and len(r.json()["results"]) == 1
    assert api.get("/api/v1/entities/", {"page": ""}).status_code == 200  # empty: the first page
    search = api.get("/api/v1/entities/", {"q": "翻页测试", "page_size": "2"}).json()
    assert search["count"] is None and search["fuzzy"] is False and len(search["results"]) == 2
    assert search["next"].startswith("http://testserver/api/v1/entities/?") and "page=2" in search["next"]
    second = api.get(search["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None and "page=" not in second["previous"]


def test_history_is_paged_like_every_list(client):
    user = make_user("enforcement_officer", "registry_clerk")
    entity = make_entity("441900003001")
    from zhijian.entities import services

    for i in range(3):
        services.entity_update(actor=user, credit_code=entity.credit_code, legal_rep=f"代表{i}")
    client.force_login(user)
    page = client.get(f"/api/v1/entities/{entity.credit_code}/history/", {"page_size": "2"}).json()
    assert page["count"] == 4 and [h["kind"] for h in page["results"]] == ["updated", "updated"] and page["next"]
    last = client.get(page["next"]).json()
    assert [h["kind"] for h in last["results"]] == ["updated", "created"] and last["next"] is None
