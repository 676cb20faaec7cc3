"""The phone's upload checked before anything is written: officers, tasks, times, results (key items
answered), conclusion, attachments and signatures, every problem named at once (``FieldErrors``)."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zhijian.core.errors import ApplicationError
from zhijian.org.choices import RoleCode
from zhijian.security.uploads import check_upload

from .choices import ATTACHMENT_MAX_BYTES, ATTACHMENT_UPLOAD_KIND, SIGNATURE_MAX_BYTES, AttachmentKind, Conclusion
from .correction import correction_max_days
from .models import CheckItem, ChecklistVersion

MIN_OFFICERS = 2  # 行政处罚法 art. 42, SAMR order 49: at least two inspectors
CLOCK_SKEW = dt.timedelta(minutes=10)
KEY_ITEMS_NAMED = 5  # how many missing key items a refusal names (the count is always given)


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
class Coverage:
    """What a visit covers: the business lines of its tasks (of the answered items when no task
    names a line of the checklist), their items left without an answer (recorded as 未检查) and,
    among those, the key items (重点), which must be answered before the record is signed."""

    lines: list[str]
    unchecked: list[CheckItem]
    key_missing: list[CheckItem]


def coverage(*, version: ChecklistVersion, tasks, items) -> Coverage:
    """``items``: the answered check items (of ``version``)."""
    known = set(version.items.values_list("business_line__code", flat=True).distinct())
    lines = sorted({t.business_line for t in tasks if t.business_line in known})
    if not lines:
        lines = sorted({i.business_line.code for i in items})
    answered = {i.pk for i in items}
    rest = [i for i in version.items.filter(business_line__code__in=lines).select_related("business_line")
            .order_by("business_line__order", "part", "order") if i.pk not in answered]
    return Coverage(lines=lines, unchecked=rest, key_missing=[i for i in rest if i.key_item])


@dataclass
class Prepared:
    attachments: list = field(default_factory=list)  # (row dict, CheckedUpload | None, text)
    officer_signatures: dict = field(default_factory=dict)  # user id → CheckedUpload
    representative: dict = field(default_factory=dict)
    coverage: Coverage | None = None


def validate_upload(*, actor, entity, tasks, officers, results, conclusion, correction_days, started_at, finished_at,
              attachments, signatures, errors: FieldErrors):
    """Everything is checked before anything is written; returns the decoded files."""
    prepared = Prepared()
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
    items = CheckItem.objects.select_related("business_line").in_bulk([r["item_id"] for r in results])
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
    if version is not None and not any(k.startswith("results[") for k in errors.errors):
        prepared.coverage = coverage(version=version, tasks=tasks, items=[items[r["item_id"]] for r in results])
        missing = prepared.coverage.key_missing
        if missing:
            named = "、".join(f"{i.business_line.name} {i.number}" for i in missing[:KEY_ITEMS_NAMED])
            more = "" if len(missing) <= KEY_ITEMS_NAMED else _("等")
            errors.add("results", ngettext(
                "重点事项须逐项检查后才能签名：还有 %(n)d 项重点事项未检查（%(items)s%(more)s）",
                "重点事项须逐项检查后才能签名：还有 %(n)d 项重点事项未检查（%(items)s%(more)s）", len(missing),
            ) % {"n": len(missing), "items": named, "more": more})
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


