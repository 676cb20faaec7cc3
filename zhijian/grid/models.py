"""Grid supervision (G1–G4) and time-limit warnings (C3).

``GridCase`` is one entity (or one reported place) and one trigger moving through the transition
table in ``procedure.GRID_CASE``; its timeline is ``core.WorkflowStep`` (procedure
``grid.gridcase``). Every open state has a deadline rule (``choices.STATE_RULES``) and its step
clock in the clock registry (``deadlines.Clock``); ``step_due_on`` is the clock's due date copied
onto the case for the lists and the command centre (one indexed range per query).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhijian.coordination.choices import PushState
from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped

from .choices import (
    OPEN_STATES, STATE_RULES, CaseState, ItemResult, ItemType, Matter, OrderState, RouteTarget, Trigger, VisitKind, WarningLevel,
)

User = settings.AUTH_USER_MODEL


@register_scoped
class GridCase(TimeStamped):
    """One entity (or reported place) and one trigger in the grid flow (G1)."""

    scope_field = "division_code"

    number = models.CharField(_("事项编号"), max_length=40, blank=True, db_index=True)
    title = models.CharField(_("事项"), max_length=200)
    trigger = models.CharField(_("触发"), max_length=16, choices=Trigger.choices)
    trigger_ref = models.CharField(_("触发来源编号"), max_length=64, blank=True, help_text=_("如推送批次号、变更记录号"))
    entity = models.ForeignKey("entities.MarketEntity", verbose_name=_("市场主体"), null=True, blank=True, on_delete=models.PROTECT, related_name="grid_cases")
    clue = models.OneToOneField("clues.Clue", verbose_name=_("线索"), null=True, blank=True, on_delete=models.PROTECT, related_name="grid_case")
    task = models.ForeignKey("supervision.Task", verbose_name=_("村级任务"), null=True, blank=True, on_delete=models.SET_NULL, related_name="grid_cases")
    place_name = models.CharField(_("场所名称"), max_length=200, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    industry_code = models.CharField(_("行业代码"), max_length=5, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    grid = models.ForeignKey("geo.Grid", verbose_name=_("网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="grid_cases")
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("责任机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="grid_cases")
    assignee = models.ForeignKey(User, verbose_name=_("网格监管员"), null=True, blank=True, on_delete=models.PROTECT, related_name="grid_cases")
    received_on = models.DateField(_("村（社区）接收日期"))
    state = models.CharField(_("状态"), max_length=16, choices=CaseState.choices, default=CaseState.PENDING_ASSIGN)
    # The due date of the current step's clock (deadlines.Clock "step"), kept here for list queries.
    step_due_on = models.DateField(_("当前环节期限"), null=True, blank=True)
    notice_number = models.CharField(_("书面告知书文号"), max_length=60, blank=True)
    notice_deadline = models.DateField(_("整改期限"), null=True, blank=True)
    notice_pdf = models.ForeignKey("security.StoredUpload", verbose_name=_("书面告知书"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    route_target = models.CharField(_("分流去向"), max_length=20, choices=RouteTarget.choices, blank=True)
    routed_bureau = models.ForeignKey("org.Bureau", verbose_name=_("移交机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    routed_department = models.ForeignKey("org.Department", verbose_name=_("移交部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    routing_rule = models.ForeignKey("grid.RoutingRule", verbose_name=_("分流规则"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolution = models.CharField(_("办理结果"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("网格事项")
        verbose_name_plural = _("网格事项")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "step_due_on"], name="gridcase_state_due"),
            models.Index(fields=["assignee", "state"], name="gridcase_assignee_state"),
            models.Index(fields=["grid", "state"], name="gridcase_grid_state"),
        ]
        constraints = [
            # One case per entity and trigger (the trigger_ref tells two address changes apart).
            models.UniqueConstraint(fields=["entity", "trigger", "trigger_ref"], condition=models.Q(entity__isnull=False),
                                    name="gridcase_entity_trigger_once"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("grid:case_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, today=None) -> bool:
        return bool(self.is_open and self.step_due_on and (today or timezone.localdate()) > self.step_due_on)

    @property
    def step_rule(self) -> str:
        """The deadline rule of the current step (its clock's rule), "" once the case has ended."""
        return STATE_RULES.get(self.state, "")

    @property
    def label(self) -> str:
        return self.entity.name if self.entity_id else self.place_name


@register_scoped
class Visit(models.Model):
    """One visit (first visit, re-check or joint handling) with its checked 4+2 items."""

    scope_field = "case__division_code"

    case = models.ForeignKey(GridCase, verbose_name=_("事项"), on_delete=models.CASCADE, related_name="visits")
    kind = models.CharField(_("类型"), max_length=16, choices=VisitKind.choices)
    officer = models.ForeignKey(User, verbose_name=_("走访人"), null=True, on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField(_("走访日期"))
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    problem_found = models.BooleanField(_("发现问题"), default=False)
    resolved = models.BooleanField(_("问题已解决"), default=False)
    note = models.CharField(_("说明"), max_length=1000, blank=True)
    at = models.DateTimeField(_("记录时间"), default=timezone.now)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.visited_on}"


@register_scoped
class VisitItem(models.Model):
    scope_field = "visit__case__division_code"

    visit = models.ForeignKey(Visit, verbose_name=_("走访"), on_delete=models.CASCADE, related_name="items")
    matter = models.CharField(_("事项"), max_length=16, choices=Matter.choices)
    result = models.CharField(_("结果"), max_length=8, choices=ItemResult.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("走访检查项")
        verbose_name_plural = _("走访检查项")
        constraints = [models.UniqueConstraint(fields=["visit", "matter"], name="grid_visititem_once")]

    def __str__(self):
        return f"{self.get_matter_display()}：{self.get_result_display()}"


class RoutingRule(TimeStamped):
    """Where an unresolved case goes (谁许可，谁监管), as data. The first active rule in ``priority``
    order whose matter, industry prefixes and keywords all match wins."""

    priority = models.PositiveIntegerField(_("优先级"), default=100, help_text=_("数字小的先匹配"))
    name = models.CharField(_("名称"), max_length=100)
    matter = models.CharField(_("未解决事项"), max_length=16, choices=Matter.choices)
    industry_prefixes = models.CharField(_("行业代码前缀"), max_length=200, blank=True, help_text=_("逗号分隔；留空为任何行业"))
    keywords = models.CharField(_("经营范围关键词"), max_length=200, blank=True, help_text=_("逗号分隔，任一命中即可；留空为不限"))
    target = models.CharField(_("去向"), max_length=20, choices=RouteTarget.choices)
    department_code = models.CharField(_("部门代码"), max_length=40, blank=True,
                                       help_text=_("去向为许可部门时：协同部门代码，或其前缀（如 health 匹配 health-441900）"))
    legal_basis = models.CharField(_("依据"), max_length=300, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("分流规则")
        verbose_name_plural = _("分流规则")
        ordering = ["priority", "id"]

    def __str__(self):
        return self.name

    def industry_list(self) -> list[str]:
        return [p.strip() for p in self.industry_prefixes.replace("，", ",").split(",") if p.strip()]

    def keyword_list(self) -> list[str]:
        return [p.strip() for p in self.keywords.replace("，", ",").split(",") if p.strip()]


# --- G3: duty, positions, emergency orders -------------------------------------------------------


@register_scoped
class DutyStatus(models.Model):
    """An officer's duty and location-sharing consent; the latest position only (no track is kept)."""

    scope_field = "division_code"

    user = models.OneToOneField(User, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="grid_duty")
    on_duty = models.BooleanField(_("在岗"), default=False)
    consent_at = models.DateTimeField(_("同意共享位置时间"), null=True, blank=True)
    since = models.DateTimeField(_("上岗时间"), null=True, blank=True)
    lng = models.FloatField(_("经度（GCJ-02）"), null=True, blank=True)
    lat = models.FloatField(_("纬度（GCJ-02）"), null=True, blank=True)
    accuracy_m = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    reported_at = models.DateTimeField(_("位置上报时间"), null=True, blank=True, db_index=True)
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("在岗状态")
        verbose_name_plural = _("在岗状态")

    def __str__(self):
        return str(self.user)


@register_scoped
class EmergencyOrder(TimeStamped):
    """An emergency order (应急指令) to the N nearest on-duty officers."""

    scope_field = "division_code"

    title = models.CharField(_("指令"), max_length=200)
    message = models.CharField(_("内容"), max_length=1000, blank=True)
    lng = models.FloatField(_("经度（GCJ-02）"))
    lat = models.FloatField(_("纬度（GCJ-02）"))
    wanted = models.PositiveSmallIntegerField(_("派出人数"), default=3)
    issued_by = models.ForeignKey(User, verbose_name=_("下达人"), null=True, on_delete=models.PROTECT, related_name="+")
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    state = models.CharField(_("状态"), max_length=8, choices=OrderState.choices, default=OrderState.OPEN)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("应急指令")
        verbose_name_plural = _("应急指令")
        ordering = ["-id"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("grid:order_detail", args=[self.pk])


@register_scoped
class OrderRecipient(models.Model):
    scope_field = "order__division_code"

    order = models.ForeignKey(EmergencyOrder, verbose_name=_("指令"), on_delete=models.CASCADE, related_name="recipients")
    officer = models.ForeignKey(User, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="grid_orders")
    rank = models.PositiveSmallIntegerField(_("距离排序"))
    distance_m = models.FloatField(_("距离（米）"))
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("指令接收人")
        verbose_name_plural = _("指令接收人")
        ordering = ["order", "rank"]
        constraints = [models.UniqueConstraint(fields=["order", "officer"], name="grid_order_recipient_once")]

    def __str__(self):
        return f"{self.order_id} → {self.officer}"


# --- C3: warnings --------------------------------------------------------------------------------


class WarningRun(models.Model):
    """One batch of warnings of one level and item type (``alerts.raise_warnings``, from the clock
    sweep's events); traced once with a digest of its ids."""

    ran_on = models.DateField(_("巡检日"))
    item_type = models.CharField(_("对象类型"), max_length=20, choices=ItemType.choices)
    level = models.PositiveSmallIntegerField(_("级别"), choices=WarningLevel.choices)
    count = models.PositiveIntegerField(_("新增预警数"), default=0)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("预警批次")
        verbose_name_plural = _("预警批次")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.ran_on} {self.item_type} L{self.level} ×{self.count}"


@register_scoped
class Warning(models.Model):
    """One warning to one person on one time-limited step of one grid case; raised at most once per
    level (C3). Rows of supervision tasks and pushed items are history: their clocks now warn
    through the clock registry."""

    scope_field = "division_code"

    item_type = models.CharField(_("对象类型"), max_length=20, choices=ItemType.choices)
    item_id = models.BigIntegerField(_("对象编号"))
    step = models.CharField(_("环节"), max_length=20)
    level = models.PositiveSmallIntegerField(_("级别"), choices=WarningLevel.choices)
    due_on = models.DateField(_("期限"))
    # Warnings are written in bulk (a sweep after a holiday can cross many limits at once): no database FK
    # constraints (the ids come from the cases and bureaus just read) and no single-column indexes the composite
    # inbox index already covers — each would cost a check or an index entry per row.
    recipient = models.ForeignKey(User, verbose_name=_("接收人"), null=True, blank=True, on_delete=models.DO_NOTHING, related_name="grid_warnings",
                                  db_index=False, db_constraint=False)
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("接收机构"), null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                               db_index=False, db_constraint=False)
    division_code = models.CharField(_("区划代码"), max_length=12)
    run = models.ForeignKey(WarningRun, verbose_name=_("批次"), null=True, blank=True, on_delete=models.DO_NOTHING, related_name="warnings",
                            db_index=False, db_constraint=False)
    raised_at = models.DateTimeField(_("发出时间"), default=timezone.now)
    acknowledged = models.BooleanField(_("已确认"), default=False)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("时限预警")
        verbose_name_plural = _("时限预警")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["item_type", "item_id", "step", "level"], name="grid_warning_once")]
        indexes = [
            models.Index(fields=["recipient", "acknowledged"], name="grid_warning_inbox"),
            # Scoping filters by division prefix (LIKE 'prefix%'); the pattern index also serves equality.
            models.Index(fields=["division_code"], name="grid_warning_division", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.get_level_display()} {self.get_item_type_display()} #{self.item_id}"

    @property
    def step_label(self) -> str:
        """The step a person reads: a case's or pushed item's state, the task's limit, the receipt limit."""
        if self.step == "due":
            return str(_("办理期限"))
        if self.step == "receipt":
            return str(_("签收时限"))
        for states in (CaseState, PushState) if self.item_type != ItemType.PUSH_ITEM else (PushState,):
            try:
                return str(states(self.step).label)
            except ValueError:
                continue
        return str(_("办理环节"))

    def get_step_display(self) -> str:
        return self.step_label

    def item_url(self) -> str:
        if self.item_type == ItemType.GRID_CASE:
            return reverse("grid:case_detail", args=[self.item_id])
        if self.item_type == ItemType.PUSH_ITEM:
            return reverse("coordination:item_detail", args=[self.item_id])
        return reverse("supervision:task_detail", args=[self.item_id])
