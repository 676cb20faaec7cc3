"""The admin site: administrators enter with the platform's sign-in (no loop, no is_staff needed),
everyone else gets the Chinese explanation (403), and configuration is saved through the services."""
import datetime as dt

import pytest
from django.test import Client

from tests.factories import make_user
from zhijian.core.models import TraceEntry
from zhijian.deadlines.models import Holiday

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)  # conftest: password and TOTP both done
    return client


def test_system_admin_enters_without_staff_flag():
    # The demo builder sets roles directly, so is_staff stays False: the role decides.
    sysadmin = make_user("system_admin", is_staff=False)
    client = _client(sysadmin)
    index = client.get("/admin/")
    assert index.status_code == 200
    page = index.content.decode()
    assert "节假日" in page and "期限规则" in page and "分流规则" in page and "推送规则" in page or "监管事项" in page
    assert client.get("/admin/deadlines/holiday/").status_code == 200
    assert client.get("/admin/deadlines/holiday/add/").status_code == 200
    # /admin/login/ for someone already allowed goes on, it does not show a form or loop
    response = client.get("/admin/login/?next=/admin/deadlines/holiday/")
    assert response.status_code == 302 and response["Location"] == "/admin/deadlines/holiday/"
    # business records are not the administrator's (empty jurisdiction)
    assert client.get("/admin/supervision/task/").status_code == 403


def test_holiday_added_in_the_admin_is_traced():
    sysadmin = make_user("system_admin")
    client = _client(sysadmin)
    response = client.post("/admin/deadlines/holiday/add/", {"date": "2027-10-01", "name": "国庆节", "is_off_day": "on", "year": "2027", "source": "state_council", "note": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    day = Holiday.objects.get(date=dt.date(2027, 10, 1))
    assert TraceEntry.objects.filter(action="deadlines.holiday_add", object_id=str(day.pk), actor_id=sysadmin.pk).exists()


@pytest.mark.parametrize("role", ["leader", "enforcement_officer"])
def test_business_roles_get_the_chinese_explanation(role):
    make_user("system_admin", full_name="赵系统")
    client = _client(make_user(role))
    for path in ("/admin/", "/admin/login/?next=/admin/", "/admin/deadlines/holiday/"):
        response = client.get(path)
        assert response.status_code == 403, path
        page = response.content.decode()
        assert "无权进入系统管理" in page and "系统管理员" in page and "赵系统" in page
        assert 'class="menu"' in page  # the site's navigation, not a bare page
        assert 'href="/admin/"' not in page  # no 管理 in their menu


def test_security_and_audit_admins_see_their_own_screens():
    secadmin = _client(make_user("security_admin"))
    assert secadmin.get("/admin/org/user/").status_code == 200
    assert secadmin.get("/admin/deadlines/holiday/add/").status_code == 403
    auditor = _client(make_user("audit_admin"))
    assert auditor.get("/admin/security/auditlog/").status_code == 200
    assert auditor.get("/admin/org/user/").status_code == 403


def test_anonymous_goes_to_the_platform_login():
    response = Client().get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/admin/")
    response = Client().get("/admin/login/?next=/admin/deadlines/holiday/")
    assert response["Location"].startswith("/accounts/login/?next=/admin/deadlines/holiday/")


def test_push_rules_are_saved_through_the_service():
    from zhijian.coordination.models import PushRule, SupervisionMatter
    from zhijian.org.models import Department

    health = Department.objects.create(code="health", name="卫生健康委员会", division_code="4419", jurisdiction="4419")
    sysadmin = make_user("system_admin")
    client = _client(sysadmin)
    data = {"code": "catering", "name": "餐饮服务监管", "principle": "approval", "legal_basis": "", "deadline_rule": "",
            "deadline_hours": "", "active": "on", "departments": [str(health.pk)],
            "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0", "rules-MIN_NUM_FORMS": "0", "rules-MAX_NUM_FORMS": "1000",
            "rules-0-name": "餐饮关键词", "rules-0-industry_prefixes": "", "rules-0-keywords": "餐饮服务", "rules-0-licence_types": "",
            "rules-0-active": "on"}
    response = client.post("/admin/coordination/supervisionmatter/add/", data)
    assert response.status_code == 302, response.content.decode()[:4000]
    matter = SupervisionMatter.objects.get(code="catering")
    rule = PushRule.objects.get(matter=matter)
    assert TraceEntry.objects.filter(action="push.matter_saved", actor_id=sysadmin.pk).exists()
    assert TraceEntry.objects.filter(action="push.rule_saved", object_id=str(rule.pk), actor_id=sysadmin.pk).exists()
    # An empty rule is refused on the form, not by a server error.
    data.update({"rules-0-keywords": "", "rules-INITIAL_FORMS": "0", "code": "catering2"})
    response = client.post("/admin/coordination/supervisionmatter/add/", data)
    assert response.status_code == 200 and "至少要有一个" in response.content.decode()


def test_a_years_schedule_is_entered_in_one_form_through_the_service():
    sysadmin = make_user("system_admin")
    client = _client(sysadmin)
    assert "录入全年安排" in client.get("/admin/deadlines/holiday/").content.decode()
    page = client.get("/admin/deadlines/holiday/schedule/")
    assert page.status_code == 200 and "放假与调休安排" in page.content.decode()
    lines = "2027-01-01 休 元旦\n2027-02-06 至 2027-02-12 休 春节\n2027-02-14 班 春节调休\n"
    response = client.post("/admin/deadlines/holiday/schedule/", {"year": "2027", "lines": lines, "note": "国办发明电〔2026〕X号"})
    assert response.status_code == 302 and "year__exact=2027" in response["Location"]
    assert Holiday.objects.filter(year=2027, is_off_day=True).count() == 8
    assert Holiday.objects.get(date=dt.date(2027, 2, 14)).is_off_day is False
    assert TraceEntry.objects.filter(action="deadlines.holidays_enter", object_id="2027", actor_id=sysadmin.pk).exists()
    bad = client.post("/admin/deadlines/holiday/schedule/", {"year": "2027", "lines": "明年元旦放假"})
    assert bad.status_code == 200 and "无法识别" in bad.content.decode()
    # nobody else
    assert _client(make_user("leader")).get("/admin/deadlines/holiday/schedule/").status_code == 403
