"""Reads, always scoped: department staff see their own department's items only (clues: ``clues.queries``)."""
from __future__ import annotations

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from .choices import OPEN_PUSH_STATES
from .models import PushItem


def push_items(user):
    qs = PushItem.objects.scoped(user).select_related("entity", "department", "matter", "rule")
    if getattr(user, "department_id", None):
        qs = qs.filter(department_id=user.department_id)
    return qs


def inbox(user, *, state: str = "", only_open: bool = True):
    """My department's items, overdue first, then by due time."""
    now = timezone.now()
    qs = push_items(user)
    if state:
        qs = qs.filter(state=state)
    elif only_open:
        qs = qs.filter(state__in=OPEN_PUSH_STATES)
    late = Q(state__in=OPEN_PUSH_STATES, due_at__lt=now)
    return qs.annotate(late_rank=Case(When(late, then=Value(0)), default=Value(1), output_field=IntegerField())).order_by(
        "late_rank", "due_at", "id")
