"""States and codes of grid supervision (G1–G4) and warnings (C3); no status is a magic string."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    PENDING_ASSIGN = "pending_assign", _("待分派网格")
    FIRST_VISIT = "first_visit", _("待首次走访")
    RECTIFYING = "rectifying", _("限期整改（待复查）")
    JOINT = "joint", _("村（社区）联合处置")
    ROUTED = "routed", _("已分流移交")
    CLOSED = "closed", _("已办结")
    CANCELLED = "cancelled", _("已撤销")


OPEN_STATES = (CaseState.PENDING_ASSIGN, CaseState.FIRST_VISIT, CaseState.RECTIFYING, CaseState.JOINT)
FINAL_STATES = (CaseState.ROUTED, CaseState.CLOSED, CaseState.CANCELLED)

# The deadline rule that limits each open state: the rule of the case's step clock in the clock
# registry while the case is in that state (see zhijian/deadlines/seed_rules.py and this app's
# migration 0002 for the local rules it adds). The re-check limit counts from the end of the
# rectification period the written notice gives (at most RECTIFY_RULE from the visit).
STATE_RULES = {
    CaseState.PENDING_ASSIGN: "grid.assign",
    CaseState.FIRST_VISIT: "grid.first_visit",
    CaseState.RECTIFYING: "grid.recheck",
    CaseState.JOINT: "grid.joint",
}


RECTIFY_RULE = "grid.rectify"


class Trigger(models.TextChoices):
    REGISTRATION = "registration", _("新设立登记")
    ADDRESS_CHANGE = "address_change", _("地址变更")
    SCOPE_CHANGE = "scope_change", _("经营范围变更")
    CLUE = "clue", _("无照经营线索")
    MANUAL = "manual", _("手工登记")


class CaseAction(models.TextChoices):
    OPEN = "open", _("接收")
    ASSIGN = "assign", _("分派网格")
    FIRST_VISIT = "first_visit", _("首次走访")
    NOTICE = "notice", _("送达书面告知书")
    RECHECK = "recheck", _("复查")
    JOINT = "joint", _("村联合处置")
    ROUTE = "route", _("分流移交")
    CLOSE = "close", _("办结")
    CANCEL = "cancel", _("撤销")


class Matter(models.TextChoices):
    """The "4+2" grid matters (G2)."""

    ADDRESS = "address", _("地址核查")
    OPERATING = "operating", _("经营状态核查")
    LICENCE = "licence", _("许可证照核查")
    UNLICENSED = "unlicensed", _("无照经营巡查")
    ANNUAL_REPORT = "annual_report", _("年报提醒")
    DISPLAY = "display", _("亮照经营")


MATTER_ORDER = [m.value for m in Matter]


class ItemResult(models.TextChoices):
    OK = "ok", _("正常")
    PROBLEM = "problem", _("发现问题")
    NOT_APPLICABLE = "na", _("不适用")


class VisitKind(models.TextChoices):
    FIRST = "first", _("首次走访")
    RECHECK = "recheck", _("复查")
    JOINT = "joint", _("联合处置")


class RouteTarget(models.TextChoices):
    MARKET_REGULATOR = "market_regulator", _("市场监管部门（区县局）")
    DEPARTMENT = "department", _("许可部门（谁许可，谁监管）")


class WarningLevel(models.IntegerChoices):
    REMINDER = 0, _("到期提醒（本人）")
    OVERDUE = 1, _("逾期预警（本人）")
    UNIT_HEAD = 2, _("逾期升级（单位负责人）")
    SUPERVISOR = 3, _("逾期升级（上级机构）")


class ItemType(models.TextChoices):
    GRID_CASE = "grid.case", _("网格事项")
    TASK = "supervision.task", _("监管任务")
    PUSH_ITEM = "coordination.push", _("推送事项")


class OrderState(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


# Trace actions of the grid services besides the grid case's procedure steps (registered in apps.ready()).
TRACE_ACTIONS = {
    # event types (the webhook contract) that are not trace actions
    "grid.overdue": _("网格事项逾期"), "grid.warnings_raised": _("发出时限预警"), "village.notify": _("通知村（社区）首次走访"),
    "grid.case.open": _("事项：接收"), "grid.case.open_many": _("事项：批量接收"), "grid.case.notice": _("事项：送达书面告知书"),
    "grid.duty.start": _("开始值守"), "grid.duty.end": _("结束值守"),
    "grid.order.issue": _("下达指令"), "grid.order.acknowledge": _("确认指令"),
    "grid.routing_rule.create": _("新增分流规则"), "grid.routing_rule.change": _("修改分流规则"),
    "grid.routing_rule.delete": _("删除分流规则"),
    "grid.warnings.raise": _("发出预警"), "grid.warning.acknowledge": _("确认预警"),
}
