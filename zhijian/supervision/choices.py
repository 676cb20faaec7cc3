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


# Trace actions of the task services besides the task procedure's steps (registered in apps.ready()).
TRACE_ACTIONS = {
    "task.overdue": _("任务逾期"),
    "task.create_many": _("任务：批量登记"), "task.urged": _("任务：督办"), "task.record_linked": _("任务：关联检查记录"),
    "task_template.created": _("新建任务模板"), "task_template.run": _("按模板生成任务"),
}

# What the records other apps attach to a task are called (``TaskRecord.kind``): filled by those apps
# in their AppConfig.ready() (inspections: 现场检查笔录; grid: 网格事项).
RECORD_KIND_NAMES: dict[str, object] = {}


def record_kind_names(codes: set[str]) -> dict[str, str]:
    return {c: str(RECORD_KIND_NAMES[c]) for c in codes if c in RECORD_KIND_NAMES}

# Business lines of tasks that have no checklist (so no row in inspections' BusinessLine), by name;
# filled by the apps that create such tasks in their AppConfig.ready() (grid: 网格首次走访).
LINE_NAMES: dict[str, object] = {}
