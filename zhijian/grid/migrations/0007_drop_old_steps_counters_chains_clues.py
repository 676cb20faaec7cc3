"""Drop what 0006 moved onto the kernel: the case's step limit columns (now its step clock),
``CaseStep``, ``NoticeCounter``, the escalation chain caches (recipients are resolved from org
data by ``alerts``) and ``grid.Clue``; the case's clue is ``clues.Clue``. A migration of its own:
on PostgreSQL a table cannot be altered in the transaction that just updated its rows."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("grid", "0006_kernel_clocks_clues"),
    ]

    operations = [
        migrations.RemoveField(model_name="gridcase", name="clue"),
        migrations.RenameField(model_name="gridcase", old_name="intake_clue", new_name="clue"),
        migrations.AlterField(
            model_name="gridcase",
            name="clue",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="grid_case",
                                       to="clues.clue", verbose_name="线索"),
        ),
        migrations.RemoveField(model_name="gridcase", name="step_rule"),
        migrations.RemoveField(model_name="gridcase", name="step_started_on"),
        migrations.DeleteModel(name="CaseStep"),
        migrations.DeleteModel(name="NoticeCounter"),
        migrations.DeleteModel(name="EscalationChain"),
        migrations.DeleteModel(name="DepartmentChain"),
        migrations.DeleteModel(name="Clue"),
    ]
