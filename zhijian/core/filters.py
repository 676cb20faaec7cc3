"""The API's filter backend: django-filter, with every related-object filter scoped to the caller.

A ``ModelChoiceFilter`` (``?grid=``, ``?assignee=``, ``?parent=``, ``?bureau=`` … — the ones
``filterset_fields`` makes for a foreign key, and any declared) checks its value against a queryset:
unscoped, it answers 200 for an id that exists outside the caller's jurisdiction and 400 for one that
does not exist, which tells an outsider what exists. Scoped here, both are the same 400.

A number filter on an integer column (``?bureau=``, ``?since=``, ``?object_id=``) takes integers within
the database's range: ``1.5`` or ``-1.8e308`` is a 400 naming the parameter, not a 500 from the
database driver.

(A module of its own: DRF reads ``DEFAULT_FILTER_BACKENDS`` while importing its generic views, which
``core.api`` imports.)
"""
from __future__ import annotations

from django import forms
from django.db import models
from django_filters.filters import NumberFilter, QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import get_model_field
from drf_spectacular.utils import extend_schema_field

# The range every backend's integer columns hold (PostgreSQL bigint, SQLite INTEGER).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


@extend_schema_field({"type": "integer", "format": "int64"})
class IntegerFilter(NumberFilter):
    """A number filter that takes integers only (an id given as ``?bureau=`` rather than a relation)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", INT_MIN)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(*args, **kwargs)


def _scoped_choices(queryset, user):
    def choices(request):
        qs = queryset(request) if callable(queryset) else queryset
        if qs is not None and getattr(qs.model, "scope_field", None) and hasattr(qs, "scoped"):
            return qs.scoped(user)
        return qs
    return choices


def _integer_column(model, field_name: str) -> bool:
    field = get_model_field(model, field_name) if model is not None else None
    if field is not None and field.is_relation:
        field = field.target_field
    return isinstance(field, (models.IntegerField, models.AutoField))


def scope_filter_choices(filterset, user) -> None:
    """Narrow every related-object filter of ``filterset`` (``?grid=``, ``?assignee=``, ``?parent=`` …) to
    the objects ``user`` may see: an id outside the jurisdiction is refused exactly as an id that does
    not exist (same status, same message), so a filter never tells whether it exists."""
    for f in filterset.filters.values():
        if isinstance(f, QuerySetRequestMixin) and f.queryset is not None:
            f.queryset = _scoped_choices(f.queryset, user)
        elif isinstance(f, NumberFilter) and _integer_column(filterset.queryset.model, f.field_name):
            f.field_class = forms.IntegerField
            f.extra.setdefault("min_value", INT_MIN)
            f.extra.setdefault("max_value", INT_MAX)


class ScopedFilterBackend(DjangoFilterBackend):
    """django-filter, with the choices of every related-object filter scoped to the caller."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            scope_filter_choices(filterset, request.user)
        return filterset
