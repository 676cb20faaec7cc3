"""Reads of the inspections app, always scoped to the caller's jurisdiction."""
from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When

from zhijian.entities.models import MarketEntity
from zhijian.org.choices import RoleCode
from zhijian.org.models import User
from zhijian.supervision.models import Task

from .models import BusinessLine, CheckItem, ChecklistVersion
from .services import current_version

CLOSED_TASK_STATES = ("archived", "cancelled")


def open_tasks(user, entity):
    return (Task.objects.scoped(user).filter(entity=entity).exclude(state__in=CLOSED_TASK_STATES)
            .order_by("due_on", "id"))


def checklist_items(version: ChecklistVersion, line_codes=None):
    """Items of a version (of the given business lines), key items first, then in table order."""
    qs = CheckItem.objects.filter(version=version).select_related("business_line")
    if line_codes:
        qs = qs.filter(business_line__code__in=line_codes)
    return qs.annotate(key_first=Case(When(key_item=True, then=Value(0)), default=Value(1), output_field=IntegerField())).order_by(
        "key_first", "business_line__order", "part", "order")


def officers_of_unit(user):
    """Enforcement officers of the caller's unit who hold a certificate number."""
    if not user.bureau_id:
        return User.objects.none()
    return (User.objects.filter(bureau_id=user.bureau_id, is_active=True, roles__code=RoleCode.ENFORCEMENT_OFFICER)
            .exclude(enforcement_cert_no="").order_by("id").distinct())


def prepare(user, credit_code: str) -> dict:
    """What the phone needs to inspect one entity: its open tasks, the items of their business
    lines (all lines when it has none), and the officers who may go with the caller."""
    entity = MarketEntity.objects.get_scoped_or_404(user, credit_code=credit_code)
    tasks = list(open_tasks(user, entity))
    version = current_version()
    known = set(BusinessLine.objects.values_list("code", flat=True))
    lines = sorted({t.business_line for t in tasks if t.business_line in known})
    items = list(checklist_items(version, lines or None)) if version else []
    return {
        "entity": {"credit_code": entity.credit_code, "name": entity.name, "address": entity.address,
                   "legal_rep": entity.legal_rep, "lng": entity.lng, "lat": entity.lat},
        "tasks": [{"id": t.pk, "number": t.number, "title": t.title, "business_line": t.business_line, "state": t.state,
                   "due_on": t.due_on.isoformat() if t.due_on else None} for t in tasks],
        "checklist_version": version.number if version else None,
        "items": [{"id": i.pk, "business_line": i.business_line.code, "section": i.section, "number": i.number, "text": i.text,
                   "key_item": i.key_item, "basis": i.basis} for i in items],
        "officers": [{"id": u.pk, "name": u.full_name or u.username, "cert_no": u.enforcement_cert_no} for u in officers_of_unit(user)],
    }
