"""Move coordination's own machinery onto the kernel, nothing lost:

* ``PushStep`` → ``core.WorkflowStep`` (procedure ``coordination.pushitem``; the item's division,
  entity and department on each step), set-based;
* ``FeedbackReceipt`` → ``core.IdempotencyRecord`` (the key as the API maps it now, operation
  ``push.<action>:<item id>``, the stored status and body, the time);
* ``Clue`` / ``ClueAttachment`` → ``clues.Clue`` / ``clues.ClueAttachment`` with their ids (events
  and notes that name a clue id keep pointing at it), ``ClueStep`` → ``core.WorkflowStep``
  (procedure ``clues.clue``).

The old tables are dropped by the next migration. Reversing this one leaves the copies in place.
"""
import hashlib
import re

from django.core.management.color import no_style
from django.db import migrations
from django.utils import timezone

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")  # core.idempotency.KEY_PATTERN when written


def record_key(raw: str) -> str:
    """As ``coordination.api.record_key``: a valid client key as it is, anything else hashed."""
    raw = (raw or "").strip()[:100]
    return raw if KEY_PATTERN.match(raw) else "h:" + hashlib.sha256(raw.encode()).hexdigest()[:62]


def _table(apps, label):
    return apps.get_model(label)._meta.db_table


def steps(apps, schema_editor):
    q = schema_editor.connection.ops.quote_name
    step, push_step, item = _table(apps, "core.WorkflowStep"), _table(apps, "coordination.PushStep"), _table(apps, "coordination.PushItem")
    clue_step, clue = _table(apps, "coordination.ClueStep"), _table(apps, "coordination.Clue")
    cols = "procedure, object_id, division_code, entity_id, action, from_state, to_state, actor_id, via, department_id, due_on, comment, client_key, at"
    with schema_editor.connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {q(step)} ({cols}) SELECT 'coordination.pushitem', s.item_id, i.division_code, i.entity_id, s.action, s.from_state,"
            f" s.to_state, s.actor_id, s.via, i.department_id, NULL, s.comment, '', s.at"
            f" FROM {q(push_step)} s JOIN {q(item)} i ON i.id = s.item_id ORDER BY s.id")
        cur.execute(
            f"INSERT INTO {q(step)} ({cols}) SELECT 'clues.clue', s.clue_id, c.division_code, c.entity_id, s.action, s.from_state,"
            f" s.to_state, s.actor_id, '', s.department_id, NULL, s.comment, '', s.at"
            f" FROM {q(clue_step)} s JOIN {q(clue)} c ON c.id = s.clue_id ORDER BY s.id")


def receipts(apps, schema_editor):
    Receipt = apps.get_model("coordination", "FeedbackReceipt")
    Record = apps.get_model("core", "IdempotencyRecord")
    for r in Receipt.objects.order_by("id").iterator():
        rec = Record.objects.create(actor_id=r.user_id, key=record_key(r.key), operation=f"push.{r.action}:{r.item_id}"[:80],
                                    object_type="coordination.pushitem", object_id=str(r.item_id), status=r.status_code, response=r.body)
        Record.objects.filter(pk=rec.pk).update(created_at=r.created_at)


def _bureau_for(bureaus, code: str):
    best, best_len = None, -1
    for b in bureaus:
        for p in (s.strip() for s in b.jurisdiction.split(",")):
            if (p or b.level == "national") and code.startswith(p) and len(p) > best_len:
                best, best_len = b, len(p)
    return best


def clues(apps, schema_editor):
    Old = apps.get_model("coordination", "Clue")
    OldAttachment = apps.get_model("coordination", "ClueAttachment")
    New = apps.get_model("clues", "Clue")
    NewAttachment = apps.get_model("clues", "ClueAttachment")
    Bureau = apps.get_model("org", "Bureau")
    for f in New._meta.get_fields():  # keep the old rows' times (historical model: safe to change)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            f.auto_now = f.auto_now_add = False
    bureaus = list(Bureau.objects.order_by("id"))
    seen: set = set()
    rows = []
    for c in Old.objects.select_related("matter").order_by("id").iterator():
        source = "grid_case" if (c.source_ref or "").startswith("grid:case:") else "village"
        ref = c.source_ref or ""
        if ref and (source, ref) in seen:  # one clue per source reference now: a duplicate keeps its own
            ref = f"{ref}#{c.pk}"[:64]
        seen.add((source, ref))
        bureau = _bureau_for(bureaus, c.division_code)
        rows.append(New(
            id=c.pk, number=c.number, source=source, source_ref=ref, text=c.text, place=c.place, entity_id=c.entity_id,
            division_code=c.division_code, lng=c.lng, lat=c.lat, reporter_id=c.recorded_by_id, bureau_id=bureau.pk if bureau else None,
            found_on=timezone.localdate(c.created_at), matter_code=c.matter.code if c.matter_id else "", suggested=c.suggested,
            department_id=c.department_id, state=c.state, assigned_at=c.assigned_at, report=c.report, reported_at=c.reported_at,
            closed_at=c.reported_at if c.state == "reported" else None, version=c.version, created_at=c.created_at,
            updated_at=c.updated_at,
        ))
        if len(rows) >= 1000:
            New.objects.bulk_create(rows)
            rows = []
    New.objects.bulk_create(rows)
    NewAttachment.objects.bulk_create([NewAttachment(id=a.pk, clue_id=a.clue_id, upload_id=a.upload_id)
                                       for a in OldAttachment.objects.order_by("id").iterator()])
    sql = schema_editor.connection.ops.sequence_reset_sql(no_style(), [New, NewAttachment])
    with schema_editor.connection.cursor() as cur:
        for statement in sql:
            cur.execute(statement)


def forward(apps, schema_editor):
    steps(apps, schema_editor)
    receipts(apps, schema_editor)
    clues(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("coordination", "0005_pushitem_config_refs_unchecked"),
        ("core", "0004_workflow_step_idempotency"),
        ("clues", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
