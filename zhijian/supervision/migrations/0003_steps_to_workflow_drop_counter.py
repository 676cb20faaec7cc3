"""Task steps move to the kernel's one timeline (``core.WorkflowStep``, procedure
``supervision.task``), nothing lost; ``TaskStep`` and ``TaskCounter`` are dropped (task numbers come
from ``deadlines`` numbering)."""
from django.db import migrations

PROCEDURE = "supervision.task"
CHUNK = 5000


def copy_steps(apps, schema_editor):
    TaskStep = apps.get_model("supervision", "TaskStep")
    WorkflowStep = apps.get_model("core", "WorkflowStep")
    last = 0
    while True:
        rows = list(
            TaskStep.objects.filter(pk__gt=last).order_by("pk")
            .values_list("pk", "task_id", "task__division_code", "task__entity_id", "action", "from_state", "to_state", "actor_id",
                         "comment", "at")[:CHUNK]
        )
        if not rows:
            return
        WorkflowStep.objects.bulk_create([
            WorkflowStep(procedure=PROCEDURE, object_id=task_id, division_code=division or "", entity_id=entity_id, action=action,
                         from_state=from_state or "", to_state=to_state, actor_id=actor_id, comment=comment or "", at=at)
            for _pk, task_id, division, entity_id, action, from_state, to_state, actor_id, comment, at in rows
        ])
        last = rows[-1][0]


def copy_back(apps, schema_editor):
    TaskStep = apps.get_model("supervision", "TaskStep")
    WorkflowStep = apps.get_model("core", "WorkflowStep")
    steps = WorkflowStep.objects.filter(procedure=PROCEDURE).order_by("at", "id")
    TaskStep.objects.bulk_create([
        TaskStep(task_id=s.object_id, action=s.action, from_state=s.from_state, to_state=s.to_state, actor_id=s.actor_id,
                 comment=s.comment[:500], at=s.at)
        for s in steps.iterator(chunk_size=CHUNK)
    ], batch_size=CHUNK)
    steps.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_workflow_step_idempotency"),
        ("supervision", "0002_taskurge_templaterun_task_cancel_reason_and_more"),
    ]

    operations = [
        migrations.RunPython(copy_steps, copy_back),
        migrations.DeleteModel(name="TaskStep"),
        migrations.DeleteModel(name="TaskCounter"),
    ]
