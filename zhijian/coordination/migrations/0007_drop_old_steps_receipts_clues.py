# The old step, receipt and clue tables, copied by 0006.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('coordination', '0006_steps_receipts_clues_to_kernel'),
        # inspections' clues are numbered after coordination's are copied (their ids follow).
        ('inspections', '0002_inspectionclue_to_clues'),
    ]

    operations = [
        migrations.DeleteModel(name='ClueStep'),
        migrations.DeleteModel(name='ClueAttachment'),
        migrations.DeleteModel(name='Clue'),
        migrations.DeleteModel(name='PushStep'),
        migrations.DeleteModel(name='FeedbackReceipt'),
    ]
