"""Reads for the grid pages and API, always scoped to the person's jurisdiction."""
from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from zhijian.clues.choices import ClueSource
from zhijian.clues.models import Clue
from zhijian.geo.models import GridStaff

from .choices import OPEN_STATES, OrderState
from .models import EmergencyOrder, GridCase, OrderRecipient, Warning


def cases(user, *, state="", overdue=False, mine=False, today=None):
    qs = GridCase.objects.scoped(user).select_related("entity", "grid", "assignee")
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state__in=OPEN_STATES, step_due_on__lt=today or timezone.localdate())
    if mine:
        qs = qs.filter(assignee=user)
    return qs.order_by("step_due_on", "-id")


def my_grid_ids(user) -> list[int]:
    return list(GridStaff.objects.filter(user=user).values_list("grid_id", flat=True))


def area_items(user):
    """What a helper or officer sees of their area (G4): the open cases in their grids (and the
    level-2 grids under a level-1 grid they hold)."""
    grids = my_grid_ids(user)
    if not grids:
        return GridCase.objects.none()
    return (GridCase.objects.scoped(user).filter(Q(grid_id__in=grids) | Q(grid__parent_id__in=grids), state__in=OPEN_STATES)
            .select_related("grid", "entity").order_by("step_due_on", "-id"))


def my_clues(user):
    """The clues ``user`` reported from the phone (``clues.Clue``, source 网格员现场报告)."""
    return Clue.objects.scoped(user).filter(reporter=user, source=ClueSource.GRID_REPORT).select_related("grid").order_by("-id")


def reported_clue(user, pk):
    """One clue reported from the phone, in ``user``'s jurisdiction (404 otherwise)."""
    return Clue.objects.filter(source=ClueSource.GRID_REPORT).select_related("grid", "reporter").get_scoped_or_404(user, pk=pk)


def my_orders(user):
    return (OrderRecipient.objects.filter(officer=user, order__state=OrderState.OPEN).select_related("order", "order__issued_by")
            .order_by("-order_id"))


def recent_orders(user, limit=10):
    return EmergencyOrder.objects.scoped(user).prefetch_related("recipients__officer").select_related("issued_by").order_by("-id")[:limit]


def my_warnings(user, *, include_acknowledged=False):
    qs = Warning.objects.filter(recipient=user)
    if not include_acknowledged:
        qs = qs.filter(acknowledged=False)
    return qs.order_by("-id")


def area_warnings(user, *, level=None, include_acknowledged=False):
    qs = Warning.objects.scoped(user).select_related("recipient", "bureau")
    if level is not None:
        qs = qs.filter(level=level)
    if not include_acknowledged:
        qs = qs.filter(acknowledged=False)
    return qs.order_by("-id")
