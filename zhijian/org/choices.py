from django.db import models
from django.utils.translation import gettext_lazy as _

from zhijian.security import roles as admin_roles


class BureauLevel(models.TextChoices):
    NATIONAL = "national", _("总局")
    PROVINCE = "province", _("省局")
    CITY = "city", _("市局")
    COUNTY = "county", _("区县局")
    STATION = "station", _("市场监管所")


class RoleCode(models.TextChoices):
    ENFORCEMENT_OFFICER = "enforcement_officer", _("执法人员")
    GRID_OFFICER = "grid_officer", _("网格员")
    ASSISTANT = "assistant", _("协管员")
    INFORMANT = "informant", _("信息员")
    DISPATCHER = "dispatcher", _("调度员")
    COMPLAINT_HANDLER = "complaint_handler", _("投诉处理员")
    LEGAL_REVIEWER = "legal_reviewer", _("法制审核员")
    LEADER = "leader", _("领导")
    DEPARTMENT_STAFF = "department_staff", _("部门人员")
    REGISTRY_CLERK = "registry_clerk", _("登记人员")
    # The three administrators (三员分立): their codes are security's (zhijian.security.roles).
    SYSTEM_ADMIN = admin_roles.SYSTEM_ADMIN, _("系统管理员")
    SECURITY_ADMIN = admin_roles.SECURITY_ADMIN, _("安全管理员")
    AUDIT_ADMIN = admin_roles.AUDIT_ADMIN, _("安全审计员")


# Roles that may change registry data.
REGISTRY_WRITERS = {RoleCode.REGISTRY_CLERK, RoleCode.ENFORCEMENT_OFFICER, RoleCode.LEADER}


# Trace actions of the organisation services (registered in apps.ready()).
TRACE_ACTIONS = {
    "org.user_created": _("新建用户"), "org.user_updated": _("修改用户"), "org.user_roles_assigned": _("分配角色"),
    "org.user_jurisdiction_set": _("设定个人辖区"),
}
