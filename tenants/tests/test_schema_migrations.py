import time

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants import schema_migrations
from tenants.models import Tenant
from tenants.progress import NoProgress
from tenants.schema_sql import PlanChanged, migrate_and_record
from tenants.tests.schemas import database_url_for_tests, describe_schema, manage


def forget_departments(schema: str) -> None:
    """Put a schema back to before the departments app's first migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{schema}".departments_department')
        cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'departments'")


def schemas():
    return list(
        Tenant.objects.filter(provisioned_at__isnull=False)
        .order_by("code")
        .values_list("schema_name", flat=True)
    )


def test_nothing_to_apply(db):
    report = schema_migrations.migrate(processes=1)
    assert report.behind == [] and report.outcomes == [] and report.failures == []
    assert len(report.groups) == 1 and sorted(report.groups[0].schemas) == sorted(schemas())


def test_pending_migration_reaches_every_schema_behind(db):
    untouched, *behind = schemas()[:4]
    for schema in behind:
        forget_departments(schema)
    report = schema_migrations.status()
    assert sorted(report.behind) == sorted(behind)
    [group] = [g for g in report.groups if g.pending]
    assert group.pending == [("departments", "0001_initial")] and group.replayable

    report = schema_migrations.migrate(processes=1)
    assert sorted(o.schema_name for o in report.outcomes if o.ok) == sorted(behind)
    assert schema_migrations.status().behind == []
    reference = describe_schema(untouched)
    for schema in behind:
        assert describe_schema(schema) == reference, schema


def test_a_failure_on_one_schema_does_not_hold_back_its_group(db):
    broken, second, third = schemas()[:3]  # the failing schema comes first
    for schema in (broken, second, third):
        forget_departments(schema)
    with connection.cursor() as cursor:  # a stray table that makes the migration fail in one schema
        cursor.execute(f'CREATE TABLE "{broken}".departments_department (id int)')

    report = schema_migrations.migrate(processes=1)
    assert [o.schema_name for o in report.failures] == [broken]
    assert "already exists" in report.failures[0].error
    assert sorted(o.schema_name for o in report.outcomes if o.ok) == sorted([second, third])
    assert schema_migrations.status().behind == [broken]

    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{broken}".departments_department')
    report = schema_migrations.migrate(processes=1)
    assert [o.schema_name for o in report.outcomes] == [broken] and not report.failures
    assert schema_migrations.status().behind == []
    assert describe_schema(broken) == describe_schema(second)


def test_every_failure_is_named_and_a_broken_plan_stops(db, monkeypatch):
    monkeypatch.setattr(schema_migrations, "MAX_FIRST_FAILURES", 2)
    first, second, third = schemas()[:3]
    for schema in (first, second, third):
        forget_departments(schema)
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE TABLE "{schema}".departments_department (id int)')
    report = schema_migrations.migrate(processes=1)
    errors = {o.schema_name: o.error for o in report.failures}
    assert "already exists" in errors[first] and "already exists" in errors[second]
    assert errors[third] == f"not attempted: the same migrations failed on {first}, {second}"


def test_a_schema_migrated_meanwhile_is_re_checked_under_its_lock(db):
    first, second, third = schemas()[:3]
    for schema in (first, second, third):
        forget_departments(schema)
    [stale] = [g for g in schema_migrations.status().groups if g.pending]
    # Another run migrates the first schema after this run read the states.
    schema_migrations.migrate([first], processes=1)

    outcomes = schema_migrations._migrate_group(stale, processes=1, progress=NoProgress())
    assert [(o.schema_name, o.ok) for o in outcomes] == [
        (first, False),
        (second, True),
        (third, True),
    ]
    assert "changed during the run" in outcomes[0].error
    # The recording came from a schema that really ran the migration, not an empty one.
    for schema in (second, third):
        assert describe_schema(schema) == describe_schema(first), schema


def test_a_recording_is_refused_when_the_plan_differs(db):
    schema = schemas()[0]
    forget_departments(schema)
    with pytest.raises(PlanChanged):
        migrate_and_record(schema, expected_plan=[])
    assert ("departments", "0001_initial") not in {
        tuple(row) for row in describe_schema(schema)["migrations"]
    }


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


@pytest.fixture
def raw_connection(db, django_db_blocker):
    """An autocommit connection of its own (not the test's transaction)."""
    with django_db_blocker.unblock():
        url = database_url_for_tests()
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def test_a_second_run_with_no_wait_exits_while_one_is_going_on(db, raw_connection, capsys):
    raw_connection.execute("SELECT pg_advisory_lock(%s)", [schema_migrations._RUN_LOCK])
    with pytest.raises(CommandError, match="another migrate run is going on: backend"):
        call_command("migrate_tenants", "--tenants-only", "--no-wait")
    call_command("tenant_migration_status")
    assert "A migrate run is going on: backend" in capsys.readouterr().out


# The objects the probe migration creates, to take them out of the shared test schemas again.
_PROBE_CLEANUP = """
    DROP VIEW IF EXISTS {s}.migration_probe_named;
    DROP TABLE IF EXISTS {s}.migration_probe_probe;
    DROP FUNCTION IF EXISTS {s}.migration_probe_touch();
    DROP SEQUENCE IF EXISTS {s}.migration_probe_ticket;
    DROP TABLE IF EXISTS {s}.migration_probe_concurrently_note;
    DELETE FROM {s}.django_migrations WHERE app LIKE 'migration_probe%%';
"""


@pytest.fixture
def probe_schemas(db, raw_connection, django_db_blocker):
    """Five committed tenant schemas that a test migrates with the probe app; restored after."""
    with django_db_blocker.unblock():
        chosen = schemas()[-5:]
    yield chosen
    for schema in chosen:
        raw_connection.execute(_PROBE_CLEANUP.format(s=f'"{schema}"').replace("%%", "%"))


def _lock_key(cursor, schema):
    return cursor.execute("SELECT hashtext(%s)::bigint", ["migrate:" + schema]).fetchone()[0]


def _waiting(cursor) -> list[int]:
    """Keys of the advisory locks that sessions are waiting for."""
    rows = cursor.execute(
        "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND NOT granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchall()
    return [key for (key,) in rows]


def _wait_for(condition, what, processes, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [p for p in processes if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            details = [p.communicate() for p in dead]
            raise AssertionError(f"never reached: {what}; finished early: {details}")
        time.sleep(0.05)


def test_two_concurrent_runs_leave_every_schema_as_migrating_would(probe_schemas, raw_connection):
    """Two deploys at once (two real processes) with a new migration. The test holds the schema
    locks to force the interleaving that used to go wrong: the second run reaches the first
    schema after the first run migrated it, records an empty plan and replays it elsewhere."""
    reference, s1, s2, s3, s4 = probe_schemas
    code, out, err = manage("migrate_schemas", "--schema", reference, name="stock")
    assert code == 0, err

    cursor = raw_connection.cursor()
    key1, key2 = _lock_key(cursor, s1), _lock_key(cursor, s2)
    cursor.execute("SELECT pg_advisory_lock(%s), pg_advisory_lock(%s)", [key1, key2])
    run_a = manage(
        "migrate_tenants", "--tenants-only", "--processes", "1",
        *[arg for s in (s1, s2, s3, s4) for arg in ("--schema", s)],
        name="run-a", wait=False,
    )  # fmt: skip
    _wait_for(
        lambda: _waiting(cursor) == [key1], "the first run waits for the first schema", [run_a]
    )
    run_b = manage(
        "migrate_tenants", "--tenants-only", "--processes", "1",
        *[arg for s in (s1, s4, s3, s2) for arg in ("--schema", s)],
        name="run-b", wait=False,
    )  # fmt: skip
    _wait_for(lambda: len(_waiting(cursor)) == 2, "the second run waits too", [run_a, run_b])

    cursor.execute("SELECT pg_advisory_unlock(%s)", [key1])
    # Before the fix the second run now replays its empty recording in s4 and s3, then waits for
    # s2 like the first run; after it, the second run waits for the first to finish.
    _wait_for(
        lambda: sorted(_waiting(cursor)) in (sorted([key2, key2]), sorted([key2, schema_migrations._RUN_LOCK])),
        "both runs wait for s2, or the second for the first run",
        [run_a, run_b],
    )  # fmt: skip
    cursor.execute("SELECT pg_advisory_unlock(%s)", [key2])
    out_a, err_a = run_a.communicate(timeout=300)
    out_b, err_b = run_b.communicate(timeout=300)

    expected = describe_schema(reference, cursor)
    assert [m for m in expected["migrations"] if m[0] == "migration_probe"], (
        "the stock run migrated"
    )
    assert expected["functions"] and expected["triggers"] and expected["views"]
    for schema in (s1, s2, s3, s4):
        assert describe_schema(schema, cursor) == expected, schema
    assert (run_a.returncode, run_b.returncode) == (0, 0), (err_a, err_b)
    assert "4 migrated" in out_a and "0 migrated" in out_b
    assert "Another migrate run holds the lock" in err_b


def test_a_non_atomic_migration_runs_outside_a_transaction(probe_schemas, raw_connection):
    reference, first, second = probe_schemas[:3]
    code, out, err = manage(
        "migrate_schemas", "--schema", reference, settings="tests.probe_settings_concurrently"
    )
    assert code == 0, err
    code, out, err = manage(
        "migrate_tenants", "--tenants-only", "--schema", first, "--schema", second,
        settings="tests.probe_settings_concurrently",
    )  # fmt: skip
    assert code == 0 and "2 migrated" in out, err
    cursor = raw_connection.cursor()
    expected = describe_schema(reference, cursor)
    assert any(row[1] == "probe_note_text_idx" for row in expected["indexes"])
    for schema in (first, second):
        assert describe_schema(schema, cursor) == expected, schema
