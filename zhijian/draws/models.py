"""Double-random, one-public (双随机一公开): plans, committed draws, drawn items, joint inspections."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped

from .choices import DrawState, InspectionResult, RecusalKind, RiskClass


def _active():
    return ["active"]


@register_scoped
class DrawPlan(TimeStamped):
    """What to draw: the entity pool (as filters), ratios per credit-risk class, the inspector pool."""

    scope_field = "division_code"

    name = models.CharField(_("名称"), max_length=200)
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("组织机构"), on_delete=models.PROTECT, related_name="draw_plans")
    departments = models.ManyToManyField("org.Department", verbose_name=_("联合部门"), blank=True, related_name="draw_plans")
    period = models.CharField(_("抽查期间"), max_length=20, help_text=_("如 2026 或 2026Q2；同一期间同一主体的抽查合并为联合检查"))
    business_lines = models.JSONField(_("业务条线"), default=list, blank=True)
    check_items = models.JSONField(_("检查事项"), default=list, blank=True)
    # Entity pool filters.
    division_code = models.CharField(_("区划代码前缀"), max_length=12, db_index=True)
    industry_prefixes = models.JSONField(_("行业代码前缀"), default=list, blank=True)
    entity_types = models.JSONField(_("主体类型"), default=list, blank=True)
    statuses = models.JSONField(_("登记状态"), default=_active, blank=True)
    # Inspector pool: enforcement officers with a certificate number in these units.
    inspector_units = models.ManyToManyField("org.Bureau", verbose_name=_("检查人员所在单位"), related_name="+")
    inspectors_per_entity = models.PositiveSmallIntegerField(_("每户检查人员数"), default=2)
    publicity_rule = models.CharField(_("结果公示期限规则"), max_length=60, default="inspection.result_publicity")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = _("抽查计划")
        verbose_name_plural = _("抽查计划")
        ordering = ["-id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("draws:plan_detail", args=[self.pk])


class RiskClassRatio(models.Model):
    """The percentage of a credit-risk class's entities to draw."""

    plan = models.ForeignKey(DrawPlan, on_delete=models.CASCADE, related_name="ratios")
    risk_class = models.CharField(_("风险分类"), max_length=1, choices=RiskClass.choices)
    percent = models.DecimalField(_("抽查比例（%）"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("分类抽查比例")
        verbose_name_plural = _("分类抽查比例")
        constraints = [models.UniqueConstraint(fields=["plan", "risk_class"], name="draw_ratio_unique")]
        ordering = ["risk_class"]


class EntityRiskClass(models.Model):
    """An entity's current credit-risk class (信用风险分类), written by the credit work.

    Entities without a row are class B. One row per entity: a new assessment replaces the old one.
    """

    entity = models.OneToOneField("entities.MarketEntity", verbose_name=_("市场主体"), primary_key=True, on_delete=models.CASCADE,
                                  related_name="credit_risk")
    risk_class = models.CharField(_("风险分类"), max_length=1, choices=RiskClass.choices)
    assessed_on = models.DateField(_("评定日期"))
    source = models.CharField(_("来源"), max_length=100, blank=True, help_text=_("评定依据或数据来源"))

    class Meta:
        verbose_name = _("信用风险分类")
        verbose_name_plural = _("信用风险分类")

    def __str__(self):
        return f"{self.entity_id}: {self.risk_class}"


class RecusalRule(models.Model):
    """One recusal (回避) rule of a plan."""

    plan = models.ForeignKey(DrawPlan, on_delete=models.CASCADE, related_name="recusal_rules")
    kind = models.CharField(_("回避类型"), max_length=20, choices=RecusalKind.choices)
    level = models.PositiveSmallIntegerField(_("区划比对位数"), default=9, help_text=_("住址区划比对的前缀位数：6 区县、9 乡镇街道、12 村居"))

    class Meta:
        verbose_name = _("回避规则")
        verbose_name_plural = _("回避规则")
        constraints = [models.UniqueConstraint(fields=["plan", "kind"], name="draw_recusal_unique")]


class DeclaredRelation(models.Model):
    """An inspector's declared interest in an entity (亲属、曾任职等): always recused when the rule is on."""

    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("检查人员"), on_delete=models.CASCADE, related_name="declared_relations")
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    relation = models.CharField(_("关系说明"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("利害关系申报")
        verbose_name_plural = _("利害关系申报")
        constraints = [models.UniqueConstraint(fields=["inspector", "credit_code"], name="draw_relation_unique")]


class PastInspection(models.Model):
    """Who inspected an entity, until the inspections app records it (the last-inspector rule)."""

    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("检查人员"), on_delete=models.CASCADE, related_name="+")
    inspected_on = models.DateField(_("检查日期"))

    class Meta:
        verbose_name = _("历史检查")
        verbose_name_plural = _("历史检查")


@register_scoped
class Draw(TimeStamped):
    """One draw of a plan: committed (seed hash and pool frozen), then executed (seed revealed)."""

    scope_field = "plan__division_code"

    plan = models.ForeignKey(DrawPlan, verbose_name=_("抽查计划"), on_delete=models.PROTECT, related_name="draws")
    public_id = models.CharField(_("公示编号"), max_length=32, unique=True)
    state = models.CharField(_("状态"), max_length=16, choices=DrawState.choices, default=DrawState.COMMITTED)
    # Secret until execution: never shown or serialised while the draw is committed.
    seed_hex = models.CharField(max_length=64, editable=False)
    seed_sha256 = models.CharField(_("随机种子承诺值 SHA-256"), max_length=64)
    params = models.JSONField(_("冻结参数"), default=dict)
    files = models.JSONField(_("名录文件及 SHA-256"), default=dict)
    recusal_inputs = models.JSONField(default=dict, editable=False)
    recusal_sha256 = models.CharField(_("回避数据 SHA-256"), max_length=64)
    pool_size = models.PositiveIntegerField(_("主体名录数量"), default=0)
    selected_count = models.PositiveIntegerField(_("抽中主体数量"), default=0)
    committed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    executed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    executed_at = models.DateTimeField(_("抽取时间"), null=True, blank=True)
    # The workflow kernel's compare-and-swap counter (``procedure.DRAW``).
    version = models.PositiveIntegerField(default=1, editable=False)
    # A void (作废): only by the approving role, always with a reason; public on the draw's page.
    void_reason = models.CharField(_("作废理由"), max_length=500, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("作废人"), null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    # The plan's voided draw this one replaces (the latest one voided before this commit).
    predecessor = models.ForeignKey("self", verbose_name=_("前一次抽取"), null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="successors")

    objects = ScopedManager()

    class Meta:
        verbose_name = _("抽查批次")
        verbose_name_plural = _("抽查批次")
        ordering = ["-id"]
        constraints = [
            # One live draw per plan: committing again is refused (services.draw_commit locks the
            # plan first; this index is what holds when two commits race on different servers).
            models.UniqueConstraint(fields=["plan"], condition=~models.Q(state=DrawState.VOIDED), name="draw_one_live_per_plan"),
        ]

    def __str__(self):
        return f"{self.plan.name} #{self.public_id[:8]}"

    def get_absolute_url(self):
        return reverse("draws:draw_detail", args=[self.pk])

    @property
    def revealed_seed(self) -> str:
        """The seed once it can no longer choose anything: after the execution, or when the draw
        was voided (a voided commitment's seed is published, so anyone can see what it would have
        drawn: voiding cannot hide a result someone disliked)."""
        return self.seed_hex if self.state in (DrawState.EXECUTED, DrawState.VOIDED) else ""

    @property
    def is_voided(self) -> bool:
        return self.state == DrawState.VOIDED


@register_scoped
class JointInspection(TimeStamped):
    """All drawn items of one entity in one period: one visit, all business lines (进一次门查多项事)."""

    scope_field = "division_code"

    period = models.CharField(_("抽查期间"), max_length=20)
    entity = models.ForeignKey("entities.MarketEntity", verbose_name=_("市场主体"), on_delete=models.PROTECT, related_name="+")
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18)
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    business_lines = models.JSONField(_("业务条线"), default=list)
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("承办机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    inspectors = models.JSONField(_("检查人员"), default=list)
    task = models.ForeignKey("supervision.Task", verbose_name=_("监管任务"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = _("联合检查")
        verbose_name_plural = _("联合检查")
        ordering = ["-id"]
        indexes = [models.Index(fields=["entity", "period"], name="draw_joint_entity_period")]

    def __str__(self):
        return f"{self.credit_code} {self.period}"


@register_scoped
class DrawItem(models.Model):
    """One drawn entity with its inspectors, and later its published result."""

    scope_field = "division_code"

    # Indexed by the (draw, credit_code) constraint; a large draw stores a few hundred thousand
    # items at once, so every index here is one the queries need. No database constraint: checking
    # it once per item at commit cost more than a second on a large draw; items are written only
    # by the execution, which holds its draw locked, and Django still cascades a deletion.
    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="items", db_index=False, db_constraint=False)
    # Resolved from the credit code at execution. No database constraint: checking one per item
    # (and key-share locking every drawn entity row) dominated storing a large draw; PROTECT still
    # applies to deletions through Django, and the item keeps its own credit and division codes.
    # No index: nothing reads items by entity (no reverse accessor); a random insert into an index
    # of every item of every past draw cost more than anything else in storing a draw.
    entity = models.ForeignKey("entities.MarketEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               db_constraint=False, db_index=False)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18)
    division_code = models.CharField(_("区划代码"), max_length=12)
    stratum = models.CharField(_("风险分类"), max_length=1, choices=RiskClass.choices)
    rank = models.PositiveIntegerField(_("抽中顺位"))
    cert_nos = models.JSONField(_("检查人员执法证号"), default=list)
    inspector_ids = models.JSONField(default=list)
    excluded = models.JSONField(_("回避人员"), default=list)
    joint = models.ForeignKey(JointInspection, null=True, blank=True, on_delete=models.SET_NULL, related_name="items", db_index=False)
    result = models.CharField(_("检查结果"), max_length=20, choices=InspectionResult.choices, blank=True)
    result_note = models.CharField(_("结果说明"), max_length=500, blank=True)
    inspected_on = models.DateField(_("检查日期"), null=True, blank=True)
    # A copy of the result-publicity clock (``deadlines.clocks``, procedure ``draws.drawitem``) for
    # lists and the public page; the clock owns it (``handlers`` follows a recomputation).
    publicity_due = models.DateField(_("公示期限"), null=True, blank=True)
    # A database default too: the execution writes items by COPY without naming this column.
    publicity_provisional = models.BooleanField(_("公示期限暂定"), default=False, db_default=False,
                                                help_text=_("期限所跨年度的节假日安排尚未公布，按法定节日和周末暂定"))
    published_at = models.DateTimeField(_("公示时间"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("抽中主体")
        verbose_name_plural = _("抽中主体")
        ordering = ["draw", "stratum", "rank"]
        constraints = [models.UniqueConstraint(fields=["draw", "credit_code"], name="draw_item_unique")]
        indexes = [
            # A draw's items as one jurisdiction sees them (LIKE 'prefix%'; the pattern class also
            # serves equality). Led by the draw, so a new draw's items go in at the index's end.
            models.Index(fields=["draw", "division_code"], name="draw_item_draw_division", opclasses=["int8_ops", "varchar_pattern_ops"]),
            # Items join a joint inspection only after the merge; unmerged (NULL) rows stay out of it.
            models.Index(fields=["joint"], name="draw_item_joint", condition=models.Q(joint__isnull=False)),
            # Recusal of the last inspector reads the inspected items only (sources.last_inspectors):
            # a few among the millions of items years of draws leave.
            models.Index(fields=["credit_code", "inspected_on"], name="draw_item_inspected", condition=models.Q(inspected_on__isnull=False)),
        ]

    def __str__(self):
        return self.credit_code

    def is_overdue(self, today=None) -> bool:
        return bool(self.publicity_due and not self.published_at and (today or timezone.localdate()) > self.publicity_due)
