"""Case clues found in inspections move to the one clue intake (``clues.Clue``), nothing lost.

Each ``InspectionClue`` becomes a clue of source ``inspection`` (reference ``inspection:<id>``,
one per inspection as before) with its entity, bureau, division, text and time; found on the
inspection's day; numbered under its bureau in the year it was found (``DocumentSequence``, type
``clue``, as ``deadlines.numbering`` numbers new ones); its creation step on the timeline
(``core.WorkflowStep``, procedure ``clues.clue``, by the inspection's uploader). States: "待立案审查"
(open, which nothing ever moved) → recorded (a verifier takes it up and its clock starts then);
filed → filed; closed → closed. The old table is dropped by the next migration.
"""
from django.db import migrations
from django.utils import timezone

STATES = {"open": "recorded", "filed": "filed", "closed": "closed"}
# deadlines.choices when written: DEFAULT_NUMBER_FORMAT and DOC_TYPE_CODES["clue"].
NUMBER_FORMAT = "{org}{code}〔{year}〕{n}号"
CLUE_CODE = "线"


def _next_number(Sequence, bureau, year: int) -> str:
    seq, _created = Sequence.objects.get_or_create(bureau_id=bureau.pk, doc_type="clue", year=year, defaults={"last_number": 0})
    seq.last_number += 1
    seq.save(update_fields=["last_number"])
    return NUMBER_FORMAT.format(org=bureau.short_name, code=CLUE_CODE, year=year, n=seq.last_number)


def forward(apps, schema_editor):
    Old = apps.get_model("inspections", "InspectionClue")
    Clue = apps.get_model("clues", "Clue")
    Step = apps.get_model("core", "WorkflowStep")
    Sequence = apps.get_model("deadlines", "DocumentSequence")
    for f in Clue._meta.get_fields():  # keep the old rows' times (historical model: safe to change)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            f.auto_now = f.auto_now_add = False
    for old in Old.objects.select_related("inspection", "bureau").order_by("id").iterator():
        found_on = timezone.localdate(old.inspection.finished_at or old.created_at)
        state = STATES.get(old.state, "recorded")
        number = _next_number(Sequence, old.bureau, found_on.year) if old.bureau.short_name else ""
        clue = Clue.objects.create(
            number=number, source="inspection", source_ref=f"inspection:{old.inspection_id}", text=old.description,
            entity_id=old.entity_id, division_code=old.division_code, bureau_id=old.bureau_id, reporter_id=old.inspection.created_by_id,
            found_on=found_on, state=state, closed_at=old.updated_at if state in ("filed", "closed") else None,
            created_at=old.created_at, updated_at=old.updated_at,
        )
        Step.objects.create(procedure="clues.clue", object_id=clue.pk, division_code=clue.division_code, entity_id=clue.entity_id,
                            action="record", from_state="", to_state=state, actor_id=old.inspection.created_by_id, via="system",
                            comment=old.description[:200], at=old.created_at)


class Migration(migrations.Migration):

    dependencies = [
        ("inspections", "0001_initial"),
        ("clues", "0001_initial"),
        ("core", "0004_workflow_step_idempotency"),
        ("deadlines", "0002_seed_rules_and_holidays"),
        # The village clues keep their ids: they are copied first.
        ("coordination", "0006_steps_receipts_clues_to_kernel"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
