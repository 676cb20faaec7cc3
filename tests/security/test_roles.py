"""三员分立: the system, security and audit administrators have disjoint powers, none sees business
data, and none holds two administrator roles or a business role."""
import pytest
from django.test import Client

from tests.factories import make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.entities.models import MarketEntity
from zhijian.org import services as org_services
from zhijian.security import services
from zhijian.security.choices import AuditEvent
from zhijian.security.models import AuditLog

pytestmark = pytest.mark.django_db


def as_user(user):
    c = Client()
    c.force_login(user)
    return c


def test_security_admin_assigns_roles_and_it_is_audited(secadmin):
    person = make_user(username="officer9")
    org_services.user_roles_assign(actor=secadmin, user=person, roles=["enforcement_officer", "legal_reviewer"])
    assert person.role_codes() == {"enforcement_officer", "legal_reviewer"}
    assert not person.is_staff
    entry = AuditLog.objects.get(event=AuditEvent.ROLE_CHANGE, object_id=str(person.pk))
    assert entry.user == secadmin and entry.detail["after"] == ["enforcement_officer", "legal_reviewer"]
    org_services.user_roles_assign(actor=secadmin, user=person, roles=["audit_admin"])
    person.refresh_from_db()
    assert person.is_staff  # administrator roles reach the admin site


def test_system_admin_cannot_grant_roles(sysadmin):
    person = make_user(username="officer10")
    with pytest.raises(ApplicationError, match="只有安全管理员可以分配角色"):
        org_services.user_roles_assign(actor=sysadmin, user=person, roles=["leader"])


def test_admin_roles_cannot_be_combined(secadmin):
    person = make_user(username="officer11")
    with pytest.raises(ApplicationError, match="三员分立：系统管理员、安全管理员、安全审计员不能由同一人兼任。"):
        org_services.user_roles_assign(actor=secadmin, user=person, roles=["system_admin", "audit_admin"])
    with pytest.raises(ApplicationError, match="三员分立：管理员不能兼任业务角色。"):
        org_services.user_roles_assign(actor=secadmin, user=person, roles=["security_admin", "leader"])
    with pytest.raises(ApplicationError, match="不能修改自己的角色"):
        org_services.user_roles_assign(actor=secadmin, user=secadmin, roles=["security_admin", "audit_admin"][:1])


def test_administrators_see_no_business_data(sysadmin, secadmin, auditadmin):
    make_entity("441900003001")
    officer = make_user("enforcement_officer", username="officer12")
    assert MarketEntity.objects.scoped(officer).count() == 1
    for admin_user in (sysadmin, secadmin, auditadmin):
        assert MarketEntity.objects.scoped(admin_user).count() == 0
    with pytest.raises(ApplicationError, match="管理员账户不能被授予业务辖区"):
        org_services.user_jurisdiction_set(actor=secadmin, user=sysadmin, own_jurisdiction="4419")


def test_only_security_admin_grants_jurisdiction(secadmin, sysadmin):
    person = make_user("enforcement_officer", username="officer13")
    with pytest.raises(ApplicationError, match="只有安全管理员可以授予辖区"):
        org_services.user_jurisdiction_set(actor=sysadmin, user=person, own_jurisdiction="441900")
    org_services.user_jurisdiction_set(actor=secadmin, user=person, own_jurisdiction="441900")
    assert person.jurisdiction_prefixes() == ["441900"]


def test_only_system_admin_issues_tokens(sysadmin, secadmin):
    person = make_user("enforcement_officer", username="integrator3")
    with pytest.raises(ApplicationError, match="只有系统管理员可以签发接口令牌"):
        services.issue_token(actor=secadmin, user=person)
    assert len(services.issue_token(actor=sysadmin, user=person)) == 40
    with pytest.raises(ApplicationError, match="管理员账户不能使用接口令牌"):
        services.issue_token(actor=sysadmin, user=secadmin)


def test_admin_site_powers(sysadmin, secadmin, auditadmin, bureau):
    person = make_user("enforcement_officer", username="officer14", bureau=bureau)
    system, security, auditor = as_user(sysadmin), as_user(secadmin), as_user(auditadmin)
    # system administrator: accounts and bureaus, not the audit log, no role grants
    assert system.get("/admin/org/user/add/").status_code == 200
    assert system.get(f"/admin/org/bureau/{bureau.pk}/change/").status_code == 200
    assert system.get("/admin/security/auditlog/").status_code == 403
    page = system.get(f"/admin/org/user/{person.pk}/change/").content.decode()
    assert 'name="full_name"' in page and 'name="roles"' not in page
    # security administrator: grants, not account creation, not bureaus, not the audit log
    assert security.get("/admin/org/user/add/").status_code == 403
    assert security.post(f"/admin/org/bureau/{bureau.pk}/change/", {"name": "x"}).status_code == 403
    assert security.get("/admin/security/auditlog/").status_code == 403
    page = security.get(f"/admin/org/user/{person.pk}/change/").content.decode()
    assert 'name="roles"' in page and 'name="full_name"' not in page
    # audit administrator: the audit log only, read-only
    assert auditor.get("/admin/security/auditlog/").status_code == 200
    assert auditor.get("/admin/org/user/").status_code == 403
    entry = AuditLog.objects.first()
    assert auditor.post(f"/admin/security/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert auditor.post(f"/admin/security/auditlog/{entry.pk}/change/", {"username": "x"}).status_code == 403


def _user_form(person, roles):
    return {
        "username": person.username, "full_name": person.full_name, "roles": roles, "own_jurisdiction": "",
        "is_active": "on", "bureau": person.bureau_id or "", "department": "",
    }


def test_role_grants_in_the_admin_go_through_the_service(secadmin):
    person = make_user("enforcement_officer", username="officer15")
    client = as_user(secadmin)
    for code in ("leader", "security_admin"):
        from zhijian.org.models import Role

        Role.objects.get_or_create(code=code)
    response = client.post(f"/admin/org/user/{person.pk}/change/", _user_form(person, ["enforcement_officer", "security_admin"]))
    assert response.status_code == 200
    assert "三员分立：管理员不能兼任业务角色。" in response.content.decode()
    response = client.post(f"/admin/org/user/{person.pk}/change/", _user_form(person, ["enforcement_officer", "leader"]))
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.role_codes() == {"enforcement_officer", "leader"}
    assert AuditLog.objects.filter(event=AuditEvent.ROLE_CHANGE, user=secadmin, object_id=str(person.pk)).exists()
    assert AuditLog.objects.filter(event=AuditEvent.ADMIN_ACTION, user=secadmin).exists()
