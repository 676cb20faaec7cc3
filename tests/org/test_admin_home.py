"""Administrators' home: what each of the three administers, the missing-calendar warning for the
system administrator, and no business menu (三员分立)."""
import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _home(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_system_admin_home_lists_the_settings_and_every_link_opens():
    user = make_user("system_admin", is_staff=False)
    html = _home(user)
    assert 'id="home-admin"' in html and "录入全年安排" in html and "监管事项与推送规则" in html
    assert "我的任务" not in html and "监管任务" not in html  # no business menu or buttons
    client = Client()
    client.force_login(user)
    for url in ("/admin/deadlines/holiday/schedule/", "/admin/deadlines/deadlinerule/", "/admin/coordination/supervisionmatter/",
                "/admin/grid/routingrule/", "/admin/inspections/checklistversion/"):
        assert client.get(url).status_code == 200, url


def test_security_and_audit_admins_see_only_their_own():
    html = _home(make_user("security_admin", is_staff=False))
    assert "用户与角色" in html and "录入全年安排" not in html and "审计日志" not in html.split('id="home-admin"')[1]
    html = _home(make_user("audit_admin", is_staff=False))
    assert "审计日志" in html and "用户与角色" not in html


def test_business_roles_keep_their_own_buttons():
    html = _home(make_user("department_staff", jurisdiction="4419"))
    assert 'id="home-admin"' not in html
    html = _home(make_user("enforcement_officer", jurisdiction="4419"))
    assert "手机端" in html and "我的任务" in html
