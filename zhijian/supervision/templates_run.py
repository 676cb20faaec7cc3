"""Task templates (S5): special campaigns and daily patrols that generate tasks in bulk."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.models import WorkflowStep
from zhijian.core.scoping import jurisdiction_of, scope_q
from zhijian.core.workflow import Forbidden
from zhijian.deadlines.rules import rule_in_force
from zhijian.entities.choices import EntityStatus
from zhijian.entities.models import MarketEntity

from . import lines as task_lines
from .choices import TEMPLATE_SOURCE, TaskAction, TaskState, TemplateKind
from .models import Task, TaskTemplate, TemplateRun
from .procedure import TASK, TEMPLATE_RUNNERS, area_within, covers, event_payload
from .tasks import allocate_numbers, start_clocks


@transaction.atomic
def template_create(
    *, actor, name, kind, division_code, business_lines="", deadline_rule="", description="", industry_prefixes="",
    division_prefix="", entity_types="",
) -> TaskTemplate:
    if kind not in TemplateKind.values:
        raise ApplicationError(_("未知的模板类型：%(kind)s") % {"kind": kind}, code="bad_kind")
    if actor is not None:
        if not actor.has_role(*TEMPLATE_RUNNERS):
            raise Forbidden(_("只有领导或调度员可以创建任务模板"))
        if not covers(jurisdiction_of(actor), division_code):
            raise OutOfScope(_("所属区划不在您的辖区内"))
    if deadline_rule:
        rule_in_force(deadline_rule, timezone.localdate())  # refuses an unknown rule now, not at the first run
    tpl = TaskTemplate.objects.create(
        name=name, kind=kind, division_code=division_code, business_lines=business_lines, deadline_rule=deadline_rule,
        description=description, industry_prefixes=industry_prefixes, division_prefix=division_prefix, entity_types=entity_types,
        created_by=actor,
    )
    trace.record(actor=actor, action="task_template.created", obj=tpl, after={"name": name, "kind": kind})
    return tpl


def default_run_key(template, today: dt.date | None = None) -> str:
    """A patrol runs once a month (``2026-03``), a campaign once (``campaign``) unless a key is given."""
    today = today or timezone.localdate()
    return today.strftime("%Y-%m") if template.kind == TemplateKind.PATROL else "campaign"


def template_entities(template, bureau):
    """The active entities the template selects inside ``bureau``'s jurisdiction (a queryset)."""
    qs = MarketEntity.objects.filter(scope_q("division_code", tuple(bureau.jurisdiction_prefixes())), status=EntityStatus.ACTIVE)
    if template.division_prefix:
        qs = qs.filter(division_code__startswith=template.division_prefix)
    industries = template.industry_prefix_list() or task_lines.industries_of(template.business_line_list())
    if industries:
        q = Q()
        for p in industries:
            q |= Q(industry_code__startswith=p)
        qs = qs.filter(q)
    types = template.entity_type_list()
    if types:
        qs = qs.filter(entity_type__in=types)
    return qs


@transaction.atomic
def template_generate(*, actor, template, bureau, limit=None, run_key=None, batch_size: int = 1000) -> list[Task]:
    """Create tasks for the entities ``template`` selects in ``bureau``'s jurisdiction, dispatched
    to ``bureau`` (its officers claim them). Idempotent per (template, run key): entities that
    already have the run's task are skipped, so a second run creates only what is missing (usually
    nothing). Returns the tasks created by this call."""
    if not template.active:
        raise ApplicationError(_("模板“%(name)s”已停用") % {"name": template.name}, code="inactive")
    if actor is not None:
        if not actor.has_role(*TEMPLATE_RUNNERS):
            raise Forbidden(_("只有领导或调度员可以按模板生成任务"))
        if not covers(jurisdiction_of(actor), template.division_code):
            raise OutOfScope()
        if not area_within(jurisdiction_of(actor), bureau.jurisdiction_prefixes()):
            raise Forbidden(_("“%(unit)s”不在您的辖区内") % {"unit": bureau})
    run_key = (run_key or default_run_key(template))[:40]
    today = timezone.localdate()
    if template.deadline_rule:
        rule_in_force(template.deadline_rule, today)
    lines = template.business_line_list() or [""]
    # Each entity gets the tasks of the lines its industry belongs to (a supermarket: food sales, not
    # catering), unless the template names its industries itself.
    covered = {line: (None if template.industry_prefix_list() or not line else task_lines.industries_of([line])) for line in lines}
    source = TEMPLATE_SOURCE[template.kind]

    done = set(Task.objects.filter(template=template, run_key=run_key).values_list("entity_id", "business_line"))
    wanted = []
    for entity_id, name, credit_code, division_code, industry_code in template_entities(template, bureau).order_by("id").values_list(
        "id", "name", "credit_code", "division_code", "industry_code"
    ).iterator(chunk_size=2000):
        for line in lines:
            if (entity_id, line) not in done and task_lines.covers(covered[line], industry_code):
                wanted.append((entity_id, name, credit_code, division_code, line))
                if limit is not None and len(wanted) >= limit:
                    break
        if limit is not None and len(wanted) >= limit:
            break

    run = TemplateRun.objects.create(template=template, run_key=run_key, bureau=bureau, division_code=bureau.division_code, actor=actor)
    if not wanted:
        trace.record(actor=actor, action="task_template.run", obj=run, after={"run_key": run_key, "created": 0})
        return []

    numbers = allocate_numbers([w[3] for w in wanted], year=today.year)
    now = timezone.now()
    tasks = [
        Task(
            number=numbers[i], title=f"{template.name}：{name}"[:200], source=source, source_ref=f"{template.pk}:{run_key}",
            business_line=line, entity_id=entity_id, division_code=division_code, state=TaskState.DISPATCHED, bureau=bureau,
            created_by=actor, deadline_rule=template.deadline_rule, description=template.description,
            template=template, run_key=run_key, created_at=now, updated_at=now,
        )
        for i, (entity_id, name, _code, division_code, line) in enumerate(wanted)
    ]
    created = events.bulk_insert(Task, tasks)
    start_clocks(created, today, actor)
    generated = _("由模板“%(name)s”生成（批次 %(key)s）") % {"name": template.name, "key": run_key}
    steps, rows = [], []
    for t, w in zip(created, wanted):
        steps.append((t, TaskAction.CREATE, "", TaskState.REGISTERED, actor, generated))
        steps.append((t, TaskAction.DISPATCH, TaskState.REGISTERED, TaskState.DISPATCHED, actor, ""))
        payload = event_payload(t, credit_code=w[2], template_id=template.pk, run_key=run_key)
        rows.append((TASK.event_name(TaskAction.CREATE), payload, t.division_code, TASK.name, t.pk))
        rows.append((TASK.event_name(TaskAction.DISPATCH), payload, t.division_code, TASK.name, t.pk))
    events.bulk_insert(WorkflowStep, TASK.steps_rows(steps, at=now))
    events.emit_many(rows, batch_size=batch_size)
    run.created_count = len(created)
    run.save(update_fields=["created_count"])
    # One trace entry for the run: it names every task it created (as the registry import does per chunk).
    trace.record(actor=actor, action="task_template.run", obj=run,
                 after={"run_key": run_key, "created": len(created), "numbers": [t.number for t in created]})
    return created
