"""Replay of push rules over the existing entities (dry run or for real), kept as a record."""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.entities.choices import EntityStatus
from zhijian.entities.models import MarketEntity
from zhijian.org.choices import RoleCode
from zhijian.org.models import Department

from . import engine
from .choices import PushTrigger
from .models import PushItem, PushReplay, PushRule
from .push import create_items
from .rules import need_role

REPLAYERS = {RoleCode.LEADER}


@transaction.atomic
def push_replay(*, actor, rules, dry_run: bool = True, division_prefix: str = "", sample_size: int = 20, chunk: int = 2000) -> PushReplay:
    """Run ``rules`` over the existing entities (in the actor's jurisdiction) and push each entity
    to the departments of a matched matter **that never received it for that matter**.

    Dry run: only counts per department and a sample. For real: the items, their events and
    one trace entry, under trigger ``replay:<id>``. Village tasks are not created by a replay.
    """
    need_role(actor, REPLAYERS, _("只有领导可以回放推送规则"))
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
            targets = engine.targets(matches, e.division_code, skip)
            if not targets:
                continue
            for m, d in targets:
                per_dept[d] = per_dept.get(d, 0) + 1
                total += 1
                if len(sample) < sample_size:
                    sample.append({"credit_code": e.credit_code, "name": e.name, "department_id": d, "matter": m.rule.matter_name,
                                   "rule": m.rule.name, "matched_on": "；".join(m.reasons)})
            if not dry_run:
                create_items(e, targets, trigger=PushTrigger.REPLAY, trigger_key=key, source_event_id=None, actor=actor)
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
