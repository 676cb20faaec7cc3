"""People are written through org's services: each account change, role grant and jurisdiction
grant is audited and traced (the admin site saves nothing by itself); security sits below org and
knows role codes only as data."""
import pytest
from django.core import checks
from django.test import Client

from tests.factories import make_user
from zhijian.core.errors import ApplicationError
from zhijian.core.models import TraceEntry
from zhijian.org import services
from zhijian.org.choices import RoleCode
from zhijian.org.models import User
from zhijian.security import roles
from zhijian.security.choices import AuditEvent
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def sysadmin(db):
    return make_user("system_admin", username="sysadmin", is_staff=True)


@pytest.fixture
def secadmin(db):
    return make_user("security_admin", username="secadmin", is_staff=True)


def traced(user, action):
    return TraceEntry.objects.filter(object_type="org.user", object_id=str(user.pk), action=action)


def test_role_vocabulary_is_shared_without_security_importing_org(settings):
    assert set(roles.ADMIN_ROLES) <= set(RoleCode.values)
    assert RoleCode.SYSTEM_ADMIN == roles.SYSTEM_ADMIN
    assert not [e for e in checks.run_checks(tags=[checks.Tags.security]) if e.id == "org.E001"]
    settings.PERSONAL_DATA_ROLES = ("leader", "chief_wizard")
    errors = [e for e in checks.run_checks(tags=[checks.Tags.security]) if e.id == "org.E001"]
    assert len(errors) == 1 and "chief_wizard" in errors[0].msg


def test_account_update_is_audited_and_traced_with_personal_data_masked(sysadmin):
    person = make_user("enforcement_officer", username="p1")
    services.user_update(actor=sysadmin, user=person, full_name="张三", id_number="110101199003071234", phone="13812345678")
    person.refresh_from_db()
    assert person.full_name == "张三" and person.id_number == "110101199003071234"
    assert traced(person, "org.user_updated").count() == 1
    entry = AuditLog.objects.get(event=AuditEvent.ADMIN_ACTION, object_id=str(person.pk))
    assert entry.detail == {"action": "account_update", "fields": ["full_name", "id_number", "phone"]}
    snap = services.account_snapshot(person)
    assert snap["id_number"] == "110101********1234" and snap["phone"] == "138****5678"
    # Nothing changed, nothing written.
    services.user_update(actor=sysadmin, user=person, full_name="张三")
    assert traced(person, "org.user_updated").count() == 1


def test_only_the_system_administrator_edits_accounts(secadmin):
    person = make_user("enforcement_officer", username="p2")
    with pytest.raises(ApplicationError, match="只有系统管理员可以管理账户"):
        services.user_update(actor=secadmin, user=person, full_name="x")
    with pytest.raises(ApplicationError, match="不能在此修改这些字段"):
        services.user_update(actor=None, user=person, is_staff=True)


def test_grants_are_traced(secadmin):
    person = make_user(username="p3")
    services.user_roles_assign(actor=secadmin, user=person, roles=["enforcement_officer"])
    services.user_jurisdiction_set(actor=secadmin, user=person, own_jurisdiction="441900")
    assert traced(person, "org.user_roles_assigned").exists() and traced(person, "org.user_jurisdiction_set").exists()


def test_admin_account_edits_go_through_the_service(sysadmin):
    person = make_user("enforcement_officer", username="p4")
    client = Client()
    client.force_login(sysadmin)
    form = {"username": "p4", "password": person.password, "full_name": "李四", "enforcement_cert_no": "", "phone": "", "id_number": "", "bureau": person.bureau_id or "",
            "department": "", "scope_division": person.scope_division, "home_division": "", "is_active": "on"}
    response = client.post(f"/admin/org/user/{person.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    person.refresh_from_db()
    assert person.full_name == "李四"
    assert traced(person, "org.user_updated").exists()
    response = client.post("/admin/org/user/add/", {"username": "p5", "full_name": "王五", "bureau": "", "department": "",
                                                    "password1": "Zhijian-Test-2026!x", "password2": "Zhijian-Test-2026!x"})
    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(username="p5")
    assert traced(created, "org.user_created").exists()
