"""Every write to the registry goes through here: history, trace entry and event in one transaction."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.core.scoping import in_jurisdiction
from zhijian.geo import placement
from zhijian.org.choices import REGISTRY_WRITERS
from zhijian.security.uploads import check_upload, store_upload

from . import creditcode, placing, tally
from .choices import ChangeKind, EntityStatus
from .models import CreditCodeException, EntityChange, ImportJob, MarketEntity
from .tasks import run_import_job
from .text import name_grams

# Fields a caller may set through create/update (address and status have their own actions).
EDITABLE = (
    "name", "legal_type", "legal_rep", "capital", "capital_currency", "established_on", "approved_on",
    "industry_code", "business_scope", "lng", "lat",
)
ADDRESS_FIELDS = ("address", "division_code", "lng", "lat")


def credit_code_exceptions() -> frozenset[str]:
    return frozenset(CreditCodeException.objects.values_list("code", flat=True))


def check_credit_code(raw: str) -> creditcode.CheckedCode:
    try:
        return creditcode.check(raw, credit_code_exceptions())
    except creditcode.CreditCodeError as exc:
        raise ApplicationError(str(exc), code="invalid_credit_code") from exc


def snapshot(entity: MarketEntity) -> dict:
    """Plain JSON view of an entity for history, trace digests and events."""
    out = {}
    for f in ("credit_code", "name", "entity_type", *EDITABLE, "status", "address", "division_code", "grid_id"):
        v = getattr(entity, f)
        if isinstance(v, (dt.date, Decimal)):
            v = str(v)
        out[f] = v
    return out


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v and (before or v not in (None, ""))}


def _check_actor(actor, division_code: str) -> None:
    if actor is None:  # system jobs (imports from the command line, the demo builder)
        return
    if not actor.has_role(*REGISTRY_WRITERS):
        raise ApplicationError(_("您没有维护市场主体的权限"), code="forbidden")
    if not in_jurisdiction(actor, division_code):
        raise ApplicationError(_("该主体所在区划不在您的辖区内"), code="out_of_scope")


def _place(entity: MarketEntity) -> None:
    """Refuse a position outside the entity's division, then set the entity's grid from its position
    or division (geo's rule); the caller's change record (``_record``) carries the grid move."""
    if (entity.lng is None) != (entity.lat is None):
        raise ApplicationError(_("经度和纬度须同时填写"), code="invalid_position")
    problem = placement.position_problem(entity.lng, entity.lat, entity.division_code)
    if problem:
        raise ApplicationError(problem, code="invalid_position")
    entity.grid_id = placement.locate_id(entity.lng, entity.lat, entity.division_code)


def _record(entity, kind, changed, actor, event_type, before, note=""):
    grids = {g for g in ((before or {}).get("grid_id"), entity.grid_id) if g}
    if grids:
        placing.grids_recount(grids)
    EntityChange.objects.create(entity=entity, kind=kind, changed=changed, actor=actor, note=note)
    after = snapshot(entity)
    trace.record(actor=actor, action=event_type, obj=entity, before=before, after=after,
                 object_type="entities.marketentity", object_id=entity.credit_code, division_code=entity.division_code)
    events.emit(event_type, payload={"credit_code": entity.credit_code, "entity": after, "changed": changed},
                division_code=entity.division_code, object_type="entities.marketentity", object_id=entity.credit_code)


@transaction.atomic
def entity_create(*, actor, credit_code: str, name: str, division_code: str, address: str = "", status=EntityStatus.ACTIVE, **fields) -> MarketEntity:
    checked = check_credit_code(credit_code)
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("名称不能为空"), code="required")
    if not division_code:
        division_code = checked.code[2:8]
    _check_actor(actor, division_code)
    if MarketEntity.objects.filter(credit_code=checked.code).exists():
        raise ApplicationError(_("统一社会信用代码 %(c)s 已存在") % {"c": checked.code}, code="duplicate")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ApplicationError(_("未知字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    entity = MarketEntity(credit_code=checked.code, name=name, name_grams=name_grams(name), entity_type=checked.entity_type,
                          division_code=division_code, address=address, status=status, warning=checked.warning, **fields)
    _place(entity)
    entity.full_clean(exclude=["grid"])
    entity.save()
    tally.adjust({tally.key_of(entity): 1})
    _record(entity, ChangeKind.CREATED, _diff({}, snapshot(entity)), actor, "entity.created", None)
    return entity


def _locked(credit_code: str, actor) -> MarketEntity:
    qs = MarketEntity.objects.select_for_update()
    if actor is not None:
        qs = qs.scoped(actor)
    try:
        return qs.get(credit_code=credit_code)
    except MarketEntity.DoesNotExist:
        raise ApplicationError(_("市场主体不存在或不在您的辖区内"), code="not_found") from None


@transaction.atomic
def entity_update(*, actor, credit_code: str, expected_version: int | None = None, **fields) -> MarketEntity:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ApplicationError(_("这些字段不能在此修改：%(f)s") % {"f": ", ".join(sorted(unknown))})
    entity = _locked(credit_code, actor)
    _check_actor(actor, entity.division_code)
    if expected_version is not None and entity.version != expected_version:
        raise ApplicationError(_("该主体已被他人修改，请刷新后重试"), code="conflict")
    before = snapshot(entity)
    for k, v in fields.items():
        setattr(entity, k, v)
    if "name" in fields:
        entity.name = (entity.name or "").strip()
        if not entity.name:
            raise ApplicationError(_("名称不能为空"), code="required")
        entity.name_grams = name_grams(entity.name)
    if "lng" in fields or "lat" in fields:
        _place(entity)
    changed = _diff(before, snapshot(entity))
    if not changed:
        return entity
    entity.version += 1
    entity.full_clean(exclude=["grid"])
    entity.save()
    _record(entity, ChangeKind.UPDATED, changed, actor, "entity.changed", before)
    return entity


@transaction.atomic
def entity_change_address(*, actor, credit_code: str, address: str, division_code: str, lng=None, lat=None, note: str = "") -> MarketEntity:
    entity = _locked(credit_code, actor)
    _check_actor(actor, entity.division_code)
    _check_actor(actor, division_code)  # moving an entity out of one's jurisdiction is a transfer, not an edit
    if not address.strip():
        raise ApplicationError(_("地址不能为空"), code="required")
    before = snapshot(entity)
    was = tally.key_of(entity)
    entity.address, entity.division_code, entity.lng, entity.lat = address.strip(), division_code, lng, lat
    _place(entity)
    changed = _diff(before, snapshot(entity))
    if not changed:
        return entity
    entity.version += 1
    entity.full_clean(exclude=["grid"])
    entity.save()
    tally.moved(was, tally.key_of(entity))
    _record(entity, ChangeKind.ADDRESS, changed, actor, "entity.address_changed", before, note)
    return entity


# Legal transitions of the registration status.
_STATUS_FLOW = {
    EntityStatus.ACTIVE: {EntityStatus.SUSPENDED, EntityStatus.REVOKED, EntityStatus.CANCELLED, EntityStatus.MOVED_OUT},
    EntityStatus.SUSPENDED: {EntityStatus.ACTIVE, EntityStatus.REVOKED, EntityStatus.CANCELLED},
    EntityStatus.REVOKED: {EntityStatus.CANCELLED},
    EntityStatus.MOVED_OUT: set(),
    EntityStatus.CANCELLED: set(),
}


@transaction.atomic
def entity_set_status(*, actor, credit_code: str, status: str, note: str = "") -> MarketEntity:
    entity = _locked(credit_code, actor)
    _check_actor(actor, entity.division_code)
    if status not in _STATUS_FLOW.get(entity.status, set()):
        raise ApplicationError(
            _("登记状态不能从“%(a)s”变为“%(b)s”") % {"a": EntityStatus(entity.status).label, "b": EntityStatus(status).label},
            code="illegal_transition",
        )
    before = snapshot(entity)
    was = tally.key_of(entity)
    entity.status = status
    entity.version += 1
    entity.save(update_fields=["status", "version", "updated_at"])
    tally.moved(was, tally.key_of(entity))
    _record(entity, ChangeKind.STATUS, _diff(before, snapshot(entity)), actor, "entity.status_changed", before, note)
    return entity


# --- bulk import jobs ----------------------------------------------------------------------------

def import_job_create(*, actor, stored_path: str, filename: str, dry_run: bool = False):
    """Record an uploaded file as a queued import job and hand it to a worker."""
    job = ImportJob.objects.create(bureau=getattr(actor, "bureau", None), created_by=actor, filename=filename[:200],
                                   stored_path=stored_path, dry_run=dry_run)
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def import_upload(*, actor, upload, dry_run: bool = False):
    """Check an uploaded file by content and size, store it outside the web root, queue the job."""
    if not actor.has_role(*REGISTRY_WRITERS):
        raise ApplicationError(_("您没有导入市场主体的权限"), code="forbidden")
    # The name decides what the clerk meant to send; the content must then match it.
    suffix = Path(upload.name or "").suffix.lower()
    kinds = ("xlsx",) if suffix in (".xlsx", ".xlsm", ".xls") else ("csv",) if suffix in (".csv", ".txt") else ("xlsx", "csv")
    checked = check_upload(upload, kinds=kinds)
    with transaction.atomic():
        stored = store_upload(checked, uploaded_by=actor, purpose="entity_import")
        return import_job_create(actor=actor, stored_path=str(stored.path), filename=upload.name, dry_run=dry_run)
