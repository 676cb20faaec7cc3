"""Bureaus, departments, people and their roles; a person's jurisdiction comes from here."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from zhijian.core.models import TimeStamped
from zhijian.core.scoping import ScopedManager, ScopedQuerySet, register_scoped
from zhijian.security.roles import ADMIN_ROLES, separation_violation

from .choices import BureauLevel, RoleCode


@register_scoped
class Bureau(TimeStamped):
    """A market-regulation bureau or station; ``jurisdiction`` lists division-code prefixes."""

    scope_field = "division_code"

    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=20, blank=True, help_text=_("文号中的机关代字，如 莞市监"))
    level = models.CharField(_("层级"), max_length=16, choices=BureauLevel.choices)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    division_code = models.CharField(_("驻地区划代码"), max_length=12, db_index=True)
    jurisdiction = models.CharField(
        _("辖区"), max_length=500, help_text=_("区划代码前缀，逗号分隔；如 4419 表示东莞全市")
    )

    objects = ScopedManager()

    class Meta:
        verbose_name = _("监管机构")
        verbose_name_plural = _("监管机构")
        ordering = ["division_code", "name"]

    def __str__(self):
        return self.name

    def jurisdiction_prefixes(self) -> list[str]:
        return [p for p in (s.strip() for s in self.jurisdiction.split(",")) if p or self.level == BureauLevel.NATIONAL]

    def clean(self):
        for p in self.jurisdiction_prefixes():
            if not p.isdigit():
                raise ValidationError({"jurisdiction": _("辖区只能是数字区划代码前缀")})


@register_scoped
class Department(TimeStamped):
    """Another government department (卫健, 消防, 住建 …) that receives pushed items."""

    scope_field = "division_code"

    name = models.CharField(_("名称"), max_length=100)
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    division_code = models.CharField(_("所属区划"), max_length=12, db_index=True)
    jurisdiction = models.CharField(_("辖区"), max_length=500)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("协同部门")
        verbose_name_plural = _("协同部门")
        ordering = ["division_code", "name"]

    def __str__(self):
        return self.name

    def jurisdiction_prefixes(self) -> list[str]:
        return [p.strip() for p in self.jurisdiction.split(",") if p.strip()]


class Role(models.Model):
    code = models.CharField(_("代码"), max_length=32, primary_key=True, choices=RoleCode.choices)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")

    def __str__(self):
        return self.get_code_display()


class ScopedUserManager(UserManager.from_queryset(ScopedQuerySet)):
    pass


@register_scoped
class User(AbstractUser):
    """A person. Their jurisdiction is their own if set, else their bureau's or department's."""

    scope_field = "scope_division"

    bureau = models.ForeignKey(Bureau, verbose_name=_("所属机构"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff")
    department = models.ForeignKey(Department, verbose_name=_("所属部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff")
    roles = models.ManyToManyField(Role, verbose_name=_("角色"), blank=True)
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    enforcement_cert_no = models.CharField(_("执法证号"), max_length=30, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    own_jurisdiction = models.CharField(_("个人辖区"), max_length=500, blank=True, help_text=_("留空则使用所属机构的辖区；只能更小"))
    # Where the person sits, used to scope who may see the person record.
    scope_division = models.CharField(_("所在区划"), max_length=12, blank=True, db_index=True)
    home_division = models.CharField(_("户籍/住址区划"), max_length=12, blank=True, help_text=_("用于回避规则"))

    objects = ScopedUserManager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")

    def __str__(self):
        return self.full_name or self.username

    def role_codes(self) -> set[str]:
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            if "roles" in getattr(self, "_prefetched_objects_cache", {}):  # prefetch_related("roles"): no query
                cached = {r.code for r in self.roles.all()}
            else:
                cached = set(self.roles.values_list("code", flat=True)) if self.pk else set()
            self._role_cache = cached
        return cached

    def has_role(self, *codes: str) -> bool:
        return bool(self.role_codes() & set(codes))

    @property
    def may_administer(self) -> bool:
        """Enters the admin site (security.roles.may_administer); the menu shows 管理 for them."""
        return self.is_active and (self.has_role(*ADMIN_ROLES) or (self.is_superuser and self.is_staff))

    def jurisdiction_prefixes(self) -> list[str]:
        if self.has_role(*ADMIN_ROLES):
            return []  # 三员分立: the system, security and audit administrators see no business data
        base: list[str] = []
        if self.bureau_id:
            base = self.bureau.jurisdiction_prefixes()
        elif self.department_id:
            base = self.department.jurisdiction_prefixes()
        own = [p.strip() for p in self.own_jurisdiction.split(",") if p.strip()]
        if own:
            # A personal jurisdiction can only narrow the unit's.
            return [p for p in own if any(p.startswith(b) for b in base)]
        return base

    def clean(self):
        super().clean()
        if self.pk:
            reason = separation_violation(self.role_codes())
            if reason:
                raise ValidationError(reason)

    def save(self, *args, **kwargs):
        if not self.scope_division:
            if self.bureau_id:
                self.scope_division = self.bureau.division_code
            elif self.department_id:
                self.scope_division = self.department.division_code
        super().save(*args, **kwargs)
