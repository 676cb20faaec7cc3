"""Reads, always scoped for staff; the public pages read only executed or committed draws by public id."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from .models import Draw, DrawItem, DrawPlan


def plans(user):
    return DrawPlan.objects.scoped(user).select_related("bureau").order_by("-id")


def draws_of(plan):
    return plan.draws.order_by("-id")


def public_draw(public_id: str) -> Draw:
    return get_object_or_404(Draw.objects.select_related("plan", "plan__bureau"), public_id=public_id)


def items(draw):
    return DrawItem.objects.filter(draw=draw).select_related("entity").order_by("stratum", "rank")
