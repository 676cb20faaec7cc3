"""The clue's vocabulary: where it came from, its states and the steps between them."""
from django.db import models
from django.utils.translation import gettext_lazy as _

PROCEDURE = "clues.clue"  # the procedure's name: steps, trace entries, clocks


class ClueSource(models.TextChoices):
    VILLAGE = "village", _("村（社区）、镇街登记")
    GRID_REPORT = "grid_report", _("网格员现场报告")
    GRID_CASE = "grid_case", _("网格事项分流移交")
    INSPECTION = "inspection", _("现场检查发现")
    MANUAL = "manual", _("人工登记")
    COMPLAINT = "complaint", _("投诉举报")


class ClueKind(models.TextChoices):
    """What a grid report says the place is doing wrong (the phone's choice)."""

    UNLICENSED = "unlicensed", _("无照经营")
    ADDRESS = "address", _("地址不符")
    OTHER = "other", _("其他")


class ClueState(models.TextChoices):
    RECORDED = "recorded", _("待指派")
    ASSIGNED = "assigned", _("已移交")
    RETURNED = "returned", _("部门退回")
    REPORTED = "reported", _("已反馈")
    HANDED_OVER = "handed_over", _("已立网格事项")
    VERIFYING = "verifying", _("核查中")
    FILED = "filed", _("已立案")
    CLOSED = "closed", _("不予立案")
    DISMISSED = "dismissed", _("不予处理")


CLOSED_STATES = (ClueState.REPORTED, ClueState.HANDED_OVER, ClueState.FILED, ClueState.CLOSED, ClueState.DISMISSED)


class ClueAction(models.TextChoices):
    RECORD = "record", _("登记线索")
    ASSIGN = "assign", _("指派部门")
    RETURN = "return", _("部门退回")
    REPORT = "report", _("部门反馈")
    HAND_OVER = "hand_over", _("转网格事项")
    VERIFY = "verify", _("开始核查")
    EXTEND = "extend", _("延长核查期限")
    FILE = "file", _("立案")
    CLOSE = "close", _("不予立案")
    DISMISS = "dismiss", _("不予处理")
