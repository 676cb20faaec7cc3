"""One clue intake (线索) for every business line.

A village's record of another department's matter (C4), a grid officer's phone report of an
unlicensed shop, a case clue found in an inspection, later a complaint's violation clue: each is a
``Clue``, recorded through :func:`zhijian.clues.intake.record` and moved by one procedure
(:data:`zhijian.clues.workflow.CLUE`). What the clue came from is ``source`` and, when another
business line raised it, ``source_ref`` (``grid:case:<id>``, ``inspection:<id>`` …): that line
finds its clue again by it, and hears the outcome through the ``clue.*`` events.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped, WorkflowStep
from zhijian.core.scoping import ScopedManager, register_scoped

from .choices import PROCEDURE, ClueKind, ClueSource, ClueState


@register_scoped
class Clue(TimeStamped):
    """A clue, scoped by the division where it was found: the recording side sees it by division,
    an assigned department by its jurisdiction (and only its own clues, see ``queries.clues``)."""

    scope_field = "division_code"

    number = models.CharField(_("线索编号"), max_length=40, blank=True, db_index=True)
    source = models.CharField(_("线索来源"), max_length=16, choices=ClueSource.choices, default=ClueSource.VILLAGE)
    # What raised the clue when another business line did; unique per source (an intake replay
    # finds the clue it made).
    source_ref = models.CharField(_("来源标识"), max_length=64, blank=True, db_index=True)
    kind = models.CharField(_("线索类型"), max_length=16, choices=ClueKind.choices, blank=True)
    text = models.TextField(_("线索内容"), blank=True)
    place_name = models.CharField(_("场所名称"), max_length=200, blank=True)
    place = models.CharField(_("地点"), max_length=300, blank=True)
    industry_code = models.CharField(_("疑似行业代码"), max_length=5, blank=True)
    entity = models.ForeignKey("entities.MarketEntity", verbose_name=_("市场主体"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="clues")
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    grid = models.ForeignKey("geo.Grid", verbose_name=_("网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lng = models.FloatField(_("经度（GCJ-02）"), null=True, blank=True)
    lat = models.FloatField(_("纬度（GCJ-02）"), null=True, blank=True)
    raw_lng = models.FloatField(_("原始经度（WGS-84）"), null=True, blank=True)
    raw_lat = models.FloatField(_("原始纬度（WGS-84）"), null=True, blank=True)
    accuracy_m = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    bureau = models.ForeignKey("org.Bureau", verbose_name=_("责任机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    found_on = models.DateField(_("发现日期"), default=timezone.localdate)
    # The supervision matter (``coordination.SupervisionMatter.code``) when the recorder named one.
    matter_code = models.CharField(_("监管事项"), max_length=40, blank=True)
    suggested = models.JSONField(_("建议部门"), default=list, blank=True)
    department = models.ForeignKey("org.Department", verbose_name=_("承办部门"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="clues")
    state = models.CharField(_("状态"), max_length=16, choices=ClueState.choices, default=ClueState.RECORDED, db_index=True)
    assigned_at = models.DateTimeField(_("移交时间"), null=True, blank=True)
    report = models.TextField(_("部门反馈"), blank=True)
    reported_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    # Where the clue went on (``grid:case:<id>``; later ``case:<id>``).
    handed_to = models.CharField(_("转交去向"), max_length=64, blank=True)
    decision = models.TextField(_("核查结论"), blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    client_key = models.CharField(_("客户端编号"), max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("线索")
        verbose_name_plural = _("线索")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], condition=~models.Q(source_ref=""), name="clue_once_per_source_ref"),
        ]

    def __str__(self):
        return self.number or f"#{self.pk}"

    @property
    def steps(self):
        """The clue's timeline (``core.WorkflowStep``), oldest first."""
        return WorkflowStep.objects.filter(procedure=PROCEDURE, object_id=self.pk).select_related("actor").order_by("at", "id")

    def photos(self) -> list:
        """The stored uploads attached to the clue (photos from the scene), in order."""
        return [a.upload for a in self.attachments.select_related("upload").order_by("id")]


class ClueAttachment(models.Model):
    """A photo or file of the clue (``security.StoredUpload``)."""

    clue = models.ForeignKey(Clue, verbose_name=_("线索"), on_delete=models.CASCADE, related_name="attachments")
    upload = models.ForeignKey("security.StoredUpload", verbose_name=_("文件"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("线索附件")
        verbose_name_plural = _("线索附件")

    def __str__(self):
        return str(self.upload_id)
