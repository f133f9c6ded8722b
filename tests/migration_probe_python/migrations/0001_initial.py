from django.db import DatabaseError, migrations, models, transaction
from django.db.migrations.operations.base import Operation


class TryCreateTable(Operation):
    """Creates a table unless the statement fails, in which case nothing is left of it (a
    savepoint rolled back): the kind of operation a recording must not replay."""

    reversible = True

    def __init__(self, statements):
        self.statements = statements

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                for statement in self.statements:
                    schema_editor.execute(statement)
        except DatabaseError:
            pass

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "Try to create a table"


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Stamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("schema", models.CharField(max_length=63)),
            ],
        ),
        TryCreateTable(["CREATE TABLE migration_probe_python_tried (id int)", "SELECT 1 / 0"]),
    ]
