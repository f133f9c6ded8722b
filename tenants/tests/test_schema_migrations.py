from django.core.management import call_command
from django.db import connection

from tenants import schema_migrations
from tenants.models import Tenant


def forget_departments(schema: str) -> None:
    """Put a schema back to before the departments app's first migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{schema}".departments_department')
        cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'departments'")


def schemas():
    return list(
        Tenant.objects.filter(provisioned_at__isnull=False).values_list("schema_name", flat=True)
    )


def test_nothing_to_apply(db):
    report = schema_migrations.migrate(processes=1)
    assert report.behind == [] and report.outcomes == [] and report.failures == []
    assert len(report.groups) == 1 and sorted(report.groups[0].schemas) == sorted(schemas())


def test_pending_migration_reaches_every_schema_behind(db):
    behind = schemas()[:3]
    for schema in behind:
        forget_departments(schema)
    report = schema_migrations.status()
    assert sorted(report.behind) == sorted(behind)
    [group] = [g for g in report.groups if g.pending]
    assert group.pending == [("departments", "0001_initial")] and group.replayable

    report = schema_migrations.migrate(processes=1)
    assert sorted(o.schema_name for o in report.outcomes if o.ok) == sorted(behind)
    assert schema_migrations.status().behind == []
    with connection.cursor() as cursor:
        for schema in behind:
            cursor.execute(f'SELECT count(*) FROM "{schema}".departments_department')


def test_failure_names_the_schema_and_a_rerun_resumes(db):
    first, broken, third = schemas()[:3]
    for schema in (first, broken, third):
        forget_departments(schema)
    with connection.cursor() as cursor:  # a stray table that makes the migration fail in one schema
        cursor.execute(f'CREATE TABLE "{broken}".departments_department (id int)')

    report = schema_migrations.migrate(processes=1)
    assert [o.schema_name for o in report.failures] == [broken]
    assert "already exists" in report.failures[0].error
    assert schema_migrations.status().behind == [broken]

    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{broken}".departments_department')
    report = schema_migrations.migrate(processes=1)
    assert [o.schema_name for o in report.outcomes] == [broken] and not report.failures
    assert schema_migrations.status().behind == []


def test_status_command_lists_schemas_behind(db, capsys):
    schema = schemas()[0]
    forget_departments(schema)
    try:
        call_command("tenant_migration_status")
    except SystemExit as exit:
        assert exit.code == 1
    else:
        raise AssertionError("status must fail while a schema is behind")
    out = capsys.readouterr().out
    assert "1 behind" in out and schema in out and "departments.0001_initial" in out
