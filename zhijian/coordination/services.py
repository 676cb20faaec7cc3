"""Writes of coordinated supervision: push (C1), feedback (C2), clue transfer (C4), rule admin.

Every write is keyword-only and atomic, writes its timeline step, a trace entry and an event in
the same transaction, and refuses an illegal step with ``ApplicationError`` (Chinese message).
``actor=None`` is the system (the event handler, imports, tests): role and jurisdiction guards
are skipped, state guards are not.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import common_division, in_jurisdiction
from zhijian.org.choices import RoleCode

from . import engine
from .choices import ClueAction, ClueState, PushAction, PushState, PushTrigger
from .models import (
    Clue, ClueAttachment, ClueStep, PushItem, PushReplay, PushRule, PushStep, RuleSetRevision, SupervisionMatter,
)

ITEM_TYPE = "coordination.pushitem"
CLUE_TYPE = "coordination.clue"
VILLAGE_BUSINESS_LINE = "grid_first_visit"
VILLAGE_DEADLINE_RULE = "grid.first_visit"
# Hour-based limits are data here, not day rules: the village receives a registration within 1 h.
VILLAGE_RECEIPT_HOURS = 1

RULE_ADMINS = {RoleCode.LEADER, RoleCode.SYSTEM_ADMIN}
REPLAYERS = {RoleCode.LEADER}
TOWN_OFFICE = {RoleCode.DISPATCHER, RoleCode.LEADER}
CLUE_RECORDERS = {RoleCode.GRID_OFFICER, RoleCode.ASSISTANT, RoleCode.INFORMANT, RoleCode.DISPATCHER, RoleCode.ENFORCEMENT_OFFICER,
                  RoleCode.LEADER}


class Forbidden(ApplicationError):
    status = 403

    def __init__(self, message):
        super().__init__(message, code="forbidden")


class StateError(ApplicationError):
    status = 409

    def __init__(self, message, *, extra=None):
        super().__init__(message, code="illegal_state", extra=extra)


def _need_role(actor, roles, message):
    if actor is not None and not (getattr(actor, "is_superuser", False) or actor.has_role(*roles)):
        raise Forbidden(message)


# --- rule administration ---------------------------------------------------------------------------


def _bump_revision() -> None:
    # A random stamp, not a counter: after a rollback a counter could come back to a value a
    # process already compiled an index for (with other rules), and that index would look fresh.
    stamp = secrets.randbits(62) + 1
    if not RuleSetRevision.objects.filter(pk=1).update(value=stamp):
        RuleSetRevision.objects.create(pk=1, value=stamp)


def rules_changed() -> None:
    """Tell compiled indexes that matters, rules or their departments changed (admin saves call it)."""
    _bump_revision()


@transaction.atomic
def matter_save(*, actor, matter: SupervisionMatter | None = None, departments=None, **fields) -> SupervisionMatter:
    _need_role(actor, RULE_ADMINS, _("只有领导或系统管理员可以维护监管事项"))
    if fields.get("deadline_rule"):
        from zhijian.deadlines.models import DeadlineRule

        if not DeadlineRule.objects.filter(code=fields["deadline_rule"]).exists():
            raise ApplicationError(_("期限规则“%(code)s”不存在") % {"code": fields["deadline_rule"]}, code="bad_rule")
    before = None
    if matter is None:
        matter = SupervisionMatter(**fields)
    else:
        before = {"name": matter.name, "deadline_rule": matter.deadline_rule, "deadline_hours": matter.deadline_hours}
        for k, v in fields.items():
            setattr(matter, k, v)
    matter.full_clean(exclude=["departments"])
    matter.save()
    if departments is not None:
        matter.departments.set(departments)
    _bump_revision()
    trace.record(actor=actor, action="push.matter_saved", obj=matter, object_type="coordination.supervisionmatter", before=before,
                 after={"code": matter.code, "name": matter.name, "deadline_rule": matter.deadline_rule,
                        "deadline_hours": matter.deadline_hours, "departments": sorted(d.pk for d in matter.departments.all())})
    return matter


RULE_FIELDS = ("name", "industry_prefixes", "keywords", "licence_types", "active")


@transaction.atomic
def rule_save(*, actor, matter, rule: PushRule | None = None, **fields) -> PushRule:
    """Create a rule or change one; every change raises its version (items keep the version that pushed them)."""
    _need_role(actor, RULE_ADMINS, _("只有领导或系统管理员可以维护推送规则"))
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ApplicationError(_("未知字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    if rule is None:
        rule = PushRule(matter=matter, updated_by=actor if actor and actor.pk else None, **fields)
        before = None
    else:
        rule = PushRule.objects.select_for_update().get(pk=rule.pk)
        before = {f: getattr(rule, f) for f in RULE_FIELDS} | {"version": rule.version}
        for k, v in fields.items():
            setattr(rule, k, v)
        rule.matter = matter
        rule.version += 1
        rule.updated_by = actor if actor and actor.pk else None
    for p in rule.industry_list():
        if not engine.industry_keys(p):
            raise ApplicationError(_("行业代码前缀“%(p)s”无效") % {"p": p}, code="bad_prefix")
    if not (rule.industry_list() or rule.keyword_list() or rule.licence_list()):
        raise ApplicationError(_("规则至少要有一个行业代码前缀、关键词或许可证类型"), code="empty_rule")
    rule.full_clean()
    rule.save()
    _bump_revision()
    after = {f: getattr(rule, f) for f in RULE_FIELDS} | {"version": rule.version, "matter": matter.code}
    trace.record(actor=actor, action="push.rule_saved", obj=rule, object_type="coordination.pushrule", before=before, after=after)
    events.emit("push.rule_changed", payload={"rule_id": rule.pk, **after}, object_type="coordination.pushrule", object_id=rule.pk)
    return rule


# --- push (C1) ------------------------------------------------------------------------------------

_due_memo: dict[tuple[str, dt.date], tuple[float, dt.date]] = {}


def _due_on(rule_code: str, start: dt.date) -> dt.date | None:
    """Due date of a day rule (memoised for a minute: every entity of a burst shares it)."""
    if not rule_code:
        return None
    now = time.monotonic()
    hit = _due_memo.get((rule_code, start))
    if hit and now - hit[0] < 60:
        return hit[1]
    from zhijian.deadlines.rules import due

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
    """What one trigger pushed for one entity (handed to ``notify_village``)."""

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


def _item_payload(item: PushItem, entity, rule: engine.CompiledRule | None, department) -> dict:
    return {
        "item_id": item.pk, "state": item.state, "trigger": item.trigger,
        "credit_code": entity.credit_code, "entity_name": entity.name, "division_code": item.division_code,
        "industry_code": entity.industry_code,
        "department": {"id": department.pk, "code": department.code, "name": department.name},
        "department_code": department.code,
        "matter": {"id": item.matter_id, "name": rule.matter_name if rule else str(item.matter)},
        "rule": {"id": item.rule_id, "name": rule.name if rule else "", "version": item.rule_version, "matched_on": item.matched_on},
        "deadline": {"rule": item.deadline_rule, "hours": item.deadline_hours, "due_on": item.due_on, "due_at": item.due_at},
        "feedback": f"/api/v1/push-items/{item.pk}/",
    }


def _targets(matches, division_code: str, skip: set | None = None):
    """(rule, department id) per (matter, department), first matching rule wins."""
    out: dict[tuple[int, int], tuple[engine.Match, int]] = {}
    for m in matches:
        for dept in engine.departments_for(m.rule, division_code):
            key = (m.rule.matter_id, dept)
            if key not in out and not (skip and key in skip):
                out[key] = (m, dept)
    return list(out.values())


def _chunks(seq: list, n: int = 900):
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


def _insert_items_pg(entity_rows: list[tuple], set_rows: list[tuple], now) -> list[tuple]:
    """PostgreSQL: every item of every (entity, target set) pair by one ``INSERT … SELECT`` that
    the server expands from two arrays — 5,000 entities and a few hundred targets travel, not
    30,000 rows — skipping items that exist already (the unique key, ``ON CONFLICT``).

    ``entity_rows``: (target set, *_ENTITY_COLUMNS); ``set_rows``: (target set, *_TARGET_COLUMNS).
    Returns (id, entity id, trigger key, matter, department) of the new items in id order."""
    from django.db import connection

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
    for part in _chunks(sorted({r[1] for r in entity_rows})):
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
    from django.db import connection

    from zhijian.org.models import Department

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
    steps, trace_rows = [], []
    for i, entity_id, trigger_key, matter_id, dept in new:
        b, tset = batch_of[(entity_id, trigger_key)]
        rule, matched_on = target_of[(tset, matter_id, dept)]
        e = b.entity
        b.items.append(depts[dept].name)
        trace_rows.append([i, entity_id, dept, matter_id, rule.id, rule.version, trigger_key, e.division_code])
        if actor_id is not None or via != "system":
            steps.append([i, PushAction.CREATE, PushState.PUSHED, actor_id, via, matched_on, now])
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
        events.insert_values(PushStep, ["item_id", "action", "to_state", "actor_id", "via", "comment", "at"], steps)
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


def _create_items(entity, targets, *, trigger, trigger_key, source_event_id, actor=None, via="system") -> list[PushItem]:
    """One entity's push (reassign, replay): the bulk path with a batch of one, traced at once."""
    from zhijian.supervision.services import _record_sorted

    items, entry = _create_items_bulk([(PushBatch(entity, trigger, trigger_key, source_event_id), targets)], actor=actor, via=via,
                                      objects=True)
    if entry:
        _record_sorted(actor, [entry])
    return items


def village_of(entity, divisions: dict[str, str] | None = None) -> tuple[str, str]:
    """(code, name) of the entity's village: its level-2 grid, else its division."""
    grid = getattr(entity, "grid", None)
    if grid is not None and grid.level == 2:
        return grid.code, grid.name
    if divisions is not None and entity.division_code in divisions:
        return entity.division_code, divisions[entity.division_code]
    from zhijian.geo.models import Division

    div = Division.objects.filter(code=entity.division_code).first()
    return entity.division_code, div.name if div else entity.division_code


def _village_spec(entity, push_batch: PushBatch, divisions: dict[str, str] | None = None):
    from zhijian.supervision.choices import TaskSource
    from zhijian.supervision.services import TaskSpec

    code, name = village_of(entity, divisions)
    depts = sorted({str(getattr(i, "department", i)) for i in push_batch.items})
    description = _("%(trigger)s；属地：%(village)s（%(code)s）；须在 %(hours)s 小时内接收，10 个工作日内首次走访。已推送部门：%(depts)s") % {
        "trigger": PushTrigger(push_batch.trigger).label, "village": name, "code": code, "hours": VILLAGE_RECEIPT_HOURS,
        "depts": "、".join(depts) or "—",
    }
    return TaskSpec(entity=entity, title=_("首次走访：%(name)s") % {"name": entity.name}, source=TaskSource.CLUE,
                    business_line=VILLAGE_BUSINESS_LINE, source_ref=f"push:{push_batch.trigger_key}"[:64],
                    deadline_rule=VILLAGE_DEADLINE_RULE, description=description)


def _village_tasks_of(push_batches: list[PushBatch]) -> set:
    """(entity id, source_ref) of the village tasks these pushes already have."""
    from zhijian.supervision.models import Task

    refs = {f"push:{b.trigger_key}"[:64] for b in push_batches}
    have: set = set()
    ids = sorted({b.entity.pk for b in push_batches})
    for part in _chunks(ids):
        have.update(Task.objects.filter(entity_id__in=part, business_line=VILLAGE_BUSINESS_LINE, source_ref__in=refs)
                    .values_list("entity_id", "source_ref"))
    return have


def notify_villages(push_batches: list[PushBatch], *, trace_extra: list[dict] | None = None) -> list:
    """G1 in bulk: each registration or address/scope change reaches its village as a grid
    first-visit task, idempotent per entity and trigger (``source_ref``), due by the
    ``grid.first_visit`` rule (10 working days). One query finds the tasks that already exist,
    one for the villages' names; the tasks are created by ``supervision.tasks_create_bulk``
    (which also appends ``trace_extra``, chain heads in order)."""
    from zhijian.geo.models import Division
    from zhijian.supervision import services as supervision

    have = _village_tasks_of(push_batches)
    need_div = {b.entity.division_code for b in push_batches
                if not (getattr(b.entity, "grid", None) is not None and b.entity.grid.level == 2)}
    divisions = {}
    for part in _chunks(sorted(need_div)):
        divisions.update(dict(Division.objects.filter(code__in=part).values_list("code", "name")))
    for code in need_div - set(divisions):
        divisions[code] = code
    specs = []
    for b in push_batches:
        key = (b.entity.pk, f"push:{b.trigger_key}"[:64])
        if key in have:
            continue
        have.add(key)
        specs.append(_village_spec(b.entity, b, divisions))
    return supervision.tasks_create_bulk(actor=None, specs=specs, trace_extra=trace_extra)


def notify_village(entity, push_batch: PushBatch):
    """G1 for one entity (the bulk path with a batch of one). Returns the task, or None if it existed."""
    created = notify_villages([push_batch])
    return created[0] if created else None


VILLAGE_TRIGGERS = {PushTrigger.CREATED, PushTrigger.ADDRESS_CHANGED, PushTrigger.CHANGED}
# Fields whose change can change which matters an entity belongs to.
RELEVANT_FIELDS = {"business_scope", "industry_code", "licence_types"}


def _work_of(event) -> list[tuple[str, str, bool, dict | None]]:
    """(credit code, trigger, village?, snapshot) for each entity an ``entity.*`` event pushes."""
    if event.type == "entity.imported":
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
    (:func:`villages_from_events`, ``supervision.tasks_create_bulk``, one trace entry).
    Idempotent: one item per (entity, matter, department, trigger event), one village task per
    (entity, trigger event).
    """
    from zhijian.entities.models import MarketEntity

    work = [(ev, *w) for ev in evs for w in _work_of(ev)]
    if not work:
        return []
    codes = list(dict.fromkeys(code for _ev, code, *_r in work))
    entities = {}
    for part in _chunks(codes):
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
            targets = target_memo[(key, entity.division_code)] = _targets(matches, entity.division_code)
        b = PushBatch(entity, trigger, f"event:{ev.id}", ev.id)
        batches.append((b, targets))
        if to_village:
            village.append(b)
    _items, entry = _create_items_bulk(batches)
    if entry:
        from zhijian.supervision.services import _record_sorted

        _record_sorted(None, [entry])
    # A redelivered event finds its village tasks there already; inline, the events are brand new
    # (uncommitted): no task can name them yet.
    if village and not events.inline():
        have = _village_tasks_of(village)
        village = [b for b in village if (b.entity.pk, f"push:{b.trigger_key}"[:64]) not in have]
    if village:
        # The village tasks follow in a transaction of their own (handler ``coordination.village``
        # on this event): a chunk's inbox items commit without waiting for them, and a burst of
        # registrations reaches every inbox before the villages' work (G1 allows an hour).
        pushes = [[b.entity.pk, b.trigger, b.trigger_key, b.source_event_id, b.items] for b in village]
        division = common_division([b.entity.division_code for b in village])
        events.emit_rows([(VILLAGE_EVENT, {"pushes": pushes}, division, "", "")])
    return [b for b, _t in batches]


VILLAGE_EVENT = "village.notify"  # internal: only the handler below reads it


def villages_from_events(evs: list) -> list:
    """The village first-visit tasks of the pushes listed by ``village.notify`` events."""
    from zhijian.entities.models import MarketEntity

    pushes = [p for ev in evs for p in (ev.payload or {}).get("pushes", [])]
    ids = sorted({p[0] for p in pushes})
    entities = {}
    for part in _chunks(ids):
        entities.update((e.pk, e) for e in MarketEntity.objects.filter(pk__in=part).select_related("grid"))
    batches = [PushBatch(entities[eid], trigger, key, source, list(depts))
               for eid, trigger, key, source, depts in pushes if eid in entities]
    return notify_villages(batches) if batches else []


@transaction.atomic
def push_entity(*, entity, trigger: str, source_event_id: int | None, snapshot: dict | None = None, index=None,
                village: bool | None = None) -> PushBatch:
    """Evaluate the active rules on one entity and push it to every matching department's inbox
    (the set-based path with a batch of one).

    Idempotent: one item per (entity, matter, department, trigger event).
    """
    from zhijian.supervision.services import _record_sorted

    index = index or engine.current_index()
    key = f"event:{source_event_id}"
    matches = index.match(industry_code=entity.industry_code, business_scope=entity.business_scope,
                          licence_types=_licences(entity, snapshot))
    batch = PushBatch(entity, trigger, key, source_event_id)
    _items, entry = _create_items_bulk([(batch, _targets(matches, entity.division_code))])
    extra = [entry] if entry else []
    if village if village is not None else trigger in VILLAGE_TRIGGERS:
        notify_villages([batch], trace_extra=extra)
    else:
        _record_sorted(None, extra)
    return batch


# --- replay ---------------------------------------------------------------------------------------


@transaction.atomic
def push_replay(*, actor, rules, dry_run: bool = True, division_prefix: str = "", sample_size: int = 20, chunk: int = 2000) -> PushReplay:
    """Run ``rules`` over the existing entities (in the actor's jurisdiction) and push each entity
    to the departments of a matched matter **that never received it for that matter**.

    Dry run: only counts per department and a sample. For real: the items, their events and
    one trace entry, under trigger ``replay:<id>``. Village tasks are not created by a replay.
    """
    from zhijian.entities.choices import EntityStatus
    from zhijian.entities.models import MarketEntity
    from zhijian.org.models import Department

    _need_role(actor, REPLAYERS, _("只有领导可以回放推送规则"))
    rules = list(rules)
    if not rules:
        raise ApplicationError(_("请选择要回放的规则"), code="no_rules")
    rule_rows = list(PushRule.objects.filter(pk__in=[r.pk for r in rules]).select_related("matter").prefetch_related("matter__departments"))
    index = engine.compile_rules(rule_rows)
    replay = PushReplay.objects.create(actor=actor if actor and actor.pk else None, dry_run=dry_run,
                                       rule_ids=sorted(r.pk for r in rule_rows), division_prefix=division_prefix)
    qs = MarketEntity.objects.filter(status=EntityStatus.ACTIVE)
    if actor is not None:
        qs = qs.scoped(actor)
    if division_prefix:
        qs = qs.filter(division_code__startswith=division_prefix)
    matters = {r.matter_id for r in rule_rows}
    per_dept: dict[int, int] = {}
    sample: list[dict] = []
    total = 0
    last = 0
    key = f"replay:{replay.pk}"
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk")[:chunk])
        if not rows:
            break
        last = rows[-1].pk
        have = set(PushItem.objects.filter(entity__in=rows, matter_id__in=matters).values_list("entity_id", "matter_id", "department_id"))
        for e in rows:
            matches = index.match(industry_code=e.industry_code, business_scope=e.business_scope)
            if not matches:
                continue
            skip = {(m, d) for (eid, m, d) in have if eid == e.pk} if have else None
            targets = _targets(matches, e.division_code, skip)
            if not targets:
                continue
            for m, d in targets:
                per_dept[d] = per_dept.get(d, 0) + 1
                total += 1
                if len(sample) < sample_size:
                    sample.append({"credit_code": e.credit_code, "name": e.name, "department_id": d, "matter": m.rule.matter_name,
                                   "rule": m.rule.name, "matched_on": "；".join(m.reasons)})
            if not dry_run:
                _create_items(e, targets, trigger=PushTrigger.REPLAY, trigger_key=key, source_event_id=None, actor=actor)
    names = dict(Department.objects.filter(pk__in=per_dept).values_list("pk", "name"))
    replay.total = total
    replay.per_department = {names.get(d, str(d)): n for d, n in sorted(per_dept.items(), key=lambda kv: -kv[1])}
    replay.sample = [{**s, "department": names.get(s["department_id"], "")} for s in sample]
    replay.save(update_fields=["total", "per_department", "sample"])
    trace.record(actor=actor, action="push.replayed", obj=replay, object_type="coordination.pushreplay",
                 after={"dry_run": dry_run, "rules": replay.rule_ids, "total": total, "division_prefix": division_prefix})
    if not dry_run:
        events.emit("push.replayed", payload={"replay_id": replay.pk, "rules": replay.rule_ids, "total": total},
                    object_type="coordination.pushreplay", object_id=replay.pk)
    return replay


# --- feedback (C2) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str
    hint: object


TRANSITIONS = {
    PushAction.CLAIM: Transition((PushState.PUSHED,), PushState.CLAIMED, gettext_lazy("只有“待签收”的事项才能签收")),
    PushAction.ACCEPT: Transition((PushState.CLAIMED,), PushState.ACCEPTED, gettext_lazy("请先签收，再受理")),
    PushAction.RETURN: Transition((PushState.PUSHED, PushState.CLAIMED), PushState.RETURNED,
                                  gettext_lazy("只有未受理的事项才能退回")),
    PushAction.REASSIGN: Transition((PushState.PUSHED, PushState.CLAIMED, PushState.RETURNED), PushState.REASSIGNED,
                                    gettext_lazy("只有未受理或已退回的事项才能转办")),
    PushAction.FINISH: Transition((PushState.ACCEPTED,), PushState.FINISHED, gettext_lazy("只有“办理中”的事项才能办结")),
}


def _is_department_member(actor, item) -> bool:
    return actor.department_id == item.department_id and actor.has_role(RoleCode.DEPARTMENT_STAFF)


def _guard_item(action, item, actor) -> None:
    if actor is None:
        return
    if not in_jurisdiction(actor, item.division_code):
        raise OutOfScope()
    if action == PushAction.REASSIGN and item.state == PushState.RETURNED:
        _need_role(actor, TOWN_OFFICE, _("退回的事项由镇街商改办（调度员、领导）重新指定部门"))
        return
    if not _is_department_member(actor, item):
        if actor.department_id and actor.department_id != item.department_id:
            raise OutOfScope()
        raise Forbidden(_("只有接收部门的人员可以%(action)s") % {"action": PushAction(action).label})


def allowed_actions(item, user) -> list[str]:
    out = []
    for action, t in TRANSITIONS.items():
        if item.state in t.sources:
            try:
                _guard_item(action, item, user)
            except ApplicationError:
                continue
            out.append(str(action))
    return out


def _move_item(item, *, actor, action, fields=None, comment="", via="web") -> PushItem:
    t = TRANSITIONS[action]
    current = PushItem.objects.select_related("department", "entity", "matter").get(pk=item.pk)
    _guard_item(action, current, actor)
    if current.state not in t.sources:
        raise StateError(_("事项当前为“%(state)s”，不能%(action)s：%(hint)s")
                         % {"state": current.get_state_display(), "action": PushAction(action).label, "hint": t.hint},
                         extra={"state": current.state, "action": str(action)})
    before = {"state": current.state, "version": current.version}
    won = PushItem.objects.filter(pk=current.pk, state=current.state, version=current.version).update(
        state=t.target, version=F("version") + 1, updated_at=timezone.now(), **(fields or {}))
    if not won:
        raise StateError(_("事项已被他人处理，请刷新后查看"))
    current.refresh_from_db()
    PushStep.objects.create(item=current, action=action, from_state=before["state"], to_state=current.state,
                            actor=actor if actor and actor.pk else None, via=via, comment=comment[:1000])
    trace.record(actor=actor, action=f"push.{action}", obj=current, object_type=ITEM_TYPE, before=before,
                 after={"state": current.state, "version": current.version, "comment": comment})
    events.emit(f"push.{_EVENT[action]}", payload={
        "item_id": current.pk, "state": current.state, "action": str(action), "comment": comment, "via": via,
        "credit_code": current.entity.credit_code, "department_code": current.department.code,
        "matter": current.matter.name, "actor": str(actor) if actor else "system",
    }, division_code=current.division_code, object_type=ITEM_TYPE, object_id=current.pk)
    return current


_EVENT = {PushAction.CLAIM: "claimed", PushAction.ACCEPT: "accepted", PushAction.RETURN: "returned",
          PushAction.REASSIGN: "reassigned", PushAction.FINISH: "finished"}


@transaction.atomic
def item_claim(*, actor, item, via="web") -> PushItem:
    """签收. After claiming, the deadline is the matter's handling deadline (if any)."""
    fields = {"claimed_by_id": actor.pk if actor else None, "claimed_at": timezone.now()}
    fresh = PushItem.objects.get(pk=item.pk)
    if fresh.deadline_hours:
        fields["due_at"] = _end_of(fresh.due_on) if fresh.due_on else None
    return _move_item(item, actor=actor, action=PushAction.CLAIM, fields=fields, via=via)


@transaction.atomic
def item_accept(*, actor, item, comment="", via="web") -> PushItem:
    """受理: the department takes the matter on."""
    return _move_item(item, actor=actor, action=PushAction.ACCEPT, comment=comment, via=via)


@transaction.atomic
def item_return(*, actor, item, reason, via="web") -> PushItem:
    """退回 with a reason (not our matter, wrong data …); the town office may reassign it."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写退回理由"), code="no_reason")
    return _move_item(item, actor=actor, action=PushAction.RETURN, fields={"return_reason": reason[:500]}, comment=reason, via=via)


@transaction.atomic
def item_reassign(*, actor, item, department, reason="", via="web") -> PushItem:
    """转办 to another department: this item closes as reassigned and a new one opens there."""
    if department is None:
        raise ApplicationError(_("请选择转办部门"), code="no_department")
    current = PushItem.objects.select_related("entity", "matter", "rule").get(pk=item.pk)
    if department.pk == current.department_id:
        raise ApplicationError(_("不能转办给本部门"), code="same_department")
    if not any(current.division_code.startswith(p) for p in department.jurisdiction_prefixes()):
        raise ApplicationError(_("“%(dept)s”的辖区不包括该主体所在区划") % {"dept": department.name}, code="bad_department")
    moved = _move_item(current, actor=actor, action=PushAction.REASSIGN, via=via,
                       comment=_("转办至 %(dept)s。%(reason)s") % {"dept": department.name, "reason": reason})
    compiled = engine.CompiledRule(current.rule_id, current.rule_version, current.rule.name if current.rule else "",
                                   current.matter_id, current.matter.name, current.deadline_rule, current.deadline_hours,
                                   ((department.pk, tuple(department.jurisdiction_prefixes())),))
    match = engine.Match(compiled, [_("转办自 %(dept)s") % {"dept": moved.department.name}])
    new = _create_items(current.entity, [(match, department.pk)], trigger=PushTrigger.REASSIGNED,
                        trigger_key=f"reassign:{current.pk}", source_event_id=current.source_event_id, actor=actor, via=via)
    PushItem.objects.filter(pk=current.pk).update(reassigned_to=new[0] if new else None)
    moved.reassigned_to = new[0] if new else None
    return moved


@transaction.atomic
def item_finish(*, actor, item, result, via="web") -> PushItem:
    """办结 with the result (licence issued, inspected, penalty …)."""
    result = (result or "").strip()
    if not result:
        raise ApplicationError(_("请填写办理结果"), code="no_result")
    return _move_item(item, actor=actor, action=PushAction.FINISH, fields={"result": result, "finished_at": timezone.now()},
                      comment=result[:1000], via=via)


# --- clue transfer (C4) -----------------------------------------------------------------------------


def suggest_departments(*, text: str, entity=None, division_code: str) -> list[dict]:
    """Departments the push rules would send this clue to (by its text and the entity's industry)."""
    from zhijian.org.models import Department

    index = engine.current_index()
    matches = index.match(industry_code=entity.industry_code if entity else "",
                          business_scope=" ".join(filter(None, [text, entity.business_scope if entity else ""])))
    targets = _targets(matches, division_code)
    depts = {d.pk: d for d in Department.objects.filter(pk__in={d for _m, d in targets})}
    return [{"department_id": d, "department": depts[d].name, "matter_id": m.rule.matter_id, "matter": m.rule.matter_name,
             "why": "；".join(m.reasons)} for m, d in targets if d in depts]


def _clue_step(clue, *, actor, action, from_state, comment="", department=None):
    ClueStep.objects.create(clue=clue, action=action, from_state=from_state, to_state=clue.state,
                            actor=actor if actor and actor.pk else None, department=department, comment=comment[:1000])
    trace.record(actor=actor, action=f"clue.{action}", obj=clue, object_type=CLUE_TYPE, before={"state": from_state} if from_state else None,
                 after={"state": clue.state, "department": clue.department_id, "comment": comment})
    events.emit(f"clue.{_CLUE_EVENT[action]}", payload={
        "clue_id": clue.pk, "number": clue.number, "state": clue.state,
        "department_code": clue.department.code if clue.department_id else "",
        "credit_code": clue.entity.credit_code if clue.entity_id else "", "comment": comment,
    }, division_code=clue.division_code, object_type=CLUE_TYPE, object_id=clue.pk)


_CLUE_EVENT = {ClueAction.RECORD: "recorded", ClueAction.ASSIGN: "assigned", ClueAction.RETURN: "returned", ClueAction.REPORT: "reported"}


@transaction.atomic
def clue_record(*, actor, text, division_code, place="", entity=None, lng=None, lat=None, photos=(), matter=None,
                source_ref="") -> Clue:
    """A village or town records a clue; the push rules suggest departments. ``source_ref`` names
    what raised it when another business line did (see ``Clue.source_ref``)."""
    from zhijian.security.uploads import check_upload, store_upload

    _need_role(actor, CLUE_RECORDERS, _("您没有登记线索的权限"))
    text = (text or "").strip()
    if not text:
        raise ApplicationError(_("请填写线索内容"), code="no_text")
    if entity is not None:
        division_code = division_code or entity.division_code
    if not division_code:
        raise ApplicationError(_("请选择线索所在区划"), code="no_division")
    if actor is not None and not in_jurisdiction(actor, division_code):
        raise OutOfScope(_("线索所在区划不在您的辖区内"))
    clue = Clue.objects.create(
        text=text, place=(place or "")[:300], entity=entity, division_code=division_code, lng=lng, lat=lat,
        recorded_by=actor if actor and actor.pk else None, matter=matter, source_ref=(source_ref or "")[:64],
        suggested=suggest_departments(text=text, entity=entity, division_code=division_code),
    )
    clue.number = f"XS{timezone.localdate():%Y%m%d}{clue.pk:06d}"
    clue.save(update_fields=["number"])
    for f in photos or ():
        stored = store_upload(check_upload(f, kinds=["image"]), uploaded_by=actor, purpose="clue")
        ClueAttachment.objects.create(clue=clue, upload=stored)
    _clue_step(clue, actor=actor, action=ClueAction.RECORD, from_state="", comment=text[:200])
    return clue


def _clue_move(clue, *, actor, action, sources, target, fields, comment="", department=None) -> Clue:
    current = Clue.objects.select_related("department", "entity").get(pk=clue.pk)
    from_state = current.state
    if actor is not None and not in_jurisdiction(actor, current.division_code):
        raise OutOfScope()
    if current.state not in sources:
        raise StateError(_("线索当前为“%(state)s”，不能%(action)s") % {"state": current.get_state_display(), "action": ClueAction(action).label})
    won = Clue.objects.filter(pk=current.pk, version=current.version).update(state=target, version=F("version") + 1,
                                                                             updated_at=timezone.now(), **fields)
    if not won:
        raise StateError(_("线索已被他人处理，请刷新后查看"))
    current = Clue.objects.select_related("department", "entity").get(pk=clue.pk)
    _clue_step(current, actor=actor, action=action, from_state=from_state, comment=comment,
               department=department or current.department)
    return current


@transaction.atomic
def clue_assign(*, actor, clue, department, comment="") -> Clue:
    """The town office (镇街商改办) assigns the clue to the department that owns the matter."""
    _need_role(actor, TOWN_OFFICE, _("只有镇街商改办（调度员、领导）可以指派线索"))
    if department is None:
        raise ApplicationError(_("请选择承办部门"), code="no_department")
    if not any(clue.division_code.startswith(p) for p in department.jurisdiction_prefixes()):
        raise ApplicationError(_("“%(dept)s”的辖区不包括线索所在区划") % {"dept": department.name}, code="bad_department")
    return _clue_move(clue, actor=actor, action=ClueAction.ASSIGN, sources=(ClueState.RECORDED, ClueState.RETURNED),
                      target=ClueState.ASSIGNED, fields={"department_id": department.pk, "assigned_at": timezone.now()},
                      comment=comment or _("指派给 %(dept)s") % {"dept": department.name}, department=department)


def _need_clue_department(actor, clue):
    if actor is None:
        return
    fresh = Clue.objects.get(pk=clue.pk)
    if not (actor.department_id and actor.department_id == fresh.department_id and actor.has_role(RoleCode.DEPARTMENT_STAFF)):
        raise Forbidden(_("只有承办部门的人员可以反馈或退回该线索"))


@transaction.atomic
def clue_report(*, actor, clue, report) -> Clue:
    """The department reports back what it did."""
    report = (report or "").strip()
    if not report:
        raise ApplicationError(_("请填写反馈内容"), code="no_report")
    _need_clue_department(actor, clue)
    return _clue_move(clue, actor=actor, action=ClueAction.REPORT, sources=(ClueState.ASSIGNED,), target=ClueState.REPORTED,
                      fields={"report": report, "reported_at": timezone.now()}, comment=report)


@transaction.atomic
def clue_return(*, actor, clue, reason) -> Clue:
    """The department sends the clue back to the town office (not its matter)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写退回理由"), code="no_reason")
    _need_clue_department(actor, clue)
    return _clue_move(clue, actor=actor, action=ClueAction.RETURN, sources=(ClueState.ASSIGNED,), target=ClueState.RETURNED,
                      fields={}, comment=reason)
