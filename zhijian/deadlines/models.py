"""Holidays, versioned deadline rules, document number sequences and sweep leases."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped

from .choices import DocType, HolidaySource, RuleKind, SweepStatus, Unit

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
        return f"{self.code} v{self.version} {self.name}"

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
