"""Writes of the inspections app: checklist versions, and the on-site inspection from upload to
sealed record. Every write is keyword-only and atomic, with its trace entry and event in the
same transaction; illegal steps raise ApplicationError (field errors in ``extra``)."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.clues import intake as clue_intake
from zhijian.clues.choices import ClueSource
from zhijian.core import events, signing, trace
from zhijian.core.errors import ApplicationError
from zhijian.deadlines import clocks
from zhijian.deadlines.choices import DocType
from zhijian.deadlines.numbering import next_number
from zhijian.org.choices import RoleCode
from zhijian.security.uploads import check_upload, store_upload
from zhijian.supervision.tasks import task_link_record

from . import documents, loading
from .choices import (
    ATTACHMENT_MAX_BYTES, ATTACHMENT_UPLOAD_KIND, SIGNATURE_MAX_BYTES, AttachmentKind, Conclusion,
    InspectionAction, InspectionState, SignerRole,
)
from .correction import CLOCK_PROCEDURE, CORRECTION_CLOCK, CORRECTION_MAX_RULE, correction_max_days
from .models import (
    Attachment, BusinessLine, CheckItem, ChecklistVersion, Inspection,
    InspectionOfficer, ItemResult, Signature,
)

MIN_OFFICERS = 2  # 行政处罚法 art. 42, SAMR order 49: at least two inspectors
CLOCK_SKEW = dt.timedelta(minutes=10)
TASK_RECORD_KIND = "inspection_record"
SEAL_FORMAT = 1


# --- checklists -----------------------------------------------------------------------------------
def current_version(on: dt.date | None = None) -> ChecklistVersion | None:
    """The published checklist version in force on ``on`` (default today)."""
    on = on or timezone.localdate()
    return ChecklistVersion.objects.filter(published=True, effective_on__lte=on).order_by("-effective_on", "-number").first()


@transaction.atomic
def checklist_publish(*, actor, based_on: ChecklistVersion, changes: dict) -> ChecklistVersion:
    """Publish a new checklist version: ``based_on``'s items copied, then ``changes`` applied.

    ``changes`` keys (all optional):
    - ``lines``: ``[{"code", "name"}]`` business lines to create (or rename);
    - ``add``: ``[{"business_line", "part", "section", "number", "text", "key_item", "basis"}]``;
    - ``update``: ``{"<line>/<part>/<number>": {field: value}}`` for text, section, key_item, basis;
    - ``remove``: ``["<line>/<part>/<number>", …]``;
    - ``effective_on`` (date, default today) and ``note``.
    Versions already used by inspections are never changed: they keep their own items.
    """
    if not based_on.published:
        raise ApplicationError(_("只能基于已发布的清单版本发布新版本"), code="not_published")
    last = ChecklistVersion.objects.select_for_update().order_by("-number").first()
    version = ChecklistVersion.objects.create(
        number=last.number + 1, effective_on=changes.get("effective_on") or timezone.localdate(), published=True,
        published_at=timezone.now(), published_by=actor if getattr(actor, "pk", None) else None, based_on=based_on,
        note=str(changes.get("note", ""))[:300],
    )
    for row in changes.get("lines", []):
        code, name = str(row.get("code", "")).strip(), str(row.get("name", "")).strip()
        if not code or not name:
            raise ApplicationError(_("业务条线须有代码和名称"), code="invalid", extra={"lines": [_("业务条线须有代码和名称")]})
        BusinessLine.objects.update_or_create(code=code, defaults={"name": name})
    lines = {b.code: b for b in BusinessLine.objects.all()}

    def key(item) -> str:
        return f"{item.business_line.code}/{item.part}/{item.number}"

    remove = set(changes.get("remove", []))
    updates = dict(changes.get("update", {}))
    copied, links = [], []
    for item in based_on.items.select_related("business_line").prefetch_related("articles"):
        k = key(item)
        if k in remove:
            remove.discard(k)
            continue
        patch = updates.pop(k, {})
        new = CheckItem(version=version, business_line=item.business_line, part=item.part, section=item.section,
                        section_note=item.section_note, number=item.number, text=item.text, key_item=item.key_item,
                        basis=item.basis, order=item.order)
        for name in ("text", "section", "key_item", "basis", "section_note"):
            if name in patch:
                setattr(new, name, patch[name])
        copied.append((new, None if "basis" in patch else [a.pk for a in item.articles.all()]))
    unknown = sorted(remove | set(updates))
    if unknown:
        raise ApplicationError(_("清单中没有这些事项：%(keys)s") % {"keys": "、".join(unknown)}, code="invalid", extra={"items": unknown})
    order = max([n.order for n, _a in copied], default=0)
    for row in changes.get("add", []):
        line = lines.get(row.get("business_line"))
        if line is None or not row.get("number") or not row.get("text"):
            raise ApplicationError(_("新增事项须有业务条线、序号和检查内容"), code="invalid", extra={"add": [row]})
        order += 1
        copied.append((CheckItem(version=version, business_line=line, part=row.get("part", ""), section=row.get("section", ""),
                                 number=row["number"], text=row["text"], key_item=bool(row.get("key_item")),
                                 basis=row.get("basis", ""), order=row.get("order", order)), None))
    CheckItem.objects.bulk_create([n for n, _a in copied])
    for new, article_ids in copied:
        ids = article_ids if article_ids is not None else [a.pk for a in loading.resolve_basis(new.basis)]
        links.extend(CheckItem.articles.through(checkitem_id=new.pk, lawarticle_id=i) for i in ids)
    CheckItem.articles.through.objects.bulk_create(links)
    after = {"number": version.number, "based_on": based_on.number, "items": len(copied), "effective_on": version.effective_on}
    trace.record(actor=actor, action=InspectionAction.CHECKLIST_PUBLISHED, obj=version, after=after)
    events.emit("checklist.published", payload=after, object_type="inspections.checklistversion", object_id=version.pk)
    return version


# --- inspection input -----------------------------------------------------------------------------
@dataclass
class FieldErrors:
    """Collects field-level problems so the caller learns all of them at once."""

    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message) -> None:
        self.errors.setdefault(name, []).append(str(message))

    def raise_if_any(self):
        if self.errors:
            first = next(iter(self.errors.values()))[0]
            raise ApplicationError(first, code="invalid", extra=self.errors)


def _b64decode(text: str) -> bytes:
    text = (text or "").strip()
    if text.startswith("data:"):
        header, _sep, text = text.partition(",")
        if ";base64" not in header:
            raise ValueError("not base64")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _decoded(text: str, max_bytes: int, errors: FieldErrors, where: str) -> bytes | None:
    if len(text or "") > (max_bytes * 4) // 3 + 200:  # refuse before decoding a huge string
        errors.add(where, _("文件过大：上限 %(kb)d KB") % {"kb": max_bytes // 1024})
        return None
    try:
        raw = _b64decode(text)
    except (binascii.Error, ValueError):
        errors.add(where, _("不是有效的 base64 数据"))
        return None
    if not raw:
        errors.add(where, _("内容为空"))
        return None
    return raw


def _checked(raw: bytes, *, kind: str, name: str, max_bytes: int, errors: FieldErrors, where: str):
    buffer = io.BytesIO(raw)
    buffer.name = name
    try:
        return check_upload(buffer, kinds=[kind], max_bytes=max_bytes)
    except ApplicationError as exc:
        errors.add(where, exc.message)
        return None


@dataclass
class _Prepared:
    attachments: list = field(default_factory=list)  # (row dict, CheckedUpload | None, text)
    officer_signatures: dict = field(default_factory=dict)  # user id → CheckedUpload
    representative: dict = field(default_factory=dict)


def _validate(*, actor, entity, tasks, officers, results, conclusion, correction_days, started_at, finished_at,
              attachments, signatures, errors: FieldErrors):
    """Everything is checked before anything is written; returns the decoded files."""
    prepared = _Prepared()
    # Officers: at least two distinct people with an enforcement certificate, the caller among them.
    officer_ids = [o.pk for o in officers]
    if len(set(officer_ids)) != len(officer_ids):
        errors.add("officer_ids", _("检查人员重复"))
    if len(set(officer_ids)) < MIN_OFFICERS:
        errors.add("officer_ids", _("现场检查须有至少 %(n)d 名执法人员") % {"n": MIN_OFFICERS})
    for o in officers:
        if not o.is_active or not o.has_role(RoleCode.ENFORCEMENT_OFFICER):
            errors.add("officer_ids", _("%(name)s 不是执法人员") % {"name": o})
        elif not (o.enforcement_cert_no or "").strip():
            errors.add("officer_ids", _("%(name)s 没有执法证号，不能参加现场检查") % {"name": o})
    if actor.pk not in officer_ids:
        errors.add("officer_ids", _("上传人必须是检查人员之一"))
    # Tasks: open tasks of this entity.
    for t in tasks:
        if t.entity_id != entity.pk:
            errors.add("task_ids", _("任务 %(n)s 不属于该主体") % {"n": t.number or t.pk})
        elif t.state in ("archived", "cancelled"):
            errors.add("task_ids", _("任务 %(n)s 已办结，不能再关联检查") % {"n": t.number or t.pk})
    # Times.
    if finished_at < started_at:
        errors.add("finished_at", _("检查结束时间早于开始时间"))
    if finished_at > timezone.now() + CLOCK_SKEW:
        errors.add("finished_at", _("检查结束时间不能晚于当前时间"))
    # Results.
    if not results:
        errors.add("results", _("至少须有一项检查结果"))
    seen, versions = set(), set()
    items = CheckItem.objects.in_bulk([r["item_id"] for r in results])
    for i, r in enumerate(results):
        item = items.get(r["item_id"])
        if item is None:
            errors.add(f"results[{i}].item_id", _("未知的检查事项：%(id)s") % {"id": r["item_id"]})
            continue
        if item.pk in seen:
            errors.add(f"results[{i}].item_id", _("检查事项重复：%(id)s") % {"id": r["item_id"]})
        seen.add(item.pk)
        versions.add(item.version_id)
    if len(versions) > 1:
        errors.add("results", _("检查事项须来自同一清单版本"))
    version = ChecklistVersion.objects.filter(pk__in=versions, published=True).first() if len(versions) == 1 else None
    if len(versions) == 1 and version is None:
        errors.add("results", _("检查事项所在的清单版本未发布"))
    # Conclusion.
    if conclusion == Conclusion.CORRECT:
        longest = correction_max_days(timezone.localdate(started_at))
        if not correction_days or not 1 <= correction_days <= longest:
            errors.add("correction_days", _("责令改正须给出 1–%(max)d 个工作日的期限") % {"max": longest})
    elif correction_days:
        errors.add("correction_days", _("只有“责令限期改正”的结论才有整改期限"))
    # Attachments.
    client_ids = set()
    for i, a in enumerate(attachments):
        where = f"attachments[{i}]"
        kind = a["kind"]
        if a.get("client_id"):
            if a["client_id"] in client_ids:
                errors.add(f"{where}.client_id", _("附件编号重复"))
            client_ids.add(a["client_id"])
        raw = _decoded(a["data_base64"], ATTACHMENT_MAX_BYTES[kind], errors, f"{where}.data_base64")
        if raw is None:
            continue
        if kind == AttachmentKind.TEXT:
            if len(raw) > ATTACHMENT_MAX_BYTES[kind]:
                errors.add(f"{where}.data_base64", _("文件过大：上限 %(kb)d KB") % {"kb": ATTACHMENT_MAX_BYTES[kind] // 1024})
                continue
            try:
                prepared.attachments.append((a, None, raw.decode("utf-8")))
            except UnicodeDecodeError:
                errors.add(f"{where}.data_base64", _("文字附件须为 UTF-8 文本"))
            continue
        checked = _checked(raw, kind=ATTACHMENT_UPLOAD_KIND[kind], name=a.get("name") or a.get("client_id") or kind,
                           max_bytes=ATTACHMENT_MAX_BYTES[kind], errors=errors, where=f"{where}.data_base64")
        if checked:
            prepared.attachments.append((a, checked, ""))
    # Signatures: every officer, and the representative or their recorded refusal.
    officer_sigs = {str(k): v for k, v in (signatures.get("officers") or {}).items()}
    for o in officers:
        where = f"signatures.officers.{o.pk}"
        data = officer_sigs.pop(str(o.pk), None)
        if not data:
            errors.add(where, _("缺少执法人员 %(name)s 的签名") % {"name": o})
            continue
        raw = _decoded(data, SIGNATURE_MAX_BYTES, errors, where)
        checked = raw and _checked(raw, kind="image", name=f"signature-{o.pk}.png", max_bytes=SIGNATURE_MAX_BYTES, errors=errors, where=where)
        if checked and checked.content_type != "image/png":
            errors.add(where, _("签名须为 PNG 图片"))
        elif checked:
            prepared.officer_signatures[o.pk] = checked
    for extra_id in officer_sigs:
        errors.add(f"signatures.officers.{extra_id}", _("签名人不是本次检查人员"))
    rep = signatures.get("representative") or {}
    where = "signatures.representative"
    if rep.get("refused"):
        if not (rep.get("reason") or "").strip():
            errors.add(f"{where}.reason", _("当事人拒绝签名时须记录原因"))
        media = [a for a, checked, _t in prepared.attachments if a["kind"] in (AttachmentKind.VOICE, AttachmentKind.VIDEO)]
        if not (rep.get("witness") or "").strip() and not media:
            errors.add(f"{where}.witness", _("当事人拒绝签名时须有见证人或录音录像"))
        prepared.representative = {"refused": True, "reason": (rep.get("reason") or "").strip(),
                                   "witness": (rep.get("witness") or "").strip(), "media": media[0] if media else None}
    else:
        name = (rep.get("name") or "").strip()
        if not name:
            errors.add(f"{where}.name", _("缺少当事人（负责人）姓名"))
        if not rep.get("image"):
            errors.add(f"{where}.image", _("缺少当事人签名；当事人拒绝签名时须注明"))
        else:
            raw = _decoded(rep["image"], SIGNATURE_MAX_BYTES, errors, f"{where}.image")
            checked = raw and _checked(raw, kind="image", name="signature-representative.png", max_bytes=SIGNATURE_MAX_BYTES,
                                       errors=errors, where=f"{where}.image")
            if checked and checked.content_type != "image/png":
                errors.add(f"{where}.image", _("签名须为 PNG 图片"))
            elif checked:
                prepared.representative = {"refused": False, "name": name[:50], "image": checked}
    return version, prepared


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
    version, prepared = _validate(
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
    ])
    stored = {}
    for a, checked, text in prepared.attachments:
        upload = store_upload(checked, uploaded_by=actor, purpose="inspection_attachment") if checked else None
        att = Attachment.objects.create(
            inspection=inspection, client_id=(a.get("client_id") or "")[:64], kind=a["kind"], name=(a.get("name") or "")[:200],
            upload=upload, text=text, sha256=checked.sha256 if checked else hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
        stored[id(a)] = att
    trace.record(actor=actor, action=InspectionAction.CREATED, obj=inspection,
                 after={"client_key": client_key, "number": inspection.number, "entity": entity.credit_code, "results": len(results)})
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
    documents.generate_all(inspection=inspection, actor=actor, public_base_url=public_base_url)
    return inspection


def _set_state(inspection: Inspection, state: str, actor) -> None:
    before = {"state": inspection.state}
    inspection.state = state
    inspection.save(update_fields=["state", "updated_at"])
    trace.record(actor=actor, action=InspectionAction.SIGNED if state == InspectionState.SIGNED else InspectionAction.SEALED,
                 obj=inspection, before=before, after={"state": state})


# --- sealing --------------------------------------------------------------------------------------
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
