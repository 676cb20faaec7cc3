"""S1 supervision-matter list (laws, business lines, versioned checklists) and the S3 on-site
inspection (results, attachments, signatures, sealed record, documents, clues)."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped

from .choices import AttachmentKind, CheckResult, Conclusion, InspectionState, SignerRole


# --- laws ------------------------------------------------------------------------------------------
class Law(models.Model):
    """One version of a law, regulation or rule, loaded from data/laws/<name>(<date>).md."""

    name = models.CharField(_("简称"), max_length=100, help_text=_("不含“中华人民共和国”，如 食品安全法"))
    title = models.CharField(_("全称"), max_length=150)
    version_date = models.DateField(_("版本日期"))
    file_name = models.CharField(_("来源文件"), max_length=200)
    article_count = models.PositiveIntegerField(_("条文数"), default=0)

    class Meta:
        verbose_name = _("法律法规")
        verbose_name_plural = _("法律法规")
        ordering = ["name", "-version_date"]
        constraints = [models.UniqueConstraint(fields=["name", "version_date"], name="law_name_version")]

    def __str__(self):
        return f"{self.title}（{self.version_date:%Y-%m-%d}）"

    def get_absolute_url(self):
        return reverse("inspections:law", args=[self.pk])


class LawArticle(models.Model):
    """One article (条) of a law version; ``number`` is the integer of 第N条."""

    law = models.ForeignKey(Law, verbose_name=_("法律法规"), on_delete=models.CASCADE, related_name="articles")
    label = models.CharField(_("条号"), max_length=20, help_text=_("如 第三十三条"))
    number = models.PositiveIntegerField(_("序号"))
    suffix = models.PositiveSmallIntegerField(_("之几"), default=0)
    chapter = models.CharField(_("章"), max_length=100, blank=True)
    text = models.TextField(_("条文"))

    class Meta:
        verbose_name = _("法条")
        verbose_name_plural = _("法条")
        ordering = ["law", "number", "suffix"]
        constraints = [models.UniqueConstraint(fields=["law", "number", "suffix"], name="lawarticle_unique")]

    def __str__(self):
        return f"{self.law.name}{self.label}"

    def get_absolute_url(self):
        return f"{self.law.get_absolute_url()}#art-{self.number}" + (f"-{self.suffix}" if self.suffix else "")


# --- checklists ------------------------------------------------------------------------------------
class BusinessLine(models.Model):
    """A business line (业务条线) with its own checklist, e.g. food_sales 食品销售."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    order = models.PositiveSmallIntegerField(_("排序"), default=100)
    # The entities of the line: GB/T 4754-2017 codes (a class like 62 covers its groups and
    # classes). Daily inspections and draws of the line pick only these entities; empty: all.
    industry_codes = models.CharField(_("行业代码"), max_length=500, blank=True,
                                      help_text=_("GB/T 4754-2017 行业代码，逗号分隔，如 5221,5222,62；留空为不限行业"))

    class Meta:
        verbose_name = _("业务条线")
        verbose_name_plural = _("业务条线")
        ordering = ["order", "code"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("inspections:checklist_line", args=[self.code])

    def industry_list(self) -> list[str]:
        return [c for c in (p.strip() for p in self.industry_codes.replace("，", ",").replace("、", ",").split(",")) if c]


class ChecklistVersion(models.Model):
    """A version of the whole checklist; inspections keep the version they used."""

    number = models.PositiveIntegerField(_("版本号"), unique=True)
    effective_on = models.DateField(_("生效日期"))
    published = models.BooleanField(_("已发布"), default=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    based_on = models.ForeignKey("self", verbose_name=_("基于版本"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("检查清单版本")
        verbose_name_plural = _("检查清单版本")
        ordering = ["-number"]

    def __str__(self):
        return _("第%(n)s版") % {"n": self.number}


class CheckItem(models.Model):
    """One plain-language check item of one business line in one checklist version."""

    version = models.ForeignKey(ChecklistVersion, verbose_name=_("清单版本"), on_delete=models.PROTECT, related_name="items")
    business_line = models.ForeignKey(BusinessLine, verbose_name=_("业务条线"), on_delete=models.PROTECT, related_name="items")
    part = models.CharField(_("分表"), max_length=40, blank=True, help_text=_("如药品的 retail_pharmacy / medical_institution"))
    section = models.CharField(_("检查项目"), max_length=100)
    section_note = models.CharField(_("项目说明"), max_length=300, blank=True)
    number = models.CharField(_("序号"), max_length=10)
    text = models.TextField(_("检查内容"))
    key_item = models.BooleanField(_("重点项"), default=False)
    basis = models.CharField(_("法律依据"), max_length=300, blank=True)
    articles = models.ManyToManyField(LawArticle, verbose_name=_("依据条文"), blank=True, related_name="check_items")
    order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("检查事项")
        verbose_name_plural = _("检查事项")
        ordering = ["version", "business_line__order", "part", "order"]
        constraints = [models.UniqueConstraint(fields=["version", "business_line", "part", "number"], name="checkitem_unique")]

    def __str__(self):
        return f"{self.number} {self.text[:30]}"


# --- inspections -----------------------------------------------------------------------------------
def _token() -> str:
    return secrets.token_urlsafe(18)


@register_scoped
class Inspection(TimeStamped):
    """One on-site visit (121: several tasks of several business lines) by two or more officers."""

    scope_field = "division_code"

    client_key = models.CharField(_("客户端编号"), max_length=64, unique=True)
    entity = models.ForeignKey("entities.MarketEntity", verbose_name=_("市场主体"), on_delete=models.PROTECT, related_name="inspections")
    # The entity as it was at the visit: the sealed record must not change when the registry does.
    entity_name = models.CharField(_("主体名称（检查时）"), max_length=200)
    entity_address = models.CharField(_("经营场所（检查时）"), max_length=300, blank=True)
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("检查机构"), on_delete=models.PROTECT, related_name="inspections")
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    tasks = models.ManyToManyField("supervision.Task", verbose_name=_("监管任务"), blank=True, related_name="inspections")
    checklist_version = models.ForeignKey(ChecklistVersion, verbose_name=_("清单版本"), on_delete=models.PROTECT, related_name="inspections")
    officers = models.ManyToManyField(settings.AUTH_USER_MODEL, through="InspectionOfficer", verbose_name=_("检查人员"), related_name="inspections")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("检查开始"))
    finished_at = models.DateTimeField(_("检查结束"))
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    conclusion = models.CharField(_("检查结论"), max_length=16, choices=Conclusion.choices)
    correction_days = models.PositiveSmallIntegerField(_("整改期限（工作日）"), null=True, blank=True)
    correction_due = models.DateField(_("整改截止日"), null=True, blank=True)
    opinion = models.TextField(_("检查意见"), blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=InspectionState.choices, default=InspectionState.DRAFT, db_index=True)
    number = models.CharField(_("笔录编号"), max_length=60, blank=True)
    correction_number = models.CharField(_("责令改正通知书编号"), max_length=60, blank=True)
    public_token = models.CharField(_("公示令牌"), max_length=40, unique=True, default=_token)
    sealed_at = models.DateTimeField(_("签章时间"), null=True, blank=True)
    seal_kid = models.CharField(_("签章密钥"), max_length=64, blank=True)
    seal_sig = models.CharField(_("签章"), max_length=200, blank=True)
    seal_digest = models.CharField(_("签章摘要"), max_length=64, blank=True)
    seal_trace = models.ForeignKey("core.TraceEntry", verbose_name=_("签章留痕"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = _("现场检查")
        verbose_name_plural = _("现场检查")
        ordering = ["-id"]

    def __str__(self):
        return self.number or f"{self.entity} {self.started_at:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("inspections:detail", args=[self.pk])

    def get_public_url(self):
        return reverse("inspections_public:result", args=[self.public_token])


class InspectionOfficer(models.Model):
    """An officer on the visit, with the 执法证号 held at the time."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="officer_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("执法人员"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("姓名"), max_length=50)
    cert_no = models.CharField(_("执法证号"), max_length=30)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("检查人员")
        verbose_name_plural = _("检查人员")
        ordering = ["inspection", "order"]
        constraints = [models.UniqueConstraint(fields=["inspection", "user"], name="inspection_officer_unique")]


class ItemResult(models.Model):
    """The result of one check item in one inspection."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(CheckItem, verbose_name=_("检查事项"), on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("检查结果"), max_length=10, choices=CheckResult.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("检查结果")
        verbose_name_plural = _("检查结果")
        ordering = ["inspection", "item__business_line__order", "item__part", "item__order"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="itemresult_unique")]


class Attachment(models.Model):
    """Evidence taken on site: a photo, voice or video (a checked upload) or a text note."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="attachments")
    client_id = models.CharField(_("客户端编号"), max_length=64, blank=True)
    kind = models.CharField(_("类型"), max_length=10, choices=AttachmentKind.choices)
    name = models.CharField(_("名称"), max_length=200, blank=True)
    upload = models.ForeignKey("security.StoredUpload", verbose_name=_("文件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("文字"), blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("检查附件")
        verbose_name_plural = _("检查附件")
        ordering = ["inspection", "id"]


class Signature(models.Model):
    """A signature on the record: an officer's, or the representative's (or their refusal)."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="signatures")
    role = models.CharField(_("签名人身份"), max_length=16, choices=SignerRole.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("执法人员"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    image = models.ForeignKey("security.StoredUpload", verbose_name=_("签名图片"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    signed_at = models.DateTimeField(_("签名时间"))
    refused = models.BooleanField(_("拒绝签名"), default=False)
    refusal_reason = models.CharField(_("拒签原因"), max_length=300, blank=True)
    witness = models.CharField(_("见证人"), max_length=50, blank=True)
    witness_attachment = models.ForeignKey(Attachment, verbose_name=_("见证音视频"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("签名")
        verbose_name_plural = _("签名")
        ordering = ["inspection", "id"]


class InspectionDocument(models.Model):
    """A generated, numbered PDF document of an inspection (现场检查笔录, 责令改正通知书)."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("文书类型"), max_length=32)
    number = models.CharField(_("文号"), max_length=60)
    upload = models.ForeignKey("security.StoredUpload", verbose_name=_("文件"), on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("检查文书")
        verbose_name_plural = _("检查文书")
        constraints = [models.UniqueConstraint(fields=["inspection", "doc_type"], name="inspectiondoc_unique")]
