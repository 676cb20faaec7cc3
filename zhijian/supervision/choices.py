from django.db import models
from django.utils.translation import gettext_lazy as _

# The task loop's name in the workflow kernel, the clock registry, steps, trace and events.
PROCEDURE = "supervision.task"


class TaskState(models.TextChoices):
    REGISTERED = "registered", _("已登记")
    DISPATCHED = "dispatched", _("已派发")
    ACCEPTED = "accepted", _("已受领")
    EXECUTING = "executing", _("执行中")
    REVIEW = "review", _("待审核")
    APPROVED = "approved", _("审核通过")
    ARCHIVED = "archived", _("已归档")
    CANCELLED = "cancelled", _("已撤销")


# States in which a task is still being worked on (it can be urged, cancelled and become overdue).
OPEN_STATES = (
    TaskState.REGISTERED, TaskState.DISPATCHED, TaskState.ACCEPTED, TaskState.EXECUTING, TaskState.REVIEW, TaskState.APPROVED,
)
FINAL_STATES = (TaskState.ARCHIVED, TaskState.CANCELLED)


class TaskSource(models.TextChoices):
    PLAN = "plan", _("年度计划")
    RANDOM_DRAW = "random_draw", _("双随机抽查")
    CAMPAIGN = "campaign", _("专项检查")
    PATROL = "patrol", _("日常巡查")
    COMPLAINT = "complaint", _("投诉举报")
    CLUE = "clue", _("线索")
    MANUAL = "manual", _("手工登记")


class TaskAction(models.TextChoices):
    """The steps of the loop, as recorded on a task's timeline."""

    CREATE = "create", _("登记")
    DISPATCH = "dispatch", _("派发")
    ACCEPT = "accept", _("受领")
    START = "start", _("开始执行")
    SUBMIT = "submit", _("提交审核")
    APPROVE = "approve", _("审核通过")
    REJECT = "reject", _("退回重办")
    ARCHIVE = "archive", _("归档")
    CANCEL = "cancel", _("撤销")


class TemplateKind(models.TextChoices):
    CAMPAIGN = "campaign", _("专项检查")
    PATROL = "patrol", _("日常巡查")


# A template's kind decides the source of the tasks it generates.
TEMPLATE_SOURCE = {TemplateKind.CAMPAIGN: TaskSource.CAMPAIGN, TemplateKind.PATROL: TaskSource.PATROL}
