"""Sealing a signed record (Ed25519 over its canonical JSON, written to the trace), linking it to
its tasks, and verifying a sealed record against the database and the stored files."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import anchor, events, signing, trace
from zhijian.core.errors import ApplicationError
from zhijian.supervision.tasks import task_link_record

from .choices import InspectionAction, InspectionState, SignerRole
from .models import Inspection, ItemResult
from .validation import MIN_OFFICERS

TASK_RECORD_KIND = "inspection_record"
SEAL_FORMAT = 1


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    return value.isoformat()


def _file_sha256(upload) -> str:
    if upload is None:
        return ""
    h = hashlib.sha256()
    try:
        with open(upload.path, "rb") as fh:
            for block in iter(lambda: fh.read(64 * 1024), b""):
                h.update(block)
    except OSError:
        return "missing"
    return h.hexdigest()


def seal_payload(inspection: Inspection) -> dict:
    """The canonical content of a record, read fresh from the database and the stored files."""
    i = Inspection.objects.select_related("entity", "bureau", "checklist_version").get(pk=inspection.pk)
    results = (ItemResult.objects.filter(inspection=i).select_related("item__business_line")
               .order_by("item__business_line__order", "item__part", "item__order", "item_id"))
    return {
        "format": SEAL_FORMAT,
        "id": i.pk,
        "client_key": i.client_key,
        "number": i.number,
        "correction_number": i.correction_number,
        "entity": {"credit_code": i.entity.credit_code, "name": i.entity_name, "address": i.entity_address},
        "bureau": {"id": i.bureau_id, "name": i.bureau.name},
        "division_code": i.division_code,
        "checklist_version": i.checklist_version.number,
        "tasks": sorted(i.tasks.values_list("pk", flat=True)),
        "officers": [{"user_id": o.user_id, "name": o.name, "cert_no": o.cert_no} for o in i.officer_rows.order_by("order")],
        "started_at": _iso(i.started_at),
        "finished_at": _iso(i.finished_at),
        "lng": i.lng,
        "lat": i.lat,
        "conclusion": i.conclusion,
        "correction_days": i.correction_days,
        "correction_due": _iso(i.correction_due),
        "opinion": i.opinion,
        "results": [
            {"item_id": r.item_id, "business_line": r.item.business_line.code, "part": r.item.part, "number": r.item.number,
             "text": r.item.text, "key_item": r.item.key_item, "result": r.result, "note": r.note}
            for r in results
        ],
        "attachments": [
            {"id": a.pk, "kind": a.kind, "name": a.name,
             "sha256": _file_sha256(a.upload) if a.upload_id else hashlib.sha256(a.text.encode("utf-8")).hexdigest()}
            for a in i.attachments.select_related("upload").order_by("id")
        ],
        "signatures": [
            {"role": s.role, "user_id": s.user_id, "name": s.name, "sha256": _file_sha256(s.image) if s.image_id else "",
             "signed_at": _iso(s.signed_at), "refused": s.refused, "reason": s.refusal_reason, "witness": s.witness,
             "witness_attachment": s.witness_attachment_id}
            for s in i.signatures.select_related("image").order_by("id")
        ],
    }


def signatures_complete(inspection: Inspection) -> bool:
    sigs = list(inspection.signatures.all())
    officers = set(inspection.officer_rows.values_list("user_id", flat=True))
    signed = {s.user_id for s in sigs if s.role == SignerRole.OFFICER and s.image_id}
    rep = [s for s in sigs if s.role == SignerRole.REPRESENTATIVE and (s.image_id or (s.refused and (s.witness or s.witness_attachment_id)))]
    return len(officers) >= MIN_OFFICERS and officers <= signed and bool(rep)


@transaction.atomic
def inspection_seal(*, actor, inspection: Inspection) -> Inspection:
    """Sign the record's canonical JSON (Ed25519), write it to the trace with ``sign=True``, link
    it to its tasks. Only a fully signed record can be sealed, and only once."""
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if inspection.state != InspectionState.SIGNED:
        raise ApplicationError(_("只有双方签名完成的笔录才能签章"), code="not_signed")
    if not signatures_complete(inspection):
        raise ApplicationError(_("签名不完整，不能签章"), code="not_signed")
    payload = seal_payload(inspection)
    sealed = signing.sign(payload)
    entry = trace.record(actor=actor, action=InspectionAction.SEALED, obj=inspection, before={"state": inspection.state},
                         after=payload, sign=True)
    inspection.state = InspectionState.SEALED
    inspection.sealed_at = timezone.now()
    inspection.seal_kid, inspection.seal_sig = sealed["kid"], sealed["sig"]
    inspection.seal_digest = signing.digest(payload)
    inspection.seal_trace = entry
    inspection.save(update_fields=["state", "sealed_at", "seal_kid", "seal_sig", "seal_digest", "seal_trace", "updated_at"])
    _link_tasks(inspection, actor)
    events.emit("inspection.sealed", payload={
        "id": inspection.pk, "number": inspection.number, "entity": inspection.entity.credit_code,
        "conclusion": inspection.conclusion, "tasks": payload["tasks"], "correction_due": inspection.correction_due,
    }, division_code=inspection.division_code, object_type="inspections.inspection", object_id=inspection.pk)
    anchor.checkpoint_on_commit()  # the sealed record's chain head is signed and anchored once this commits
    return inspection


def _link_tasks(inspection: Inspection, actor) -> None:
    for task in inspection.tasks.all():
        task_link_record(task=task, kind=TASK_RECORD_KIND, record_id=inspection.pk, signed=True, actor=actor)


@dataclass
class Verification:
    ok: bool
    problems: list[str] = field(default_factory=list)


def verify_inspection(inspection: Inspection) -> Verification:
    """Recompute the sealed record from the database and files and check it against its
    signature and its trace entry: any changed result, officer, time, attachment or signature
    image makes it fail."""
    inspection = Inspection.objects.select_related("seal_trace").get(pk=inspection.pk)
    if inspection.state != InspectionState.SEALED or not inspection.seal_sig:
        return Verification(False, [_("笔录尚未签章")])
    problems = []
    payload = seal_payload(inspection)
    if signing.digest(payload) != inspection.seal_digest:
        problems.append(_("笔录内容与签章时不一致（数据或附件被改动）"))
    if not signing.verify(payload, inspection.seal_kid, inspection.seal_sig):
        problems.append(_("签章验证失败"))
    entry = inspection.seal_trace
    if entry is None:
        problems.append(_("缺少签章留痕记录"))
    else:
        if entry.after_digest != signing.digest(payload):
            problems.append(_("留痕记录与笔录内容不一致"))
        if entry.hash != trace.entry_hash(entry) or not signing.verify(trace.signed_body(entry), entry.kid, entry.signature):
            problems.append(_("留痕记录的签名无效"))
    return Verification(not problems, problems)
