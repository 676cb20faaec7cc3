from django.db import migrations, models


def seed(apps, schema_editor):
    from zhijian.inspections import lines  # the defaults live with the code that reads them

    lines.seed(apps.get_model("inspections", "BusinessLine"))


class Migration(migrations.Migration):

    dependencies = [("inspections", "0003_drop_inspectionclue")]

    operations = [
        migrations.AddField(
            model_name="businessline",
            name="industry_codes",
            field=models.CharField(blank=True, help_text="GB/T 4754-2017 行业代码，逗号分隔，如 5221,5222,62；留空为不限行业",
                                   max_length=500, verbose_name="行业代码"),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
