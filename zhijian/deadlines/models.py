"""Holidays, versioned deadline rules, clocks, document number sequences and sweep leases."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped

from . import workdays
from .choices import ClockState, DocType, HolidaySource, Obligor, RuleKind, SweepStatus, Unit

_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class Holiday(TimeStamped):
    """A day that differs from the normal week: a statutory day off, or a make-up working day (调休).

    Overrides the ``chinese-calendar`` library date by date. ``year`` is the year of the State
    Council notice the day comes from (a late-December day may belong to the next year's notice);
    a year with at least one row counts as known even when the library does not know it.
    """

    date = models.DateField(_("日期"), unique=True)
    is_off_day = models.BooleanField(_("休息日"), help_text=_("勾选为放假；不勾选为调休上班日"))
    name = models.CharField(_("名称"), max_length=50, help_text=_("如 春节、国庆节"))
    year = models.PositiveSmallIntegerField(_("所属年度"), db_index=True, blank=True, help_text=_("对应国务院放假通知的年度；留空取日期所在年"))
    source = models.CharField(_("来源"), max_length=20, choices=HolidaySource.choices, default=HolidaySource.STATE_COUNCIL)
    note = models.CharField(_("备注"), max_length=200, blank=True, help_text=_("如 通知文号或网址"))

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"

    def save(self, *args, **kwargs):
        if not self.year:
            self.year = self.date.year
        super().save(*args, **kwargs)


class DeadlineRule(TimeStamped):
    """One legal time limit in one version. Services never hold a number: they call ``due()``.

    A rule code may have several versions with non-overlapping effective periods; the version in
    force on the start date of a matter applies to it (a complaint received before a new rule took
    effect follows the old one).
    """

    code = models.CharField(_("规则代码"), max_length=60, db_index=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=RuleKind.choices, default=RuleKind.PERIOD)
    amount = models.IntegerField(_("期限数"), default=0, help_text=_("负数表示自起算日向前倒数，如 听证七日前通知"))
    unit = models.CharField(_("单位"), max_length=10, choices=Unit.choices, default=Unit.WORKDAYS)
    roll_forward = models.BooleanField(
        _("末日顺延"), default=False, help_text=_("自然日期限的最后一日为节假日时，顺延至节假日后的第一个工作日")
    )
    window_start = models.CharField(_("窗口开始(月-日)"), max_length=5, blank=True, help_text=_("年度窗口期规则用，如 01-01"))
    window_end = models.CharField(_("窗口结束(月-日)"), max_length=5, blank=True, help_text=_("年度窗口期规则用，如 06-30"))
    obligor = models.CharField(
        _("义务方"), max_length=10, choices=Obligor.choices, default=Obligor.AUTHORITY,
        help_text=_("给当事人的期限（如整改期限）重新计算时只会延后，不会提前"),
    )
    remind_days = models.PositiveSmallIntegerField(
        _("提前提醒(工作日)"), null=True, blank=True, help_text=_("到期前几个工作日提醒；留空取系统设置 DEADLINE_REMIND_WORKDAYS")
    )
    legal_basis = models.CharField(_("法律依据"), max_length=300)
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True, help_text=_("含当日；留空表示仍然有效"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    confirmed = models.BooleanField(_("已确认"), default=True, help_text=_("未确认的规则计算时附带提示，需管理员核对法规原文后确认"))
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("期限规则")
        verbose_name_plural = _("期限规则")
        ordering = ["code", "version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="deadlines_rule_code_version")]

    def __str__(self):
        return _("%(name)s（第 %(version)s 版）") % {"name": self.name, "version": self.version}

    def clean(self):
        if self.effective_to and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": _("失效日期不能早于生效日期")})
        if self.kind == RuleKind.ANNUAL_WINDOW:
            for field in ("window_start", "window_end"):
                if not _MONTH_DAY.match(getattr(self, field) or ""):
                    raise ValidationError({field: _("请按 月-日 格式填写，如 06-30")})
        elif self.amount == 0:
            raise ValidationError({"amount": _("期限数不能为 0")})
        overlapping = DeadlineRule.objects.filter(code=self.code).exclude(pk=self.pk)
        for other in overlapping:
            other_to = other.effective_to
            if (other_to is None or other_to >= self.effective_from) and (self.effective_to is None or self.effective_to >= other.effective_from):
                raise ValidationError(_("与同一规则的其他版本有效期重叠：%(other)s") % {"other": str(other)})


@register_scoped
class Clock(TimeStamped):
    """One legal clock of one object (``clocks.py`` is its only writer).

    ``(procedure, object_id, name)`` names it: the procedure as in ``core.workflow`` (e.g.
    ``supervision.task``), the object's id, and the clock's name (``main``, or one per step).
    ``original_due_on`` is the due date of the rule as first computed; ``due_on`` moves with
    suspensions and extensions (``history`` lists them, in order, so the due date can be
    recomputed on another calendar). ``provisional``: a year on the way had no holiday schedule.
    """

    scope_field = "division_code"

    procedure = models.CharField(_("所属业务"), max_length=40)
    object_id = models.BigIntegerField(_("对象ID"))
    name = models.CharField(_("时钟名"), max_length=30, default="main")
    division_code = models.CharField(_("区划代码"), max_length=12, blank=True)
    entity_id = models.BigIntegerField(_("相关市场主体ID"), null=True, blank=True)
    rule_code = models.CharField(_("规则代码"), max_length=60)
    rule_version = models.PositiveIntegerField(_("规则版本"))
    amount = models.IntegerField(_("期限数"), null=True, blank=True, help_text=_("本计时的期限数（如 整改期限 15 个工作日）；留空取规则的期限数"))
    unit = models.CharField(_("单位"), max_length=10, choices=Unit.choices)
    obligor = models.CharField(_("义务方"), max_length=10, choices=Obligor.choices, default=Obligor.AUTHORITY)
    started_on = models.DateField(_("起算日"))
    due_on = models.DateField(_("到期日"))
    original_due_on = models.DateField(_("原到期日"))
    remind_on = models.DateField(_("提醒日"), null=True, blank=True)
    provisional = models.BooleanField(_("暂定"), default=False, help_text=_("计算时所涉年度的节假日安排尚未公布，按法定节日暂定"))
    state = models.CharField(_("状态"), max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    suspended_since = models.DateField(_("中止日"), null=True, blank=True)
    suspended_days = models.PositiveIntegerField(_("已中止天数"), default=0)
    history = models.JSONField(_("中止与延长记录"), default=list, blank=True)
    overdue = models.BooleanField(_("已逾期"), default=False)
    warned_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    overdue_marked_at = models.DateTimeField(_("逾期标记时间"), null=True, blank=True)
    escalation = models.PositiveSmallIntegerField(_("督办级别"), default=0)
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    stopped_on = models.DateField(_("停止日"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("期限计时")
        verbose_name_plural = _("期限计时")
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["procedure", "object_id", "name"], name="deadlines_clock_key")]
        # No index covers a column the sweep writes (warned_at, overdue, escalation …), so its
        # UPDATEs are heap-only (HOT) on PostgreSQL: the table is created with fillfactor 50
        # (migration 0003) to leave them room in the page.
        indexes = [
            models.Index(fields=["due_on"], name="clock_running_due", condition=models.Q(state="running")),
            models.Index(fields=["remind_on"], name="clock_remind", condition=models.Q(state="running")),
            models.Index(fields=["procedure", "state"], name="clock_provisional", condition=models.Q(provisional=True)),
            models.Index(fields=["division_code"], name="clock_division", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        mark = _("（暂定）") if self.provisional else ""
        return f"{self.procedure}#{self.object_id}/{self.name} {self.rule_code} → {self.due_on}{mark}"

    @property
    def is_open(self) -> bool:
        return self.state != ClockState.STOPPED

    def is_overdue(self, today=None) -> bool:
        """Overdue from the day after the due date, while running (a suspended clock is not counting)."""
        return self.state == ClockState.RUNNING and (today or timezone.localdate()) > self.due_on

    def days_left(self, today=None) -> int:
        """Working days (working-day rules) or natural days to the due date; negative once overdue."""
        today = today or timezone.localdate()
        if self.unit == Unit.WORKDAYS:
            return workdays.workdays_between(today, self.due_on)
        return (self.due_on - today).days

    def due_display(self) -> str:
        """The due date as shown and printed: ``2027-01-29（暂定）`` while provisional."""
        return f"{self.due_on.isoformat()}{_('（暂定）') if self.provisional else ''}"


class DocumentSequence(models.Model):
    """The last number given to one kind of document by one bureau in one year (gap-free)."""

    bureau = models.ForeignKey("org.Bureau", verbose_name=_("机构"), on_delete=models.PROTECT, related_name="document_sequences")
    doc_type = models.CharField(_("文书类型"), max_length=30, choices=DocType.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    last_number = models.PositiveIntegerField(_("已用最大号"), default=0)

    class Meta:
        verbose_name = _("文书编号序列")
        verbose_name_plural = _("文书编号序列")
        ordering = ["bureau", "doc_type", "year"]
        constraints = [models.UniqueConstraint(fields=["bureau", "doc_type", "year"], name="deadlines_sequence_unique")]

    def __str__(self):
        return f"{self.bureau} {self.get_doc_type_display()} {self.year}: {self.last_number}"


class SweepLease(models.Model):
    """The lease (and run record) of one periodic sweep; taken by a conditional UPDATE.

    A scheduler may run a sweep only while it holds the row: ``holder`` set and ``expires_at`` in
    the future. A crashed holder's lease simply expires and another scheduler takes over.
    """

    name = models.CharField(_("任务名"), max_length=100, unique=True)
    holder = models.CharField(_("持有者"), max_length=200, blank=True)
    expires_at = models.DateTimeField(_("租约到期"), null=True, blank=True)
    next_run_at = models.DateTimeField(_("下次运行"), null=True, blank=True)
    last_started_at = models.DateTimeField(_("上次开始"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("上次结束"), null=True, blank=True)
    last_status = models.CharField(_("上次结果"), max_length=10, choices=SweepStatus.choices, blank=True, default=SweepStatus.NEVER)
    last_message = models.TextField(_("上次输出"), blank=True)
    run_count = models.PositiveIntegerField(_("运行次数"), default=0)

    class Meta:
        verbose_name = _("定时任务租约")
        verbose_name_plural = _("定时任务租约")
        ordering = ["name"]

    def __str__(self):
        return self.name
