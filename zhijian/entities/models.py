"""Market entities (市场主体), keyed by the unified social credit code."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped

from .choices import ChangeKind, EntityStatus, EntityType


@register_scoped
class MarketEntity(TimeStamped):
    scope_field = "division_code"

    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=200, db_index=True)
    # Space-separated character bigrams of the name: the full-text index of name search.
    name_grams = models.TextField(editable=False, default="")
    entity_type = models.CharField(_("主体类型"), max_length=16, choices=EntityType.choices)
    legal_type = models.CharField(_("企业类型（登记）"), max_length=100, blank=True)
    legal_rep = models.CharField(_("法定代表人/经营者"), max_length=100, blank=True)
    capital = models.DecimalField(_("注册资本（万元）"), max_digits=18, decimal_places=4, null=True, blank=True)
    capital_currency = models.CharField(_("币种"), max_length=10, blank=True, default="CNY")
    established_on = models.DateField(_("成立日期"), null=True, blank=True)
    approved_on = models.DateField(_("核准日期"), null=True, blank=True)
    status = models.CharField(_("登记状态"), max_length=16, choices=EntityStatus.choices, default=EntityStatus.ACTIVE, db_index=True)
    address = models.CharField(_("住所/经营场所"), max_length=300, blank=True)
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    grid = models.ForeignKey("geo.Grid", verbose_name=_("网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="entities")
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    industry_code = models.CharField(_("行业代码"), max_length=5, blank=True, db_index=True)
    business_scope = models.TextField(_("经营范围"), blank=True)
    warning = models.CharField(_("校验提示"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("市场主体")
        verbose_name_plural = _("市场主体")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["division_code", "status"], name="entity_div_status"),
            models.Index(fields=["grid", "status"], name="entity_grid_status"),
            # An industry filter inside a jurisdiction, counted from the index alone (LIKE prefixes on both).
            models.Index(fields=["industry_code", "division_code"], name="entity_industry_div",
                         opclasses=["varchar_pattern_ops", "varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("entities:detail", args=[self.credit_code])


@register_scoped
class EntityChange(models.Model):
    """History of one entity: what changed, by whom, when."""

    scope_field = "entity__division_code"

    entity = models.ForeignKey(MarketEntity, verbose_name=_("主体"), on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(_("类型"), max_length=16, choices=ChangeKind.choices)
    changed = models.JSONField(_("变更内容"), default=dict)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("主体变更记录")
        verbose_name_plural = _("主体变更记录")
        ordering = ["-at", "-id"]


class CreditCodeException(models.Model):
    """Codes an administrator accepts although they fail the check digit (early pilot codes)."""

    code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    reason = models.CharField(_("原因"), max_length=200)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("信用代码校验例外")
        verbose_name_plural = _("信用代码校验例外")

    def __str__(self):
        return self.code


class Industry(models.Model):
    """GB/T 4754-2017 国民经济行业分类."""

    code = models.CharField(_("代码"), max_length=5, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    class Meta:
        verbose_name = _("国民经济行业")
        verbose_name_plural = _("国民经济行业")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


@register_scoped
class ImportJob(TimeStamped):
    """One bulk import: its progress, summary and row-level error report."""

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("完成")
        FAILED = "failed", _("失败")

    scope_field = "bureau__division_code"

    bureau = models.ForeignKey("org.Bureau", null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    filename = models.CharField(_("文件名"), max_length=200)
    stored_path = models.CharField(max_length=400, blank=True)
    dry_run = models.BooleanField(_("仅校验"), default=False)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)
    message = models.TextField(_("说明"), blank=True)
    errors = models.JSONField(_("错误明细"), default=list)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-id"]

    def summary(self) -> str:
        return f"imported={self.imported} updated={self.updated} rejected={self.rejected} warned={self.warned}"


class EntityTally(models.Model):
    """How many entities each (division, status, type) holds: the registry's exact totals at
    province scale without a ``COUNT(*)`` per page. Kept by every registry write path in the same
    transaction (``zhijian.entities.tally``); ``zhijian recount-entities`` rebuilds it."""

    division_code = models.CharField(_("区划代码"), max_length=12)
    status = models.CharField(_("登记状态"), max_length=16, choices=EntityStatus.choices)
    entity_type = models.CharField(_("主体类型"), max_length=16, choices=EntityType.choices)
    n = models.BigIntegerField(_("户数"), default=0)

    class Meta:
        verbose_name = _("市场主体计数")
        verbose_name_plural = _("市场主体计数")
        constraints = [models.UniqueConstraint(fields=["division_code", "status", "entity_type"], name="entitytally_key")]
        indexes = [models.Index(fields=["division_code"], name="entitytally_division", opclasses=["varchar_pattern_ops"])]

    def __str__(self):
        return f"{self.division_code} {self.status} {self.entity_type}: {self.n}"
