"""Error pages: Chinese, with the site's navigation and the reason; JSON under /api/."""
import pytest
from django.test import Client

from tests.factories import make_entity, make_user

pytestmark = pytest.mark.django_db
ENGLISH = ("Not Found", "Forbidden", "Server Error", "Bad Request", "CSRF verification failed", "matches the given query")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _chinese_page(response, status, *words):
    assert response.status_code == status
    page = response.content.decode()
    assert 'class="menu"' in page, "the navigation is there"
    for word in words:
        assert word in page, word
    for english in ENGLISH:
        assert english not in page, english
    return page


def test_unknown_page_and_other_jurisdiction_are_a_chinese_404():
    officer = make_user("enforcement_officer", jurisdiction="4419")
    client = _client(officer)
    _chinese_page(client.get("/no/such/page/"), 404, "页面不存在", "该页面不存在或不在您的辖区内")
    elsewhere = make_entity("370102001001")
    _chinese_page(client.get(f"/entities/{elsewhere.credit_code}/"), 404, "页面不存在", "该市场主体不存在或不在您的辖区内")


def test_permission_denied_says_why():
    clerk = make_user("registry_clerk")
    _chinese_page(_client(clerk).get("/tasks/unit/"), 403, "无权访问", "只有领导、调度员和法制审核员可以查看单位任务看板")


def test_csrf_failure_is_a_chinese_page():
    user = make_user("enforcement_officer")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    _chinese_page(client.post("/tasks/new/", {}), 403, "页面已过期", "CSRF")


def test_server_error_is_a_chinese_page(settings):
    from django.urls import path

    from zhijian import urls

    def boom(request):
        raise RuntimeError("boom")

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [path("boom/", boom), *urls.urlpatterns],
                                          "handler500": urls.handler500})
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "服务器出错" in page and "Server Error" not in page


def test_api_errors_are_chinese_json():
    client = _client(make_user("enforcement_officer"))
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["error"]["message"] == "该页面不存在或不在您的辖区内。"
    response = client.get("/api/v1/entities/999999999/")
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "Not found" not in message and any("\u4e00" <= c <= "\u9fff" for c in message), message
