"""The one clue intake: every business line records its clues here.

``record(source=…, actor=…, …)`` checks who may record a clue from that source and where, numbers
the clue under the bureau responsible for its division (``deadlines.numbering``), stores its photos,
writes its creation step, trace entry and ``clue.recorded`` event (``CLUE.record``) in the caller's
transaction, and is idempotent twice over:

* by ``client_key`` (a phone's retry; ``core.idempotency``): the replay returns the first clue;
* by ``source_ref`` (``grid:case:12``, ``inspection:7``): one clue per source and reference.

A clue found in an inspection (and, later, in mediating a complaint) is taken up for verification
at once: its 15-working-day clock starts from the day it was found (``found_on``).

Departments are suggested by whoever registered a suggester (coordination's push rules do, at
start-up): this app sits below the business lines that know the matters.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import idempotency
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction
from zhijian.core.workflow import Forbidden
from zhijian.deadlines import numbering
from zhijian.deadlines.choices import DocType
from zhijian.security.models import StoredUpload
from zhijian.security.uploads import check_upload, store_upload

from . import services
from .choices import PROCEDURE, ClueAction, ClueKind, ClueSource
from .models import Clue, ClueAttachment
from .workflow import CLUE, RECORDERS, has_role

# Sources whose clue is verified by the bureau that found it: verification starts on intake.
VERIFIED_ON_INTAKE = {ClueSource.INSPECTION, ClueSource.COMPLAINT}

Suggester = Callable[..., list]
_suggesters: list[Suggester] = []


def register_suggester(fn: Suggester) -> Suggester:
    """``fn(*, text, entity, division_code) -> [{"department_id", "department", "matter_id", "matter", "why"}]``."""
    if fn not in _suggesters:
        _suggesters.append(fn)
    return fn


def suggest(*, text: str, entity=None, division_code: str) -> list[dict]:
    """The departments the registered suggesters propose for a clue, first suggestion first."""
    out: list[dict] = []
    for fn in _suggesters:
        for s in fn(text=text, entity=entity, division_code=division_code):
            if all(s.get("department_id") != o.get("department_id") or s.get("matter_id") != o.get("matter_id") for o in out):
                out.append(s)
    return out


def _coordinate(value, low: float, high: float):
    """A longitude or latitude as a float, or None; anything else is refused (not a server error)."""
    if value in (None, ""):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and low <= v <= high):
        raise ApplicationError(_("位置坐标无效"), code="bad_position")
    return v


@transaction.atomic
def record(
    *, source: str, actor, text: str = "", division_code: str = "", place: str = "", place_name: str = "", kind: str = "",
    entity=None, industry_code: str = "", grid=None, lng=None, lat=None, raw_lng=None, raw_lat=None, accuracy_m=None,
    photos=(), matter_code: str = "", suggested: list | None = None, source_ref: str = "", client_key: str = "", bureau=None,
    found_on: dt.date | None = None, via: str = "", verify: bool | None = None, reporter=None,
) -> Clue:
    """Record a clue from ``source`` (:class:`~zhijian.clues.choices.ClueSource`).

    ``actor=None`` is the system (a handler acting on a routed grid case, an inspection's seal):
    the role and jurisdiction rules are skipped; ``reporter`` then names the person on whose finding
    it acts (the inspecting officer), else the actor is the reporter. ``photos``: uploaded files (checked as images and
    stored) or ``security.StoredUpload`` rows already stored. ``verify``: start verification at
    once (default: for inspection and complaint clues). Returns the clue (the first one on a replay).
    """
    if source not in ClueSource.values:
        raise ApplicationError(_("未知的线索来源：%(source)s") % {"source": source}, code="bad_source")
    claim = None
    if client_key:
        claim = idempotency.claim(key=client_key, actor=actor, operation="clues.record")
        if claim.replayed and claim.record.object_id:
            return Clue.objects.get(pk=int(claim.record.object_id))
    if actor is not None and not has_role(actor, RECORDERS[source]):
        raise Forbidden(_("您没有登记线索的权限"))
    text = (text or "").strip()
    place_name = (place_name or "").strip()[:200]
    if not (text or place_name):
        raise ApplicationError(_("请填写线索内容"), code="no_text")
    if kind and kind not in ClueKind.values:
        raise ApplicationError(_("线索类型无效"), code="bad_kind")
    if entity is not None:
        division_code = division_code or entity.division_code
    if grid is not None:
        division_code = division_code or grid.division_code
    if not division_code:
        raise ApplicationError(_("请选择线索所在区划"), code="no_division")
    if actor is not None and not in_jurisdiction(actor, division_code):
        raise OutOfScope(_("线索所在区划不在您的辖区内"))
    lng, lat = _coordinate(lng, -180, 180), _coordinate(lat, -90, 90)
    raw_lng, raw_lat = _coordinate(raw_lng, -180, 180), _coordinate(raw_lat, -90, 90)
    source_ref = (source_ref or "")[:64]
    if source_ref:
        existing = Clue.objects.filter(source=source, source_ref=source_ref).first()
        if existing is not None:
            return _done(claim, existing)
    bureau = bureau or numbering.bureau_for_division(division_code)
    _n, number = numbering.next_number(bureau=bureau, doc_type=DocType.CLUE)
    if suggested is None:
        suggested = suggest(text=" ".join(filter(None, [place_name, text])), entity=entity, division_code=division_code)
    fields = dict(
        number=number, source=source, source_ref=source_ref, kind=kind or "", text=text, place_name=place_name,
        place=(place or "")[:300], industry_code=(industry_code or "").strip()[:5], entity=entity, division_code=division_code,
        grid=grid, lng=lng, lat=lat, raw_lng=raw_lng, raw_lat=raw_lat,
        accuracy_m=float(accuracy_m) if accuracy_m not in (None, "") else None,
        reporter=actor if actor is not None and getattr(actor, "pk", None) else reporter, bureau=bureau,
        found_on=found_on or timezone.localdate(), matter_code=matter_code or "", suggested=suggested,
        client_key=(client_key or "")[:64],
    )
    try:
        with transaction.atomic():  # savepoint: a concurrent intake of the same reference won
            clue = Clue.objects.create(**fields)
    except IntegrityError:
        if not source_ref:
            raise
        return _done(claim, Clue.objects.get(source=source, source_ref=source_ref))
    for f in photos or ():
        stored = f if isinstance(f, StoredUpload) else store_upload(check_upload(f, kinds=["image"]), uploaded_by=actor, purpose="clue")
        ClueAttachment.objects.create(clue=clue, upload=stored)
    comment = (text or place_name)[:200]
    CLUE.record(clue, action=ClueAction.RECORD, actor=actor, comment=comment, via=via, event_extra={"comment": comment})
    if verify if verify is not None else source in VERIFIED_ON_INTAKE:
        # On the authority of the finding itself (the inspection's conclusion): the system acts.
        clue = services.clue_verify(actor=None, clue=clue, start=clue.found_on)
    return _done(claim, clue)


def _done(claim, clue: Clue) -> Clue:
    if claim is not None:
        claim.done(object_type=PROCEDURE, object_id=clue.pk)
    return clue
