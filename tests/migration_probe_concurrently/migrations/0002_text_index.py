from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("migration_probe_concurrently", "0001_initial")]

    operations = [
        AddIndexConcurrently("note", models.Index(fields=["text"], name="probe_note_text_idx")),
    ]
