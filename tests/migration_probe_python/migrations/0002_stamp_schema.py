from django.db import migrations


def stamp_schema(apps, schema_editor):
    # Data that depends on the schema being migrated: recorded once, it would be the same everywhere.
    Stamp = apps.get_model("migration_probe_python", "Stamp")
    Stamp.objects.create(schema=schema_editor.connection.schema_name)


class Migration(migrations.Migration):
    dependencies = [("migration_probe_python", "0001_initial")]

    operations = [migrations.RunPython(stamp_schema, migrations.RunPython.noop)]
