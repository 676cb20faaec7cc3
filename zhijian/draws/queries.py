"""Reads, always scoped for staff; the public pages read only executed or committed draws by public id."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from zhijian.inspections.models import BusinessLine
from zhijian.org.models import User

from .models import Draw, DrawItem, DrawPlan


def plans(user):
    return DrawPlan.objects.scoped(user).select_related("bureau").order_by("-id")


def draws_of(plan):
    return plan.draws.order_by("-id")


def public_draw(public_id: str) -> Draw:
    return get_object_or_404(Draw.objects.select_related("plan", "plan__bureau"), public_id=public_id)


def items(draw):
    return DrawItem.objects.filter(draw=draw).select_related("entity").order_by("stratum", "rank")


def with_inspector_names(items) -> None:
    """Set ``inspectors`` ("name (cert no)", …) on each item of a page: staff read names, the
    published files keep certificate numbers only."""
    certs = {c for i in items for c in i.cert_nos}
    names = dict(User.objects.filter(enforcement_cert_no__in=certs).values_list("enforcement_cert_no", "full_name"))
    for i in items:
        i.inspectors = [f"{names[c]}（{c}）" if names.get(c) else c for c in i.cert_nos]


def line_names(codes) -> list[str]:
    """Business-line codes as their names in the checklist (a code the list lacks stays a code)."""
    names = dict(BusinessLine.objects.filter(code__in=list(codes)).values_list("code", "name"))
    return [names.get(c, c) for c in codes]

