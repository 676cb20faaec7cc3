"""The on-site inspection from upload to sealed record (S3): one transaction writes the record, its
results (items of the covered lines left unanswered as 未检查), officers, attachments and signatures,
seals it, moves its tasks on (``taskloop``) and renders its documents. A refused upload leaves
nothing behind."""
from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.clues import intake as clue_intake
from zhijian.clues.choices import ClueSource
from zhijian.core import trace
from zhijian.deadlines import clocks
from zhijian.deadlines.choices import DocType
from zhijian.deadlines.numbering import next_number
from zhijian.security.uploads import store_upload

from . import documents, taskloop
from .choices import CheckResult, Conclusion, InspectionAction, InspectionState, SignerRole
from .correction import CLOCK_PROCEDURE, CORRECTION_CLOCK, CORRECTION_MAX_RULE
from .models import Attachment, Inspection, InspectionOfficer, ItemResult, Signature
from .sealing import inspection_seal
from .validation import FieldErrors, validate_upload


@transaction.atomic
def inspection_sync(*, actor, client_key: str, entity, tasks, officers, started_at, finished_at, lng=None, lat=None,
                    results: list[dict], conclusion: str, correction_days: int | None = None, opinion: str = "",
                    attachments: list[dict] = (), signatures: dict, public_base_url: str = "") -> Inspection:
    """Record a finished visit as uploaded by the phone, sign, seal and document it, in one
    transaction: a refused upload leaves nothing behind. ``client_key`` is unique: a concurrent
    duplicate fails on the insert (IntegrityError) before anything else is written."""
    errors = FieldErrors()
    if not actor.bureau_id:
        errors.add("officer_ids", _("上传人不属于任何监管机构"))
    version, prepared = validate_upload(
        actor=actor, entity=entity, tasks=tasks, officers=officers, results=results, conclusion=conclusion,
        correction_days=correction_days, started_at=started_at, finished_at=finished_at, attachments=list(attachments),
        signatures=signatures or {}, errors=errors,
    )
    errors.raise_if_any()
    bureau = actor.bureau
    inspection = Inspection.objects.create(
        client_key=client_key, entity=entity, entity_name=entity.name, entity_address=entity.address, bureau=bureau,
        division_code=entity.division_code, checklist_version=version, created_by=actor, started_at=started_at,
        finished_at=finished_at, lng=lng, lat=lat, conclusion=conclusion,
        correction_days=correction_days if conclusion == Conclusion.CORRECT else None, opinion=opinion or "",
    )
    inspection.number = next_number(bureau=bureau, doc_type=DocType.INSPECTION_RECORD)[1]
    if conclusion == Conclusion.CORRECT:
        # The officers' period (1 … the rule's maximum) from the visit's day, on the registry's
        # calendar: a year whose schedule is unknown gives a provisional date, never a refusal.
        clock = clocks.start(procedure=CLOCK_PROCEDURE, object_id=inspection.pk, name=CORRECTION_CLOCK, rule=CORRECTION_MAX_RULE,
                             start=timezone.localtime(finished_at).date(), amount=correction_days, at=timezone.localdate(started_at),
                             division_code=entity.division_code, entity_id=entity.pk, actor=actor)
        inspection.correction_due = clock.due_on
        inspection.correction_number = next_number(bureau=bureau, doc_type=DocType.CORRECTION_ORDER)[1]
    inspection.save(update_fields=["number", "correction_due", "correction_number"])
    inspection.tasks.set(tasks)
    InspectionOfficer.objects.bulk_create([
        InspectionOfficer(inspection=inspection, user=o, name=o.full_name or o.username, cert_no=o.enforcement_cert_no.strip(), order=i)
        for i, o in enumerate(officers)
    ])
    ItemResult.objects.bulk_create([
        ItemResult(inspection=inspection, item_id=r["item_id"], result=r["result"], note=(r.get("note") or "")[:500]) for r in results
    ] + [ItemResult(inspection=inspection, item=item, result=CheckResult.UNCHECKED) for item in prepared.coverage.unchecked])
    stored = {}
    for a, checked, text in prepared.attachments:
        upload = store_upload(checked, uploaded_by=actor, purpose="inspection_attachment") if checked else None
        att = Attachment.objects.create(
            inspection=inspection, client_id=(a.get("client_id") or "")[:64], kind=a["kind"], name=(a.get("name") or "")[:200],
            upload=upload, text=text, sha256=checked.sha256 if checked else hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
        stored[id(a)] = att
    trace.record(actor=actor, action=InspectionAction.CREATED, obj=inspection,
                 after={"client_key": client_key, "number": inspection.number, "entity": entity.credit_code, "results": len(results),
                        "unchecked": len(prepared.coverage.unchecked)})
    now = timezone.now()
    for o in officers:
        checked = prepared.officer_signatures[o.pk]
        upload = store_upload(checked, uploaded_by=actor, purpose="inspection_signature")
        Signature.objects.create(inspection=inspection, role=SignerRole.OFFICER, user=o, name=o.full_name or o.username,
                                 image=upload, sha256=checked.sha256, signed_at=now)
    rep = prepared.representative
    if rep["refused"]:
        Signature.objects.create(inspection=inspection, role=SignerRole.REPRESENTATIVE, signed_at=now, refused=True,
                                 refusal_reason=rep["reason"][:300], witness=rep["witness"][:50],
                                 witness_attachment=stored.get(id(rep["media"])) if rep["media"] else None)
    else:
        upload = store_upload(rep["image"], uploaded_by=actor, purpose="inspection_signature")
        Signature.objects.create(inspection=inspection, role=SignerRole.REPRESENTATIVE, name=rep["name"], image=upload,
                                 sha256=rep["image"].sha256, signed_at=now)
    _set_state(inspection, InspectionState.SIGNED, actor)
    if conclusion == Conclusion.CASE:
        # The case clue goes to the one clue intake: its 15-working-day verification starts from the
        # inspection's day, on the authority of the conclusion the officers signed.
        clue_intake.record(source=ClueSource.INSPECTION, actor=None, reporter=actor, entity=entity, bureau=bureau,
                           division_code=entity.division_code, source_ref=f"inspection:{inspection.pk}",
                           text=opinion or _("现场检查发现涉嫌违法行为，建议立案调查"), found_on=timezone.localdate(inspection.finished_at))
        trace.record(actor=actor, action=InspectionAction.CLUE, obj=inspection, after={"number": inspection.number})
    inspection = inspection_seal(actor=actor, inspection=inspection)
    inspection.task_moves = taskloop.advance_tasks(inspection=inspection, actor=actor)
    documents.generate_all(inspection=inspection, actor=actor, public_base_url=public_base_url)
    return inspection


def _set_state(inspection: Inspection, state: str, actor) -> None:
    before = {"state": inspection.state}
    inspection.state = state
    inspection.save(update_fields=["state", "updated_at"])
    trace.record(actor=actor, action=InspectionAction.SIGNED if state == InspectionState.SIGNED else InspectionAction.SEALED,
                 obj=inspection, before=before, after={"state": state})


