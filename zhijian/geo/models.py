"""Administrative divisions (统计用区划代码) and supervision grids (一张网图)."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, register_scoped

from .geometry import bbox_of


class DivisionLevel(models.IntegerChoices):
    PROVINCE = 1, _("省")
    CITY = 2, _("市")
    COUNTY = 3, _("区县")
    TOWN = 4, _("乡镇街道")
    VILLAGE = 5, _("村社区")


# Code lengths per level, as the statistical codes are published (2+2+2+3+3).
LEVEL_CODE_LENGTH = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


@register_scoped
class Division(models.Model):
    """One statistical division code. Codes keep their published length (2/4/6/9/12)."""

    scope_field = "code"

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=DivisionLevel.choices, db_index=True)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.CASCADE, related_name="children", db_constraint=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.code}）"


class GridLevel(models.IntegerChoices):
    TOWN = 1, _("一级网格（镇街）")
    VILLAGE = 2, _("二级网格（村社区）")


@register_scoped
class Grid(TimeStamped):
    """A supervision grid: level 1 covers a town/street, level 2 a village/community."""

    scope_field = "division_code"

    code = models.CharField(_("网格编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("级别"), choices=GridLevel.choices)
    parent = models.ForeignKey("self", verbose_name=_("上级网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    geometry = models.JSONField(_("边界 GeoJSON"), null=True, blank=True, help_text=_("GCJ-02 坐标的 Polygon 或 MultiPolygon"))
    entity_count = models.PositiveIntegerField(_("主体数"), default=0)
    # Bounding box of ``geometry`` (GCJ-02), kept by ``save()`` and the services: lets the map and
    # re-placement select grids and entities by area without a spatial index.
    min_lng = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lng = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["division_code", "code"]
        indexes = [models.Index(fields=["level", "min_lng", "max_lng"], name="grid_level_bbox")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.set_bbox()
        super().save(*args, **kwargs)
        # Any saved grid may move entities: processes rebuild their placement index.
        GridRevision.bump()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        GridRevision.bump()
        return result

    def get_absolute_url(self):
        return reverse("geo:grid_detail", args=[self.pk])

    def set_bbox(self):
        box = bbox_of(self.geometry) if self.geometry else None
        self.min_lng, self.min_lat, self.max_lng, self.max_lat = box or (None, None, None, None)


GRID_WRITE_FIELDS = ("name", "division_code", "geometry", "parent", "min_lng", "min_lat", "max_lng", "max_lat", "updated_at")


def update_grids(grids, fields=GRID_WRITE_FIELDS) -> None:
    """Write changed grids one UPDATE each (``bulk_update``'s CASE over large JSON is far slower).
    The caller bumps ``GridRevision`` once afterwards."""
    for grid in grids:
        values = {f if f != "parent" else "parent_id": getattr(grid, f if f != "parent" else "parent_id") for f in fields}
        Grid.objects.filter(pk=grid.pk).update(**values)


class GridRevision(models.Model):
    """A single stamp replaced whenever grids change; each process compares it with the stamp its
    in-memory placement index was built from (``zhijian.geo.placement``).

    The stamp is random, not a counter: a rolled-back change restores the old stamp, and a later
    change must still never reproduce the stamp of an index built from the rolled-back grids.
    """

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("网格版本")
        verbose_name_plural = _("网格版本")

    def __str__(self):
        return str(self.value)

    @classmethod
    def current(cls) -> int:
        return cls.objects.filter(pk=1).values_list("value", flat=True).first() or 0

    @classmethod
    def bump(cls) -> None:
        stamp = secrets.randbits(62) + 1
        if not cls.objects.filter(pk=1).update(value=stamp):
            cls.objects.update_or_create(pk=1, defaults={"value": stamp})


class GridRole(models.TextChoices):
    SUPERVISOR = "supervisor", _("网格监管员")
    ASSISTANT = "assistant", _("协管员")
    INFORMANT = "informant", _("信息员")


@register_scoped
class GridStaff(models.Model):
    scope_field = "grid__division_code"

    grid = models.ForeignKey(Grid, verbose_name=_("网格"), on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="grid_posts")
    role = models.CharField(_("职责"), max_length=16, choices=GridRole.choices)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("网格人员")
        verbose_name_plural = _("网格人员")
        constraints = [models.UniqueConstraint(fields=["grid", "user", "role"], name="grid_staff_unique")]

    def __str__(self):
        return f"{self.grid} · {self.get_role_display()} · {self.user}"
