"""Coordinated supervision (C1 push, C2 feedback; C4's clues are ``zhijian.clues``).

Push rules are data: a supervision matter names the responsible departments and the time limit,
its rules say which entities it covers (industry code prefixes, business-scope keywords,
licence types). The engine (``engine.py``) compiles the active rules into indexes.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped, WorkflowStep
from zhijian.core.scoping import ScopedManager, register_scoped

from .choices import OPEN_PUSH_STATES, PUSH_PROCEDURE, Principle, PushAction, PushState, PushTrigger


def split_list(value: str) -> list[str]:
    """Comma/semicolon/newline separated text as a clean list (full-width separators too)."""
    out = []
    for raw in (value or "").replace("，", ",").replace("；", ",").replace(";", ",").replace("、", ",").replace("\n", ",").split(","):
        raw = raw.strip()
        if raw and raw not in out:
            out.append(raw)
    return out


class SupervisionMatter(TimeStamped):
    """A supervision matter (监管事项): who supervises what after registration, and how fast.

    Configuration, not business data: it is the same for every jurisdiction, so it is not scoped.
    """

    code = models.SlugField(_("事项代码"), max_length=40, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    principle = models.CharField(_("监管原则"), max_length=16, choices=Principle.choices, default=Principle.APPROVAL)
    departments = models.ManyToManyField("org.Department", verbose_name=_("责任部门"), related_name="matters",
                                         help_text=_("主体所在区划落在部门辖区内时推送给该部门"))
    legal_basis = models.TextField(_("法律依据"), blank=True)
    deadline_rule = models.CharField(_("办理期限规则"), max_length=60, blank=True, help_text=_("期限规则代码（按工作日等计算）"))
    deadline_hours = models.PositiveIntegerField(_("签收时限（小时）"), null=True, blank=True, help_text=_("按小时计的时限，如 1 小时内签收"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("监管事项")
        verbose_name_plural = _("监管事项")
        ordering = ["code"]

    def __str__(self):
        return self.name


class PushRule(TimeStamped):
    """When an entity belongs to a matter. A rule matches when **any** of its criteria matches:
    an industry-code prefix, a business-scope keyword or a licence type (see docs/interfaces.md)."""

    matter = models.ForeignKey(SupervisionMatter, verbose_name=_("监管事项"), on_delete=models.PROTECT, related_name="rules")
    name = models.CharField(_("规则名称"), max_length=100)
    industry_prefixes = models.CharField(_("行业代码前缀"), max_length=500, blank=True,
                                         help_text=_("GB/T 4754 代码前缀，逗号分隔，如 62,5225；单个门类字母如 H 表示整个门类"))
    keywords = models.TextField(_("经营范围关键词"), blank=True, help_text=_("逗号或换行分隔，如 食品,餐饮服务,卷烟"))
    licence_types = models.CharField(_("许可证类型"), max_length=500, blank=True, help_text=_("逗号分隔，如 食品经营许可证"))
    active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("修改人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("推送规则")
        verbose_name_plural = _("推送规则")
        ordering = ["matter__code", "id"]

    def __str__(self):
        return f"{self.matter} · {self.name}"

    def industry_list(self) -> list[str]:
        return split_list(self.industry_prefixes)

    def keyword_list(self) -> list[str]:
        return split_list(self.keywords)

    def licence_list(self) -> list[str]:
        return split_list(self.licence_types)


class RuleSetRevision(models.Model):
    """One row: a new random stamp on every change to matters or rules, so compiled indexes know they are stale."""

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("规则集版本")
        verbose_name_plural = _("规则集版本")

    def __str__(self):
        return str(self.value)


class PushReplay(models.Model):
    """One replay of rules over the existing entities (dry run or for real), kept as a record."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dry_run = models.BooleanField(_("仅预演"), default=True)
    rule_ids = models.JSONField(_("规则"), default=list)
    division_prefix = models.CharField(_("区划范围"), max_length=12, blank=True)
    total = models.PositiveIntegerField(_("推送条数"), default=0)
    per_department = models.JSONField(_("各部门条数"), default=dict)
    sample = models.JSONField(_("样例"), default=list)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("规则回放")
        verbose_name_plural = _("规则回放")
        ordering = ["-id"]

    def __str__(self):
        return f"#{self.pk} {'预演' if self.dry_run else '执行'} {self.total}"


@register_scoped
class PushItem(models.Model):
    """One entity pushed to one department's inbox for one matter, by one rule and trigger.

    Scoped by the entity's division code (as it was when pushed): a person outside that
    jurisdiction can neither list, open nor change the item. Department staff additionally see
    only their own department's items (``queries.push_items``).
    """

    scope_field = "division_code"

    # Indexes are what the reads need, no more (every index is written for each of the ~30,000 items
    # an import chunk pushes): entity_id leads the unique key (existence check, replay, credit code
    # filter), department_id leads ``pushitem_inbox``; matter, rule, claimed_by and reassigned_to
    # are never filtered on (a deleted matter, rule or user scans; reassigned_to has a partial index).
    # Department, matter and rule have no database constraint: they are configuration, never
    # deleted but through Django (PROTECT holds there), and checking ~30,000 references to the
    # same few dozen rows at each chunk's commit took longer than writing the items.
    entity = models.ForeignKey("entities.MarketEntity", verbose_name=_("市场主体"), on_delete=models.PROTECT, related_name="push_items",
                               db_index=False)
    department = models.ForeignKey("org.Department", verbose_name=_("接收部门"), on_delete=models.PROTECT, related_name="push_items",
                                   db_index=False, db_constraint=False)
    matter = models.ForeignKey(SupervisionMatter, verbose_name=_("监管事项"), on_delete=models.PROTECT, related_name="items",
                               db_index=False, db_constraint=False)
    rule = models.ForeignKey(PushRule, verbose_name=_("命中规则"), null=True, blank=True, on_delete=models.PROTECT, related_name="items",
                             db_index=False, db_constraint=False)
    rule_version = models.PositiveIntegerField(_("规则版本"), default=1)
    matched_on = models.CharField(_("命中依据"), max_length=200, blank=True)
    trigger = models.CharField(_("推送原因"), max_length=20, choices=PushTrigger.choices)
    # "event:<id>", "replay:<id>" or "reassign:<item id>": with entity, matter and department unique.
    trigger_key = models.CharField(_("触发标识"), max_length=40)
    source_event_id = models.BigIntegerField(_("来源事件"), null=True, blank=True)
    division_code = models.CharField(_("区划代码"), max_length=12)  # pattern index below
    state = models.CharField(_("状态"), max_length=16, choices=PushState.choices, default=PushState.PUSHED)
    deadline_rule = models.CharField(_("期限规则"), max_length=60, blank=True)
    deadline_hours = models.PositiveIntegerField(_("时限（小时）"), null=True, blank=True)
    due_on = models.DateField(_("办理期限"), null=True, blank=True)
    due_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("签收人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False)
    claimed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    result = models.TextField(_("办理结果"), blank=True)
    return_reason = models.CharField(_("退回理由"), max_length=500, blank=True)
    reassigned_to = models.ForeignKey("self", verbose_name=_("转办至"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                      db_index=False)
    version = models.PositiveIntegerField(default=1)
    # Statistics select by push date (default: the last 30 days).
    created_at = models.DateTimeField(_("推送时间"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("推送事项")
        verbose_name_plural = _("推送事项")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "matter", "department", "trigger_key"], name="pushitem_once_per_trigger"),
        ]
        indexes = [
            # The department's inbox (state filter, due order) and its API list.
            models.Index(fields=["department", "state", "due_at"], name="pushitem_inbox"),
            # Jurisdiction scoping (division_code LIKE 'prefix%'); also serves equality.
            models.Index(fields=["division_code"], name="pushitem_division", opclasses=["varchar_pattern_ops"]),
            # ON DELETE SET NULL of the self reference: deleting items must not scan the table per
            # row. Partial: nothing to write for a new (never reassigned) item.
            models.Index(fields=["reassigned_to"], name="pushitem_reassigned", condition=models.Q(reassigned_to__isnull=False)),
        ]

    def __str__(self):
        return f"{self.matter} → {self.department}: {self.entity_id}"

    def get_absolute_url(self):
        return reverse("coordination:item_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_PUSH_STATES

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at is not None and (now or timezone.now()) > self.due_at

    @property
    def steps(self):
        """The stored steps of the item's timeline (``core.WorkflowStep``), oldest first."""
        return WorkflowStep.objects.filter(procedure=PUSH_PROCEDURE, object_id=self.pk).select_related("actor").order_by("at", "id")

    def creation_step(self) -> WorkflowStep:
        """The first entry of the timeline of an item the system pushed, from the item itself (not
        stored: an import chunk would write ~30,000 of them). It is what a stored one would say."""
        return WorkflowStep(procedure=PUSH_PROCEDURE, object_id=self.pk, division_code=self.division_code, entity_id=self.entity_id,
                            action=PushAction.CREATE, from_state="", to_state=PushState.PUSHED, actor=None, via="system",
                            department_id=self.department_id, comment=self.matched_on, at=self.created_at)

    def timeline(self) -> list[WorkflowStep]:
        """Every step, oldest first. Items a person created (reassignment, replay) and items pushed
        before the creation step was dropped have a stored ``create`` step; the others start with
        :meth:`creation_step`."""
        steps = list(self.steps)
        if not any(s.action == PushAction.CREATE for s in steps):
            steps.insert(0, self.creation_step())
        return steps

