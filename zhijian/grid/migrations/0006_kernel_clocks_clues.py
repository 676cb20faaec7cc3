"""Move the grid's own machinery onto the shared kernel, nothing lost:

* ``CaseStep`` → ``core.WorkflowStep`` (procedure ``grid.gridcase``; the case's division and
  entity on each step, the step's due date kept), set-based;
* ``NoticeCounter`` → ``deadlines.DocumentSequence`` (type ``grid_notice``, the same
  bureau and year: the next notice continues the count);
* every open case's step limit (``step_rule``/``step_started_on``/``step_due_on``) → its step
  clock (``deadlines.Clock`` ``grid.gridcase``/``step``), marked with the warnings already raised
  so the clock sweep does not raise them again;
* the grid rules remind 2 working days ahead (``remind_days``; was the setting
  ``GRID_WARN_REMIND_WORKDAYS``);
* ``grid.Clue`` → ``clues.Clue`` (source ``grid_report``, ``source_ref`` ``grid:clue:<old id>``,
  its photo as an attachment, its record and hand-over steps), and each case's clue pointed at
  the new row (``intake_clue``, renamed ``clue`` by the next migration, which drops the old tables).

Reversing leaves the copies in place.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

PROCEDURE = "grid.gridcase"
CLUE_PROCEDURE = "clues.clue"
STATE_RULES = {"pending_assign": "grid.assign", "first_visit": "grid.first_visit", "rectifying": "grid.recheck", "joint": "grid.joint"}
CLUE_STATES = {"new": "recorded", "case_opened": "handed_over", "dismissed": "dismissed"}


def _table(apps, label):
    return apps.get_model(label)._meta.db_table


def steps(apps, schema_editor):
    q = schema_editor.connection.ops.quote_name
    step, case_step, case = _table(apps, "core.WorkflowStep"), _table(apps, "grid.CaseStep"), _table(apps, "grid.GridCase")
    cols = "procedure, object_id, division_code, entity_id, action, from_state, to_state, actor_id, via, department_id, due_on, comment, client_key, at"
    with schema_editor.connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {q(step)} ({cols}) SELECT %s, s.case_id, c.division_code, c.entity_id, s.action, s.from_state, s.to_state,"
            f" s.actor_id, '', NULL, s.due_on, s.comment, '', s.at FROM {q(case_step)} s JOIN {q(case)} c ON c.id = s.case_id ORDER BY s.id",
            [PROCEDURE])


def counters(apps, schema_editor):
    Counter = apps.get_model("grid", "NoticeCounter")
    Sequence = apps.get_model("deadlines", "DocumentSequence")
    for c in Counter.objects.order_by("id"):
        seq, _created = Sequence.objects.get_or_create(bureau_id=c.bureau_id, doc_type="grid_notice", year=c.year,
                                                       defaults={"last_number": 0})
        if seq.last_number < c.last:
            Sequence.objects.filter(pk=seq.pk).update(last_number=c.last)


def rules(apps, schema_editor):
    apps.get_model("deadlines", "DeadlineRule").objects.filter(code__in=STATE_RULES.values(), remind_days__isnull=True).update(remind_days=2)


def _rule(Rule, code, on):
    qs = Rule.objects.filter(code=code)
    return (qs.filter(effective_from__lte=on).filter(models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=on))
            .order_by("-version").first() or qs.order_by("-version").first())


def clocks(apps, schema_editor):
    # The working-day calendar (holiday table, chinese-calendar, the provisional calendar) is a
    # pure function of the data; imported here, where it is needed, not at module level, so that
    # loading the migration graph does not import the app's code.
    from zhijian.deadlines.workdays import add_workdays

    Case = apps.get_model("grid", "GridCase")
    Clock = apps.get_model("deadlines", "Clock")
    Rule = apps.get_model("deadlines", "DeadlineRule")
    Warning = apps.get_model("grid", "Warning")
    have = set(Clock.objects.filter(procedure=PROCEDURE, name="step").values_list("object_id", flat=True))
    now = timezone.now()
    rows = []
    for case in Case.objects.filter(state__in=list(STATE_RULES), step_due_on__isnull=False).order_by("id").iterator():
        if case.pk in have:
            continue
        start = case.step_started_on or case.received_on
        rule = _rule(Rule, case.step_rule or STATE_RULES[case.state], start)
        if rule is None:
            continue
        levels = set(Warning.objects.filter(item_type="grid.case", item_id=case.pk, step=case.state).values_list("level", flat=True))
        remind = rule.remind_days if rule.remind_days is not None else int(getattr(settings, "DEADLINE_REMIND_WORKDAYS", 3))
        try:
            remind_on = add_workdays(case.step_due_on, -remind) if remind else case.step_due_on
        except Exception:  # a calendar that cannot count this date: remind on the due date itself
            remind_on = case.step_due_on
        top = max(levels) if levels else -1
        rows.append(Clock(
            procedure=PROCEDURE, object_id=case.pk, name="step", division_code=case.division_code, entity_id=case.entity_id,
            rule_code=rule.code, rule_version=rule.version, unit=rule.unit, obligor=rule.obligor, started_on=start,
            due_on=case.step_due_on, original_due_on=case.step_due_on, remind_on=remind_on, state="running",
            warned_at=now if 0 in levels else None, overdue=top >= 1, overdue_marked_at=now if top >= 1 else None,
            escalation=max(top - 1, 0), escalated_at=now if top >= 2 else None,
        ))
        if len(rows) >= 1000:
            Clock.objects.bulk_create(rows)
            rows = []
    Clock.objects.bulk_create(rows)


def _bureau_for(bureaus, code: str):
    best, best_len = None, -1
    for b in bureaus:
        for p in (s.strip() for s in b.jurisdiction.split(",")):
            if (p or b.level == "national") and code.startswith(p) and len(p) > best_len:
                best, best_len = b, len(p)
    return best


def clues(apps, schema_editor):
    Old = apps.get_model("grid", "Clue")
    New = apps.get_model("clues", "Clue")
    Attachment = apps.get_model("clues", "ClueAttachment")
    Step = apps.get_model("core", "WorkflowStep")
    Case = apps.get_model("grid", "GridCase")
    Bureau = apps.get_model("org", "Bureau")
    for f in New._meta.get_fields():  # keep the old rows' times (historical model: safe to change)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            f.auto_now = f.auto_now_add = False
    bureaus = list(Bureau.objects.order_by("id"))
    case_of = dict(Case.objects.filter(clue__isnull=False).values_list("clue_id", "id"))
    for old in Old.objects.order_by("id").iterator():
        state = CLUE_STATES.get(old.state, "recorded")
        case_id = case_of.get(old.pk)
        bureau = _bureau_for(bureaus, old.division_code)
        new = New.objects.create(
            number="", source="grid_report", source_ref=f"grid:clue:{old.pk}", kind=old.kind, text=old.description,
            place_name=old.place_name, place=old.address, industry_code=old.industry_code, entity_id=old.entity_id,
            division_code=old.division_code, grid_id=old.grid_id, lng=old.lng, lat=old.lat, raw_lng=old.raw_lng, raw_lat=old.raw_lat,
            accuracy_m=old.accuracy_m, reporter_id=old.reporter_id, bureau_id=bureau.pk if bureau else None,
            found_on=timezone.localdate(old.created_at), state=state, handed_to=f"grid:case:{case_id}" if case_id else "",
            closed_at=old.updated_at if state != "recorded" else None, created_at=old.created_at, updated_at=old.updated_at,
        )
        if old.photo_id:
            Attachment.objects.create(clue_id=new.pk, upload_id=old.photo_id)
        common = {"procedure": CLUE_PROCEDURE, "object_id": new.pk, "division_code": old.division_code, "entity_id": old.entity_id}
        made = [Step(**common, action="record", from_state="", to_state="recorded", actor_id=old.reporter_id,
                     comment=old.place_name[:1000], at=old.created_at)]
        if state != "recorded":
            made.append(Step(**common, action="hand_over" if state == "handed_over" else "dismiss", from_state="recorded", to_state=state,
                             comment=f"grid:case:{case_id}" if case_id else "", at=old.updated_at))
        Step.objects.bulk_create(made)
        if case_id:
            Case.objects.filter(pk=case_id).update(intake_clue_id=new.pk)


def forward(apps, schema_editor):
    steps(apps, schema_editor)
    counters(apps, schema_editor)
    rules(apps, schema_editor)
    clocks(apps, schema_editor)
    clues(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("grid", "0005_department_chain"),
        ("core", "0004_workflow_step_idempotency"),
        ("deadlines", "0004_seed_rule_data"),
        ("clues", "0001_initial"),
        # coordination's clues keep their ids in clues.Clue: the grid's are added after them.
        ("coordination", "0006_steps_receipts_clues_to_kernel"),
    ]

    operations = [
        migrations.AddField(
            model_name="gridcase",
            name="intake_clue",
            field=models.OneToOneField(null=True, blank=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                       to="clues.clue"),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
