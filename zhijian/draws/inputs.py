"""Writes of the data a draw reads and that people keep: credit-risk classes (which decide the
ratio an entity is drawn at), declared relations and past inspections (which decide recusal).

Each is legally relevant, so each write is one atomic function that checks the person, writes
the row, a trace entry and an event — the admin site calls these, it never saves the rows itself.
``actor=None`` is the system (the credit work's import, a command).
"""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.core.scoping import in_jurisdiction
from zhijian.entities import creditcode
from zhijian.entities.models import MarketEntity

from .choices import RiskClass
from .models import DeclaredRelation, EntityRiskClass, PastInspection
from .services import DRAW_ROLES


def check_actor(actor, division_code: str) -> None:
    """Who keeps the draw's inputs: a person with a draw role whose jurisdiction covers the entity
    (or the inspector's unit); ``None`` is the system."""
    if actor is None:
        return
    if not actor.has_role(*DRAW_ROLES):
        raise ApplicationError(_("您没有维护双随机抽查基础数据的权限"), code="forbidden")
    if not in_jurisdiction(actor, division_code):
        raise ApplicationError(_("不存在或不在您的辖区内"), code="not_found")


def _code(raw: str) -> str:
    code = creditcode.normalise(raw or "")
    if len(code) != 18:
        raise ApplicationError(_("统一社会信用代码应为18位"), code="invalid_credit_code")
    return code


def _inspector_division(inspector) -> str:
    return inspector.scope_division or (inspector.bureau.division_code if inspector.bureau_id else "")


# --- credit-risk classes ----------------------------------------------------------------------------

@transaction.atomic
def risk_class_set(*, actor, entity: MarketEntity, risk_class: str, assessed_on: dt.date, source: str = "") -> EntityRiskClass:
    """Set an entity's credit-risk class (a new assessment replaces the old one)."""
    check_actor(actor, entity.division_code)
    if risk_class not in RiskClass.values:
        raise ApplicationError(_("未知的信用风险分类：%(cls)s") % {"cls": risk_class}, code="bad_risk_class")
    row = EntityRiskClass.objects.select_for_update().filter(entity=entity).first()
    before = {"risk_class": row.risk_class, "assessed_on": str(row.assessed_on), "source": row.source} if row else None
    row, _created = EntityRiskClass.objects.update_or_create(
        entity=entity, defaults={"risk_class": risk_class, "assessed_on": assessed_on, "source": source[:100]})
    after = {"risk_class": risk_class, "assessed_on": str(assessed_on), "source": row.source}
    trace.record(actor=actor, action="draw.risk_class_set", object_type="draws.entityriskclass", object_id=entity.credit_code,
                 before=before, after=after, division_code=entity.division_code)
    events.emit("draw.risk_class_set", payload={"credit_code": entity.credit_code, **after}, division_code=entity.division_code,
                object_type="draws.entityriskclass", object_id=entity.credit_code)
    return row


@transaction.atomic
def risk_class_clear(*, actor, entity: MarketEntity) -> bool:
    """Remove an entity's class (it is drawn as class B again). Returns whether there was one."""
    check_actor(actor, entity.division_code)
    row = EntityRiskClass.objects.select_for_update().filter(entity=entity).first()
    if row is None:
        return False
    before = {"risk_class": row.risk_class, "assessed_on": str(row.assessed_on), "source": row.source}
    row.delete()
    trace.record(actor=actor, action="draw.risk_class_cleared", object_type="draws.entityriskclass", object_id=entity.credit_code,
                 before=before, division_code=entity.division_code)
    events.emit("draw.risk_class_cleared", payload={"credit_code": entity.credit_code}, division_code=entity.division_code,
                object_type="draws.entityriskclass", object_id=entity.credit_code)
    return True


# --- declared relations -----------------------------------------------------------------------------

def check_relation_actor(actor, inspector) -> None:
    """An inspector declares their own interests; people with a draw role record them for the
    inspectors of their jurisdiction."""
    if actor is not None and actor.pk == inspector.pk:
        return
    check_actor(actor, _inspector_division(inspector))


@transaction.atomic
def relation_declare(*, actor, inspector, credit_code: str, relation: str) -> DeclaredRelation:
    """Record (or update) an inspector's declared interest in an entity (利害关系申报)."""
    check_relation_actor(actor, inspector)
    code = _code(credit_code)
    relation = (relation or "").strip()
    if not relation:
        raise ApplicationError(_("请说明利害关系"), code="required")
    existing = DeclaredRelation.objects.select_for_update().filter(inspector=inspector, credit_code=code).first()
    before = {"relation": existing.relation} if existing else None
    row, _created = DeclaredRelation.objects.update_or_create(inspector=inspector, credit_code=code, defaults={"relation": relation[:200]})
    after = {"inspector": inspector.pk, "credit_code": code, "relation": row.relation}
    division = _inspector_division(inspector)
    trace.record(actor=actor, action="draw.relation_declared", obj=row, before=before, after=after, division_code=division)
    events.emit("draw.relation_declared", payload=after, division_code=division, object_type="draws.declaredrelation", object_id=row.pk)
    return row


@transaction.atomic
def relation_withdraw(*, actor, relation: DeclaredRelation) -> None:
    """Withdraw a declared relation (the inspector is no longer recused for it)."""
    relation = DeclaredRelation.objects.select_for_update(of=("self",)).select_related("inspector__bureau").get(pk=relation.pk)
    check_relation_actor(actor, relation.inspector)
    before = {"inspector": relation.inspector_id, "credit_code": relation.credit_code, "relation": relation.relation}
    pk, division = relation.pk, _inspector_division(relation.inspector)
    relation.delete()
    trace.record(actor=actor, action="draw.relation_withdrawn", object_type="draws.declaredrelation", object_id=str(pk), before=before,
                 division_code=division)
    events.emit("draw.relation_withdrawn", payload=before, division_code=division, object_type="draws.declaredrelation", object_id=pk)


# --- past inspections (before the platform) ----------------------------------------------------------

def _past_division(credit_code: str, inspector) -> str:
    return MarketEntity.objects.filter(credit_code=credit_code).values_list("division_code", flat=True).first() or _inspector_division(inspector)


def check_past_actor(actor, credit_code: str, inspector) -> None:
    """Past inspections are kept like the other inputs, in the entity's jurisdiction (or, for an
    entity no longer registered, the inspector's)."""
    check_actor(actor, _past_division(_code(credit_code), inspector))


@transaction.atomic
def past_inspection_record(*, actor, credit_code: str, inspector, inspected_on: dt.date) -> PastInspection:
    """Record who inspected an entity before the platform kept inspection records."""
    code = _code(credit_code)
    division = _past_division(code, inspector)
    check_actor(actor, division)
    row = PastInspection.objects.create(credit_code=code, inspector=inspector, inspected_on=inspected_on)
    after = {"credit_code": code, "inspector": inspector.pk, "inspected_on": str(inspected_on)}
    trace.record(actor=actor, action="draw.past_inspection_recorded", obj=row, after=after, division_code=division)
    events.emit("draw.past_inspection_recorded", payload=after, division_code=division, object_type="draws.pastinspection", object_id=row.pk)
    return row


@transaction.atomic
def past_inspection_remove(*, actor, past: PastInspection) -> None:
    past = PastInspection.objects.select_for_update(of=("self",)).select_related("inspector__bureau").get(pk=past.pk)
    division = _past_division(past.credit_code, past.inspector)
    check_actor(actor, division)
    before = {"credit_code": past.credit_code, "inspector": past.inspector_id, "inspected_on": str(past.inspected_on)}
    pk = past.pk
    past.delete()
    trace.record(actor=actor, action="draw.past_inspection_removed", object_type="draws.pastinspection", object_id=str(pk),
                 before=before, division_code=division)
    events.emit("draw.past_inspection_removed", payload=before, division_code=division, object_type="draws.pastinspection", object_id=pk)
