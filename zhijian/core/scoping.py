"""Data scope by jurisdiction: the one mechanism every page, API and export uses.

Division codes are hierarchical (2+2+2+3+3 digits), so a jurisdiction is a set of code prefixes
and "inside" means ``division_code`` starts with one of them. A model opts in by declaring
``scope_field`` (a lookup path ending in a division code) and using ``ScopedQuerySet``.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.http import Http404

SCOPED_MODELS: list[type[models.Model]] = []


def register_scoped(model):
    """Class decorator: list a model for the generic jurisdiction test matrix."""
    if not getattr(model, "scope_field", None):
        raise TypeError(f"{model.__name__} needs a scope_field")
    SCOPED_MODELS.append(model)
    return model


def jurisdiction_of(user) -> tuple[str, ...]:
    """The division-code prefixes a user may see; empty means nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    cached = getattr(user, "_jurisdiction_cache", None)
    if cached is None:
        cached = tuple(user.jurisdiction_prefixes())
        user._jurisdiction_cache = cached
    return cached


def scope_q(field: str, prefixes: tuple[str, ...]) -> Q:
    if not prefixes:
        return Q(pk__in=[])
    if "" in prefixes:
        return Q()
    q = Q()
    # Collapse prefixes covered by a shorter one, so the SQL stays small.
    kept = [p for p in sorted(set(prefixes), key=len) if not any(p != o and p.startswith(o) for o in prefixes)]
    for p in kept:
        q |= Q(**{f"{field}__startswith": p})
    return q


# Lengths of the division levels: province, city, county, town, village.
LEVEL_LENGTHS = (2, 4, 6, 9, 12)


def common_division(codes) -> str:
    """The smallest division containing all ``codes`` ("" when none, or when they lie in different
    provinces): the division a record about several entities is filed under, so that whoever sees
    all of them sees it."""
    codes = [c for c in codes if c is not None]
    if not codes:
        return ""
    lo, hi = min(codes), max(codes)
    if lo == hi:
        return lo
    n = 0
    while n < min(len(lo), len(hi)) and lo[n] == hi[n]:
        n += 1
    return lo[: max((k for k in LEVEL_LENGTHS if k <= n), default=0)]


def in_jurisdiction(user, division_code: str | None) -> bool:
    prefixes = jurisdiction_of(user)
    if "" in prefixes:
        return True
    return bool(division_code) and any(division_code.startswith(p) for p in prefixes)


class ScopedQuerySet(models.QuerySet):
    def scoped(self, user):
        return self.filter(scope_q(self.model.scope_field, jurisdiction_of(user)))

    def get_scoped_or_404(self, user, **lookup):
        try:
            return self.scoped(user).get(**lookup)
        except self.model.DoesNotExist as exc:
            raise Http404(str(self.model._meta.verbose_name)) from exc


ScopedManager = models.Manager.from_queryset(ScopedQuerySet)
