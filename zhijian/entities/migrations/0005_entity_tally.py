"""The registry tally (entities per division, status and type), counted once from the table."""

from django.db import migrations, models

# Keyed by town (the first 9 digits of the division code), as zhijian.entities.tally keeps it.
RECOUNT = ("INSERT INTO entities_entitytally (division_code, status, entity_type, n) SELECT substr(division_code, 1, 9), status, "
           "entity_type, count(*) FROM entities_marketentity GROUP BY substr(division_code, 1, 9), status, entity_type")


class Migration(migrations.Migration):

    dependencies = [
        ('entities', '0004_name_tsv'),
    ]

    operations = [
        migrations.CreateModel(
            name='EntityTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('division_code', models.CharField(max_length=12, verbose_name='区划代码')),
                ('status', models.CharField(choices=[('active', '存续（在业）'), ('revoked', '吊销'), ('cancelled', '注销'), ('moved_out', '迁出'), ('suspended', '歇业')], max_length=16, verbose_name='登记状态')),
                ('entity_type', models.CharField(choices=[('enterprise', '企业'), ('individual', '个体工商户'), ('cooperative', '农民专业合作社'), ('other', '其他')], max_length=16, verbose_name='主体类型')),
                ('n', models.BigIntegerField(default=0, verbose_name='户数')),
            ],
            options={
                'verbose_name': '市场主体计数',
                'verbose_name_plural': '市场主体计数',
                'indexes': [models.Index(fields=['division_code'], name='entitytally_division', opclasses=['varchar_pattern_ops'])],
                'constraints': [models.UniqueConstraint(fields=('division_code', 'status', 'entity_type'), name='entitytally_key')],
            },
        ),
        migrations.RunSQL(RECOUNT, migrations.RunSQL.noop),
    ]
