"""The push (C1): each registry event's entities matched against the compiled rules and written,
set-based, into the departments' inboxes; then the village's first visit announced (G1).

One ``push_events`` call pushes a whole list of ``entity.*`` events (import chunks of up to 5,000
codes, single registrations, changes): one query per 900 codes for the entities, matching in
memory, one set-based insert of the items (``COPY``-fed on PostgreSQL), one ``push.created`` event
per department and county, one trace entry. Idempotent: one item per (entity, matter, department,
trigger event). Items carry their own creation (``PushItem.creation_step``): the system's push
writes no step rows; a person's push (reassignment, replay) writes its ``create`` step.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from zhijian.core import events, trace
from zhijian.core.models import WorkflowStep
from zhijian.core.scoping import common_division
from zhijian.deadlines import clocks
from zhijian.deadlines.rules import due
from zhijian.entities.models import MarketEntity
from zhijian.org.models import Department
from zhijian.supervision.models import Task

from . import engine
from .choices import PUSH_PROCEDURE, PushAction, PushState, PushTrigger
from .models import PushItem

# The village's first visit (G1): a supervision task of this line, one per entity and trigger.
VILLAGE_BUSINESS_LINE = "grid_first_visit"
VILLAGE_EVENT = "village.notify"  # internal: only the handler ``coordination.village`` reads it

_due_memo: dict[tuple[str, dt.date], tuple[float, dt.date]] = {}


def _due_on(rule_code: str, start: dt.date) -> dt.date | None:
    """Due date of a day rule (memoised for a minute: every entity of a burst shares it)."""
    if not rule_code:
        return None
    now = time.monotonic()
    hit = _due_memo.get((rule_code, start))
    if hit and now - hit[0] < 60:
        return hit[1]
    value = due(rule_code, start).due_date
    if len(_due_memo) > 1000:
        _due_memo.clear()
    _due_memo[(rule_code, start)] = (now, value)
    return value


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def _deadline(rule: engine.CompiledRule, pushed_at: dt.datetime) -> tuple[dt.date | None, dt.datetime | None]:
    due_on = _due_on(rule.deadline_rule, timezone.localdate(pushed_at))
    if rule.deadline_hours:
        return due_on, pushed_at + dt.timedelta(hours=rule.deadline_hours)
    return due_on, _end_of(due_on) if due_on else None


@dataclass
class PushBatch:
    """What one trigger pushed for one entity (announced to its village, ``villages.py``)."""

    entity: object
    trigger: str
    trigger_key: str
    source_event_id: int | None
    # the names of the departments it was pushed to (one per new item)
    items: list = field(default_factory=list)


def _licences(entity, snapshot: dict | None) -> list[str]:
    # The registry has no licence list yet: take it from the event payload when a sender adds one.
    values = (snapshot or {}).get("licence_types") or getattr(entity, "licence_types", None) or []
    return [str(v) for v in values]


def chunks(seq: list, n: int = 900):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _items_trace(batches: list[PushBatch], rows: list[list], actor=None) -> dict | None:
    """The trace entry of one push (``trace.record`` keyword arguments): on the entity when one
    entity was pushed (as always), else one entry for the batch with a digest of every item.
    ``rows``: [item id, entity id, department, matter, rule, rule version, trigger key, division]."""
    if not rows:
        return None
    entities = {b.entity.pk: b.entity for b in batches if b.items}
    if len(entities) == 1:
        entity = next(iter(entities.values()))
        return {"actor": actor, "action": "push.created", "object_type": "entities.marketentity",
                "object_id": entity.credit_code, "division_code": entity.division_code,
                "after": {"trigger": rows[0][6], "items": [r[:1] + r[2:6] for r in rows]}}
    keys = sorted({r[6] for r in rows})
    digest = hashlib.sha256("\n".join("|".join(map(str, r[:7])) for r in rows).encode()).hexdigest()
    return {"actor": actor, "action": "push.created", "object_type": "coordination.pushbatch",
            "object_id": (keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}")[:64],
            "division_code": common_division([r[7] for r in rows]),
            "after": {"triggers": keys, "entities": len(entities), "items": len(rows), "first_item": rows[0][0],
                      "last_item": rows[-1][0], "items_sha256": digest}}


EVENT_ITEMS = 500
DEPARTMENT_TYPE = "org.department"


_ENCODER = DjangoJSONEncoder()


def _json_scalar(value):
    """A date or time as the events' JSON encoder writes it (``None`` stays ``None``)."""
    return None if value is None else _ENCODER.default(value)


ITEM_COLUMNS = ["entity_id", "department_id", "matter_id", "rule_id", "rule_version", "matched_on", "trigger", "trigger_key",
                "source_event_id", "division_code", "state", "deadline_rule", "deadline_hours", "due_on", "due_at", "created_at"]
# An item's columns split by what varies them: the entity's push, or the target (rule, department).
_ENTITY_COLUMNS = ["entity_id", "trigger", "trigger_key", "source_event_id", "division_code"]
_TARGET_COLUMNS = ["department_id", "matter_id", "rule_id", "rule_version", "matched_on", "deadline_rule", "deadline_hours", "due_on",
                   "due_at"]

# A person's push writes its creation step (``core.WorkflowStep``) with these columns.
STEP_COLUMNS = ["procedure", "object_id", "division_code", "entity_id", "action", "from_state", "to_state", "actor_id", "via", "comment",
                "at"]

def _insert_items_pg(entity_rows: list[tuple], set_rows: list[tuple], now) -> list[tuple]:
    """PostgreSQL: every item of every (entity, target set) pair by one ``INSERT … SELECT`` that
    the server expands from two arrays — 5,000 entities and a few hundred targets travel, not
    30,000 rows — skipping items that exist already (the unique key, ``ON CONFLICT``).

    ``entity_rows``: (target set, *_ENTITY_COLUMNS); ``set_rows``: (target set, *_TARGET_COLUMNS).
    Returns (id, entity id, trigger key, matter, department) of the new items in id order."""
    meta = PushItem._meta
    q = connection.ops.quote_name
    rest = events.column_defaults(PushItem, ITEM_COLUMNS, now=now)

    def typed(names):
        return ", ".join(f"%s::{events.field_by_attname(meta, n).db_type(connection)}[]" for n in names)

    cols = ", ".join(q(c) for c in [*(events.field_by_attname(meta, n).column for n in ITEM_COLUMNS), *(f.column for f, _v in rest)])
    sql = (f"INSERT INTO {q(meta.db_table)} ({cols}) "
           "SELECT e.entity_id, t.department_id, t.matter_id, t.rule_id, t.rule_version, t.matched_on, e.trigger, e.trigger_key, "
           "e.source_event_id, e.division_code, %s, t.deadline_rule, t.deadline_hours, t.due_on, t.due_at, %s::timestamptz"
           + "".join(f", %s::{f.db_type(connection)}" for f, _v in rest)
           + f" FROM unnest(%s::integer[], {typed(_ENTITY_COLUMNS)}) WITH ORDINALITY AS e(tset, {', '.join(_ENTITY_COLUMNS)}, n)"
           f" JOIN unnest(%s::integer[], {typed(_TARGET_COLUMNS)}) WITH ORDINALITY AS t(tset, {', '.join(_TARGET_COLUMNS)}, m)"
           " USING (tset) ORDER BY e.n, t.m ON CONFLICT DO NOTHING"
           " RETURNING id, entity_id, trigger_key, matter_id, department_id")
    params = [PushState.PUSHED, now, *(f.get_db_prep_value(v, connection) for f, v in rest),
              *(list(col) for col in zip(*entity_rows)), *(list(col) for col in zip(*set_rows))]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return sorted(cur.fetchall())


def _insert_items_rows(entity_rows: list[tuple], set_rows: list[tuple], now) -> list[tuple]:
    """Any database: the same items expanded here, the existing ones found by one query per 900
    entities, the rest inserted set-based (``events.insert_values``). Same result as the above."""
    targets: dict[int, list[tuple]] = {}
    for tset, *t in set_rows:
        targets.setdefault(tset, []).append(t)
    keys = sorted({r[3] for r in entity_rows})
    existing: set = set()
    for part in chunks(sorted({r[1] for r in entity_rows})):
        existing.update(PushItem.objects.filter(entity_id__in=part, trigger_key__in=keys)
                        .values_list("entity_id", "trigger_key", "matter_id", "department_id"))
    rows = []
    for tset, entity_id, trigger, trigger_key, source_event_id, division_code in entity_rows:
        for dept, matter, rule, version, matched_on, deadline_rule, hours, due_on, due_at in targets[tset]:
            key = (entity_id, trigger_key, matter, dept)
            if key in existing:
                continue
            existing.add(key)
            rows.append([entity_id, dept, matter, rule, version, matched_on, trigger, trigger_key, source_event_id, division_code,
                         PushState.PUSHED, deadline_rule, hours, due_on, due_at, now])
    ids = events.insert_values(PushItem, ITEM_COLUMNS, rows)
    return [(i, r[0], r[7], r[2], r[1]) for i, r in zip(ids, rows)]


def _create_items_bulk(batches: list[tuple[PushBatch, list]], *, actor=None, via="system",
                       objects: bool = False) -> tuple[list, dict | None]:
    """Write the items of many (entity, trigger) pushes at once: one set-based insert of the items
    that do not exist yet (no model instances; their creation steps only when a person pushes, see
    ``PushItem.timeline``), one ``push.created`` event per department and county listing its
    items. Pushes share their target lists (memoised per scope and division by the caller), so
    each distinct list is laid out once. Fills each batch's ``items`` with the departments' names;
    returns (the new items as ``PushItem`` instances if ``objects`` else their ids, the trace
    entry to record — the caller appends it with its other entries, chain heads in order)."""
    wanted = [(b, targets) for b, targets in batches if targets]
    if not wanted:
        return [], None
    now = timezone.now()
    deadlines: dict[int, tuple] = {}
    set_of: dict[int, int] = {}  # id(target list) → its number
    set_rows: list[tuple] = []
    target_of: dict[tuple[int, int, int], tuple] = {}  # (set, matter, department) → (rule, matched on)
    entity_rows: list[tuple] = []
    batch_of: dict[tuple[int, str], tuple[PushBatch, int]] = {}  # (entity, trigger key) → (push, set)
    for b, targets in wanted:
        tset = set_of.get(id(targets))
        if tset is None:
            tset = set_of[id(targets)] = len(set_of)
            for m, dept in targets:
                rule = m.rule
                if rule.id not in deadlines:
                    deadlines[rule.id] = _deadline(rule, now)
                due_on, due_at = deadlines[rule.id]
                matched_on = "；".join(m.reasons)[:200]
                set_rows.append((tset, dept, rule.matter_id, rule.id, rule.version, matched_on, rule.deadline_rule, rule.deadline_hours,
                                 due_on, due_at))
                target_of[(tset, rule.matter_id, dept)] = (rule, matched_on)
        e = b.entity
        entity_rows.append((tset, e.pk, b.trigger, b.trigger_key, b.source_event_id, e.division_code))
        batch_of[(e.pk, b.trigger_key)] = (b, tset)
    insert = _insert_items_pg if connection.vendor == "postgresql" else _insert_items_rows
    new = insert(entity_rows, set_rows, now)
    if not new:
        return [], None
    depts = {d.pk: d for d in Department.objects.filter(pk__in={r[4] for r in new})}
    dept_json = {d.pk: {"id": d.pk, "code": d.code, "name": d.name} for d in depts.values()}
    ids = [r[0] for r in new]
    actor_id = actor.pk if actor is not None and getattr(actor, "pk", None) else None
    # One push.created per department and county of the batch (up to EVENT_ITEMS items each): a
    # chunk of 5,000 registrations makes a few dozen events and webhook calls, not tens of thousands.
    # The parts every item of a rule shares are built once, the deadline's date and time already as
    # the JSON encoder writes them (one conversion per rule, not two per item): the same payload.
    per_rule: dict[int, tuple[dict, dict]] = {}
    rule_json: dict[tuple[int, str], dict] = {}
    groups: dict[tuple[int, str], list[dict]] = {}
    steps, trace_rows, timed = [], [], []
    today = timezone.localdate(now)
    for i, entity_id, trigger_key, matter_id, dept in new:
        b, tset = batch_of[(entity_id, trigger_key)]
        rule, matched_on = target_of[(tset, matter_id, dept)]
        e = b.entity
        b.items.append(depts[dept].name)
        if rule.deadline_rule:  # the matter's day limit: the item's clock (warnings, overdue), from the push day
            timed.append({"procedure": PUSH_PROCEDURE, "object_id": i, "rule": rule.deadline_rule, "start": today,
                          "division_code": e.division_code, "entity_id": entity_id})
        trace_rows.append([i, entity_id, dept, matter_id, rule.id, rule.version, trigger_key, e.division_code])
        if actor_id is not None or via != "system":
            steps.append([PUSH_PROCEDURE, i, e.division_code, entity_id, PushAction.CREATE, "", PushState.PUSHED, actor_id, via,
                          matched_on, now])
        shared = per_rule.get(rule.id)
        if shared is None:
            due_on, due_at = deadlines[rule.id]
            shared = per_rule[rule.id] = ({"id": matter_id, "name": rule.matter_name},
                                          {"rule": rule.deadline_rule, "hours": rule.deadline_hours, "due_on": _json_scalar(due_on),
                                           "due_at": _json_scalar(due_at)})
        matched = rule_json.get((rule.id, matched_on))
        if matched is None:
            matched = rule_json[(rule.id, matched_on)] = {"id": rule.id, "name": rule.name, "version": rule.version,
                                                          "matched_on": matched_on}
        groups.setdefault((dept, e.division_code[:6]), []).append({
            "item_id": i, "state": PushState.PUSHED, "trigger": b.trigger,
            "credit_code": e.credit_code, "entity_name": e.name, "division_code": e.division_code, "industry_code": e.industry_code,
            "matter": shared[0], "rule": matched, "deadline": shared[1],
            "feedback": f"/api/v1/push-items/{i}/",
        })
    if steps:
        # A person's push (reassignment, replay) keeps its creation step: who and through what.
        # The system's push stores none: the item records it (``PushItem.creation_step``).
        events.insert_values(WorkflowStep, STEP_COLUMNS, steps)
    clocks.start_many(timed, actor=actor)  # one INSERT and one event insert for the whole batch
    out = []
    for (dept, county), items in groups.items():
        d = dept_json[dept]
        for start in range(0, len(items), EVENT_ITEMS):
            part = items[start:start + EVENT_ITEMS]
            division = common_division([it["division_code"] for it in part]) or county
            out.append(("push.created", {"department": d, "department_code": d["code"], "division_code": division,
                                         "count": len(part), "items": part}, division, DEPARTMENT_TYPE, dept))
    events.emit_rows(out)
    entry = _items_trace([b for b, _t in wanted], trace_rows, actor=actor)
    if objects:
        return list(PushItem.objects.filter(pk__in=ids).select_related("department").order_by("pk")), entry
    return ids, entry


def create_items(entity, targets, *, trigger, trigger_key, source_event_id, actor=None, via="system") -> list[PushItem]:
    """One entity's push (reassign, replay): the bulk path with a batch of one, traced at once."""
    items, entry = _create_items_bulk([(PushBatch(entity, trigger, trigger_key, source_event_id), targets)], actor=actor, via=via,
                                      objects=True)
    if entry:
        trace.record_many(actor, [entry])
    return items


def village_tasks_of(push_batches: list[PushBatch]) -> set:
    """(entity id, source_ref) of the village tasks these pushes already have."""
    refs = {f"push:{b.trigger_key}"[:64] for b in push_batches}
    have: set = set()
    ids = sorted({b.entity.pk for b in push_batches})
    for part in chunks(ids):
        have.update(Task.objects.filter(entity_id__in=part, business_line=VILLAGE_BUSINESS_LINE, source_ref__in=refs)
                    .values_list("entity_id", "source_ref"))
    return have


VILLAGE_TRIGGERS = {PushTrigger.CREATED, PushTrigger.ADDRESS_CHANGED, PushTrigger.CHANGED}
# Fields whose change can change which matters an entity belongs to.
RELEVANT_FIELDS = {"business_scope", "industry_code", "licence_types"}


def _work_of(event) -> list[tuple[str, str, bool, dict | None]]:
    """(credit code, trigger, village?, snapshot) for each entity an ``entity.*`` event pushes."""
    if event.type == "entity.imported":
        if event.payload.get("stock"):  # the existing register loaded at switch-on: nothing is new to anyone
            return []
        created = list(event.payload.get("created") or [])
        updated = list(event.payload.get("updated") or [])
        new = set(created)
        # Rows new to the registry also go to their village; changed rows only to departments.
        return [(c, PushTrigger.IMPORTED, c in new, None) for c in dict.fromkeys(created + updated)]
    if event.type == "entity.created":
        trigger = PushTrigger.CREATED
    elif event.type == "entity.address_changed":
        trigger = PushTrigger.ADDRESS_CHANGED
    elif event.type == "entity.changed" and RELEVANT_FIELDS & set(event.payload.get("changed") or {}):
        trigger = PushTrigger.CHANGED
    else:
        return []
    code = event.payload.get("credit_code") or event.object_id
    return [(code, trigger, trigger in VILLAGE_TRIGGERS, event.payload.get("entity"))]


class _EntityRow:
    """The columns a push reads of an entity: an import chunk's 5,000 model instances cost more
    to build than to match."""

    __slots__ = ("pk", "credit_code", "name", "division_code", "industry_code", "business_scope")

    def __init__(self, *values):
        for attr, value in zip(self.__slots__, values):
            setattr(self, attr, value)


@transaction.atomic
def push_events(evs: list, *, index=None) -> list[PushBatch]:
    """C1, set-based: push every entity of a list of ``entity.*`` events (import chunks of up to
    5,000 codes, single registrations, changes) in one go.

    One query per 900 codes loads the entities; each is matched in memory against the compiled
    rules (identical (industry, scope, licences) matched once); the items of all of them are
    written by one set-based insert with one ``push.created`` event per department and county, and
    one trace entry; the village tasks follow from one ``village.notify`` event
    (``villages.villages_from_events``, ``supervision.tasks_create_bulk``, one trace entry).
    Idempotent: one item per (entity, matter, department, trigger event), one village task per
    (entity, trigger event).
    """
    work = [(ev, *w) for ev in evs for w in _work_of(ev)]
    if not work:
        return []
    codes = list(dict.fromkeys(code for _ev, code, *_r in work))
    entities = {}
    for part in chunks(codes):
        for row in MarketEntity.objects.filter(credit_code__in=part).values_list(*_EntityRow.__slots__):
            entities[row[1]] = _EntityRow(*row)
    index = index or engine.current_index()
    memo: dict[tuple, list] = {}
    # (match key, division) → targets: a chunk of 5,000 has a few hundred distinct ones.
    target_memo: dict[tuple, list] = {}
    batches: list[tuple[PushBatch, list]] = []
    village: list[PushBatch] = []
    for ev, code, trigger, to_village, snapshot in work:
        entity = entities.get(code)
        if entity is None:
            continue
        licences = tuple(_licences(entity, snapshot))
        # An event that carries the entity's state is matched on it (a redelivered registration
        # gives what it gave then, not what a later change made of the entity).
        snap = snapshot or {}
        key = (snap.get("industry_code", entity.industry_code), snap.get("business_scope", entity.business_scope), licences)
        matches = memo.get(key)
        if matches is None:
            matches = memo[key] = index.match(industry_code=key[0], business_scope=key[1], licence_types=licences)
        targets = target_memo.get((key, entity.division_code))
        if targets is None:
            targets = target_memo[(key, entity.division_code)] = engine.targets(matches, entity.division_code)
        b = PushBatch(entity, trigger, f"event:{ev.id}", ev.id)
        batches.append((b, targets))
        if to_village:
            village.append(b)
    _items, entry = _create_items_bulk(batches)
    if entry:
        trace.record_many(None, [entry])
    # A redelivered event finds its village tasks there already; inline, the events are brand new
    # (uncommitted): no task can name them yet.
    if village and not events.inline():
        have = village_tasks_of(village)
        village = [b for b in village if (b.entity.pk, f"push:{b.trigger_key}"[:64]) not in have]
    if village:
        # The village tasks follow in a transaction of their own (handler ``coordination.village``
        # on this event): a chunk's inbox items commit without waiting for them, and a burst of
        # registrations reaches every inbox before the villages' work (G1 allows an hour).
        pushes = [[b.entity.pk, b.trigger, b.trigger_key, b.source_event_id, b.items] for b in village]
        division = common_division([b.entity.division_code for b in village])
        events.emit_rows([(VILLAGE_EVENT, {"pushes": pushes}, division, "", "")])
    return [b for b, _t in batches]

