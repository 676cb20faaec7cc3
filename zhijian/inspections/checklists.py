"""Checklist versions (S1): the version in force, and publishing a new version from an old one.
Versions already used by inspections are never changed."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError

from . import loading
from .choices import InspectionAction
from .models import BusinessLine, CheckItem, ChecklistVersion


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


