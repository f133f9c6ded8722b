from django.db import migrations, models

from tests.migration_probe import sql


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Probe",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=50)),
                ("touched", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(sql.FORWARDS, migrations.RunSQL.noop),
    ]
