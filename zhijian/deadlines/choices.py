"""Choices for deadlines and numbering: no magic strings elsewhere."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    WORKDAYS = "workdays", _("工作日")
    DAYS = "days", _("自然日")
    MONTHS = "months", _("月")
    YEARS = "years", _("年")


class RuleKind(models.TextChoices):
    PERIOD = "period", _("期限")
    # A fixed yearly window such as the annual report (1 January – 30 June).
    ANNUAL_WINDOW = "annual_window", _("年度窗口期")


class Obligor(models.TextChoices):
    """Who must act by the due date: decides whether a recomputed due date may move earlier."""

    AUTHORITY = "authority", _("行政机关")
    # A period granted to a party (a correction period, a fine, a hearing request): once told, its
    # due date never moves earlier (a recomputation keeps the later date).
    PARTY = "party", _("当事人")


class ClockState(models.TextChoices):
    RUNNING = "running", _("计时中")
    SUSPENDED = "suspended", _("已中止")
    STOPPED = "stopped", _("已停止")


class HolidaySource(models.TextChoices):
    HOLIDAY_CN = "holiday-cn", _("holiday-cn 数据文件")
    STATE_COUNCIL = "state_council", _("国务院办公厅通知（管理员录入）")
    LOCAL = "local", _("本地调整（管理员录入）")


class SweepStatus(models.TextChoices):
    NEVER = "", _("未运行")
    RUNNING = "running", _("运行中")
    OK = "ok", _("成功")
    FAILED = "failed", _("失败")


class DocType(models.TextChoices):
    """Kinds of official documents (文书) that carry a bureau number."""

    CASE_FILING = "case_filing", _("立案审批表")
    INSPECTION_RECORD = "inspection_record", _("现场检查笔录")
    CORRECTION_ORDER = "correction_order", _("责令改正通知书")
    PENALTY_NOTICE = "penalty_notice", _("行政处罚告知书")
    HEARING_NOTICE = "hearing_notice", _("听证通知书")
    PENALTY_DECISION = "penalty_decision", _("行政处罚决定书")
    NO_PENALTY_DECISION = "no_penalty_decision", _("不予行政处罚决定书")
    COERCIVE_MEASURE = "coercive_measure", _("实施行政强制措施决定书")
    HANDLING_DECISION = "handling_decision", _("处理决定书")
    LICENCE_DECISION = "licence_decision", _("行政许可决定书")
    COMPLAINT_ACCEPTANCE = "complaint_acceptance", _("投诉受理通知书")
    # Records (not 文书) that carry a bureau number too.
    SUPERVISION_TASK = "supervision_task", _("监管任务")
    CLUE = "clue", _("线索")
    GRID_CASE = "grid_case", _("网格事项")
    GRID_NOTICE = "grid_notice", _("网格书面告知书")


# The character(s) (文书代字) each type carries after the bureau's 机关代字, and the number format.
# Placeholders: {org} the bureau's short_name (e.g. 莞市监), {code} the type's 代字, {year}, {n}.
DEFAULT_NUMBER_FORMAT = "{org}{code}〔{year}〕{n}号"
DOC_TYPE_CODES: dict[str, str] = {
    DocType.CASE_FILING: "立",
    DocType.INSPECTION_RECORD: "检",
    DocType.CORRECTION_ORDER: "责改",
    DocType.PENALTY_NOTICE: "告",
    DocType.HEARING_NOTICE: "听",
    DocType.PENALTY_DECISION: "罚",
    DocType.NO_PENALTY_DECISION: "不罚",
    DocType.COERCIVE_MEASURE: "强",
    DocType.HANDLING_DECISION: "处",
    DocType.LICENCE_DECISION: "许",
    DocType.COMPLAINT_ACCEPTANCE: "投受",
    DocType.SUPERVISION_TASK: "任",
    DocType.CLUE: "线",
    DocType.GRID_CASE: "网格",
    DocType.GRID_NOTICE: "网告",  # the grid's old NoticeCounter format, unchanged
}
# Types whose number does not follow DEFAULT_NUMBER_FORMAT (none yet; a bureau that writes
# e.g. 莞市监罚决字〔2026〕12号 sets its template here).
DOC_TYPE_FORMATS: dict[str, str] = {}


# Trace actions of the deadline services and the clock registry (registered in apps.ready()).
TRACE_ACTIONS = {
    "clock.started": _("期限开始计算"), "clock.extended": _("期限延长"), "clock.suspended": _("期限中止"),
    "clock.resumed": _("期限恢复计算"), "clock.stopped": _("期限停止"), "clock.recomputed": _("期限重新计算"),
    "clock.reminder": _("期限临近提醒"), "clock.overdue": _("期限逾期"), "clock.escalated": _("逾期升级"),
    "deadlines.holiday_add": _("新增节假日"), "deadlines.holiday_change": _("修改节假日"),
    "deadlines.holiday_delete": _("删除节假日"), "deadlines.holidays_enter": _("录入年度节假日安排"),
    "deadlines.rule_add": _("新增期限规则"), "deadlines.rule_change": _("修改期限规则"), "deadlines.rule_delete": _("删除期限规则"),
}
