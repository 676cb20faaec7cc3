"""Supervision tasks (S2): the closed loop 登记 → 派发 → 受领 → 执行 → 审核 → 归档; templates (S5)."""
from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped
from zhijian.deadlines import clocks, workdays
from zhijian.entities.choices import EntityType

from .choices import OPEN_STATES, PROCEDURE, TaskSource, TaskState, TemplateKind


def _split(value: str) -> list[str]:
    return [p for p in (s.strip() for s in (value or "").replace("，", ",").split(",")) if p]


@register_scoped
class TaskTemplate(TimeStamped):
    """A special campaign (专项检查) or daily patrol (日常巡查) that generates tasks for the entities
    its filter selects (S5). The filter is data: industry prefixes, a division prefix, entity types."""

    scope_field = "division_code"

    name = models.CharField(_("模板名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=TemplateKind.choices)
    business_lines = models.CharField(_("业务条线"), max_length=200, blank=True, help_text=_("逗号分隔；每个主体每个条线生成一个任务"))
    deadline_rule = models.CharField(_("期限规则"), max_length=60, blank=True)
    description = models.TextField(_("说明"), blank=True)
    industry_prefixes = models.CharField(_("行业代码前缀"), max_length=200, blank=True, help_text=_("逗号分隔，如 H62,F52；留空为全部行业"))
    division_prefix = models.CharField(_("区划代码前缀"), max_length=12, blank=True, help_text=_("留空为执行机构的全部辖区"))
    entity_types = models.CharField(_("主体类型"), max_length=100, blank=True, help_text=_("逗号分隔：enterprise, individual, cooperative；留空为全部"))
    active = models.BooleanField(_("启用"), default=True)
    # Where the template was defined: it is visible to that area's people.
    division_code = models.CharField(_("所属区划"), max_length=12, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = _("任务模板")
        verbose_name_plural = _("任务模板")
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("supervision:template_detail", args=[self.pk])

    def business_line_list(self) -> list[str]:
        return _split(self.business_lines)

    def industry_prefix_list(self) -> list[str]:
        # Industry codes are stored as digits (GB/T 4754 class codes); a leading section letter is dropped.
        return [p.lstrip("ABCDEFGHIJKLMNOPQRST") or p for p in _split(self.industry_prefixes)]

    def entity_type_list(self) -> list[str]:
        return _split(self.entity_types)

    @property
    def entity_types_display(self) -> str:
        """The entity types by name (企业、个体工商户…), never the stored codes."""
        labels = dict(EntityType.choices)
        return "、".join(str(labels.get(code, code)) for code in self.entity_type_list())


@register_scoped
class TemplateRun(models.Model):
    """One run of a template for one bureau under a run key (e.g. 2026-03): runs are idempotent."""

    scope_field = "division_code"

    template = models.ForeignKey(TaskTemplate, verbose_name=_("模板"), on_delete=models.PROTECT, related_name="runs")
    run_key = models.CharField(_("批次"), max_length=40)
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("执行机构"), on_delete=models.PROTECT, related_name="+")
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_count = models.PositiveIntegerField(_("生成任务数"), default=0)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("模板执行记录")
        verbose_name_plural = _("模板执行记录")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.template} {self.run_key}"


@register_scoped
class Task(TimeStamped):
    """One supervision task on one entity for one business line."""

    scope_field = "division_code"

    number = models.CharField(_("任务编号"), max_length=40, blank=True, db_index=True)
    title = models.CharField(_("任务名称"), max_length=200)
    source = models.CharField(_("来源"), max_length=16, choices=TaskSource.choices, default=TaskSource.MANUAL)
    source_ref = models.CharField(_("来源编号"), max_length=64, blank=True, help_text=_("如抽查批次号、投诉编号"))
    business_line = models.CharField(_("业务条线"), max_length=40, blank=True, db_index=True)
    entity = models.ForeignKey("entities.MarketEntity", verbose_name=_("市场主体"), null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    state = models.CharField(_("状态"), max_length=16, choices=TaskState.choices, default=TaskState.REGISTERED, db_index=True)
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("承办机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("承办人"), null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deadline_rule = models.CharField(_("期限规则"), max_length=60, blank=True)
    due_on = models.DateField(_("办理期限"), null=True, blank=True)
    description = models.TextField(_("说明"), blank=True)
    version = models.PositiveIntegerField(default=1)
    overdue = models.BooleanField(_("已逾期"), default=False, db_index=True, help_text=_("由逾期巡检标记，每个任务只提醒一次"))
    overdue_marked_at = models.DateTimeField(_("逾期标记时间"), null=True, blank=True)
    review_comment = models.CharField(_("审核意见"), max_length=500, blank=True)
    cancel_reason = models.CharField(_("撤销原因"), max_length=500, blank=True)
    template = models.ForeignKey(TaskTemplate, verbose_name=_("来源模板"), null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    run_key = models.CharField(_("模板批次"), max_length=40, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("监管任务")
        verbose_name_plural = _("监管任务")
        ordering = ["-id"]
        indexes = [
            # Boards and the leader overview count open / overdue / due-soon work per unit and area
            # from this index alone (state and due date lead; the unit and division ride along).
            models.Index(fields=["state", "due_on", "overdue", "bureau", "division_code"], name="task_state_due_unit"),
            # The board's default order (earliest due first) over open tasks.
            models.Index(fields=["due_on", "id"], name="task_open_due", condition=models.Q(state__in=OPEN_STATES)),
            # The overview's trends: registered and archived per day.
            # The board's "all states" order and its source filter over open work, read in order.
            models.Index(fields=["due_on", "id"], name="task_due"),
            models.Index(fields=["source", "due_on", "id"], name="task_open_source_due", condition=models.Q(state__in=OPEN_STATES)),
            models.Index(fields=["created_at"], name="task_created"),
            models.Index(fields=["closed_at"], name="task_closed", condition=models.Q(closed_at__isnull=False)),
            models.Index(fields=["bureau", "state"], name="task_bureau_state"),
            models.Index(fields=["assignee", "state"], name="task_assignee_state"),
        ]
        constraints = [
            # A template run creates at most one task per entity and business line.
            models.UniqueConstraint(
                fields=["template", "run_key", "entity", "business_line"], condition=models.Q(template__isnull=False), name="task_template_run_once"
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("supervision:task_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @cached_property
    def clock(self):
        """The task's clock in the registry (``deadlines.clocks``), or None for a task without a
        deadline rule. Lists preload it (``queries.with_clocks``)."""
        return clocks.get(PROCEDURE, self.pk) if self.pk and self.deadline_rule else None

    @property
    def due_provisional(self) -> bool:
        """The due date was computed on a provisional holiday calendar (shown as 暂定)."""
        return bool(self.clock is not None and self.clock.provisional)

    def is_overdue(self, today=None) -> bool:
        """Open and past its due date (the due date itself is still in time): the clock decides;
        a date typed by hand (no rule, no clock) is compared as it is."""
        if not self.is_open:
            return False
        if self.clock is not None:
            return self.clock.is_overdue(today)
        return bool(self.due_on and (today or timezone.localdate()) > self.due_on)

    def workdays_left(self, today=None) -> int | None:
        """Working days from today to the due date (0 on the day, negative when overdue)."""
        due_on = self.clock.due_on if self.clock is not None else self.due_on
        if not due_on:
            return None
        return workdays.workdays_between(today or timezone.localdate(), due_on)


@register_scoped
class TaskRecord(models.Model):
    """A record another app produced for the task (e.g. a signed 现场检查笔录)."""

    scope_field = "task__division_code"

    task = models.ForeignKey(Task, verbose_name=_("任务"), on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(_("记录类型"), max_length=40)
    record_id = models.CharField(_("记录编号"), max_length=64)
    signed = models.BooleanField(_("已签名"), default=False)
    linked_at = models.DateTimeField(_("关联时间"), default=timezone.now)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("任务记录")
        verbose_name_plural = _("任务记录")
        ordering = ["linked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["task", "kind", "record_id"], name="task_record_once")]

    def __str__(self):
        return f"{self.kind}:{self.record_id}"


@register_scoped
class TaskUrge(models.Model):
    """督办: a superior urges the task on."""

    scope_field = "task__division_code"

    task = models.ForeignKey(Task, verbose_name=_("任务"), on_delete=models.CASCADE, related_name="urges")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("督办人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(_("督办意见"), max_length=500)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("督办记录")
        verbose_name_plural = _("督办记录")
        ordering = ["at", "id"]

    def __str__(self):
        return self.message[:30]
