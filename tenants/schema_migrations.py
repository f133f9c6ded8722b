"""Migrating thousands of tenant schemas.

`migrate_schemas` runs Django's migrate command once per schema: it loads and renders every
migration each time, minutes with nothing to apply. Here:

1. Read every schema's applied migrations in a few UNION ALL queries, as one digest per schema,
   and group schemas by digest (after a normal deploy: one group).
2. For each group, work out the pending plan once from the migrations on disk.
3. Nothing pending: done. Otherwise apply the plan to one schema of the group with Django's own
   executor, recording its SQL, and replay that SQL in the group's other schemas, each in its own
   transaction that first checks, under a lock, that the schema is still in the group's state.
   The recording schema is checked the same way before the executor runs, the executor must plan
   exactly the group's migrations, and they must be what it recorded as applied: a recording
   never stands for SQL that did not run there. A plan with RunPython or non-atomic migrations,
   or a recording the recorder refuses (tenants/schema_sql.py), runs through Django's executor in
   every schema; a non-atomic one outside any transaction of ours.

One run at a time: `run_lock` is held for the whole run (two pods deploying at once take turns).
A failing schema is rolled back and reported by name; the others go on — when the plan fails in
the schema chosen to record it, the next one is tried, up to MAX_FIRST_FAILURES. Running again
resumes: only schemas still behind are touched.
"""

import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial

import psycopg
from django.db import connection, transaction

from tenants.models import Tenant
from tenants.parallel import run_in_chunks
from tenants.progress import NoProgress
from tenants.provisioning import Outcome
from tenants.schema_sql import (
    PlanChanged,
    StatementRecorder,
    applied_migrations,
    is_replayable,
    migrate_and_record,
    migration_loader,
    migrations_insert_sql,
    quote_ident,
    recorded_keys,
    runs_outside_transactions,
)

logger = logging.getLogger(__name__)

_DIGEST_SQL = (
    "SELECT %s::text, md5(coalesce(string_agg(app || '.' || name, ',' ORDER BY app, name), '')) "
    'FROM {schema}."django_migrations"'
)
_BATCH = 200


@dataclass
class SchemaGroup:
    """Schemas that have applied exactly the same migrations."""

    digest: str
    schemas: list[str]
    pending: list[tuple[str, str]] = field(default_factory=list)
    replayable: bool = True
    migrations: list = field(default_factory=list, repr=False)  # the pending Migration objects


@dataclass
class MigrationReport:
    groups: list[SchemaGroup]
    unreadable: list[Outcome]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def behind(self) -> list[str]:
        return [s for g in self.groups if g.pending for s in g.schemas]

    @property
    def failures(self) -> list[Outcome]:
        return self.unreadable + [o for o in self.outcomes if not o.ok]


def _read_digests(schemas: list[str]) -> tuple[dict[str, str], list[Outcome]]:
    digests: dict[str, str] = {}
    unreadable: list[Outcome] = []
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), _BATCH):
            batch = schemas[start : start + _BATCH]
            sql = " UNION ALL ".join(_DIGEST_SQL.format(schema=quote_ident(s)) for s in batch)
            try:
                with transaction.atomic():
                    cursor.execute(sql, batch)
                    digests.update(cursor.fetchall())
            except Exception:
                # Find the schema(s) that spoiled the batch.
                for schema in batch:
                    try:
                        with transaction.atomic():
                            cursor.execute(_DIGEST_SQL.format(schema=quote_ident(schema)), [schema])
                            digests.update(cursor.fetchall())
                    except Exception as error:
                        unreadable.append(
                            Outcome(schema, f"{type(error).__name__}: {error}".strip())
                        )
    return digests, unreadable


def _pending_plan(loader, applied: set[tuple[str, str]]) -> list[tuple[str, str]]:
    plan: list[tuple[str, str]] = []
    seen = set(applied)
    for target in sorted(loader.graph.leaf_nodes()):
        for node in loader.graph.forwards_plan(target):
            if node not in seen:
                seen.add(node)
                plan.append(node)
    return plan


def tenant_schemas() -> list[str]:
    return list(
        Tenant.objects.filter(provisioned_at__isnull=False)
        .order_by("code")
        .values_list("schema_name", flat=True)
    )


def status(schemas: list[str] | None = None) -> MigrationReport:
    """Which schemas are behind the migrations on disk, grouped by what they have applied."""
    schemas = tenant_schemas() if schemas is None else schemas
    digests, unreadable = _read_digests(schemas)
    by_digest: dict[str, list[str]] = {}
    for schema in schemas:
        if schema in digests:
            by_digest.setdefault(digests[schema], []).append(schema)
    loader = migration_loader()
    groups = []
    for digest, members in by_digest.items():
        applied = set(applied_migrations(members[0]))
        pending = _pending_plan(loader, applied)
        migrations = [loader.graph.nodes[key] for key in pending]
        replayable = all(is_replayable(m) for m in migrations)
        groups.append(SchemaGroup(digest, members, pending, replayable, migrations))
    return MigrationReport(groups, unreadable)


def _replay_chunk(expected_digest: str, script: str, chunk: list[str]) -> list[Outcome]:
    outcomes = []
    for schema in chunk:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Serialize with any other run on this schema, then make sure it is still where the
                # recorded SQL starts from: a migration is never applied twice.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["migrate:" + schema])
                if _digest(cursor, schema) != expected_digest:
                    outcomes.append(Outcome(schema, _CHANGED))
                    continue
                cursor.execute(
                    f"SET LOCAL search_path = {quote_ident(schema)}, public;\n{script}"
                    "SET LOCAL search_path = public;"
                )
            outcomes.append(Outcome(schema))
        except Exception as error:
            outcomes.append(Outcome(schema, f"{type(error).__name__}: {error}".strip()))
        finally:
            connection.search_path_set_schemas = None
    return outcomes


_CHANGED = "skipped: its migrations changed during the run (run again)"


def _digest(cursor, schema: str) -> str:
    cursor.execute(_DIGEST_SQL.format(schema=quote_ident(schema)), [schema])
    return cursor.fetchone()[1]


def _check_applied(schema: str, before: set, plan: list[tuple[str, str]]) -> None:
    """Refuse a recording whose applied set differs from the plan: replaying it would record
    migrations whose SQL it does not hold."""
    added = set(applied_migrations(schema)) - before
    planned = set(plan)
    if not planned <= added:
        raise PlanChanged(f"{schema} applied {sorted(added)}, not the plan {sorted(planned)}")


def _migrate_one(schema: str, group: SchemaGroup) -> tuple[Outcome, StatementRecorder | None]:
    """Migrate one schema of the group with Django's executor, once it is known, under its lock,
    to be still in the group's state; return the outcome and the recording of what ran.

    An atomic plan runs in one transaction (all or nothing, the SQL recorded for replay). A plan
    with a non-atomic migration runs as Django runs it, each migration in its own transaction or
    none, under a session lock."""
    atomic = not any(map(runs_outside_transactions, group.migrations))
    lock_key = "migrate:" + schema
    try:
        with transaction.atomic() if atomic else nullcontext(), connection.cursor() as cursor:
            if atomic:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock_key])
            else:
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock_key])
            try:
                if _digest(cursor, schema) != group.digest:
                    return Outcome(schema, _CHANGED), None
                before = set(applied_migrations(schema))
                recorder = migrate_and_record(schema, expected_plan=group.pending)
                _check_applied(schema, before, group.pending)
            finally:
                if not atomic:
                    cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock_key])
        return Outcome(schema), recorder
    except Exception as error:
        return Outcome(schema, f"{type(error).__name__}: {error}".strip()), None
    finally:
        connection.set_schema_to_public()


def _executor_chunk(group: SchemaGroup, chunk: list[str]) -> list[Outcome]:
    return [_migrate_one(schema, group)[0] for schema in chunk]


# A plan that fails in this many schemas in a row is taken to be broken, not the data of one
# schema: the others are not attempted (each attempt is a full executor run).
MAX_FIRST_FAILURES = 10


def _migrate_group(group: SchemaGroup, *, processes: int, progress) -> list[Outcome]:
    outcomes: list[Outcome] = []
    if not group.replayable:
        return run_in_chunks(
            partial(_executor_chunk, group),
            group.schemas,
            processes=processes,
            chunk_size=10,
            progress=progress,
        )
    # Record the plan in the first schema where it succeeds: a migration that fails on one
    # schema's data does not hold back the rest of the group.
    recorder, rest = None, []
    for index, schema in enumerate(group.schemas):
        outcome, recorder = _migrate_one(schema, group)
        outcomes.append(outcome)
        progress.update(1)
        if outcome.ok:
            rest = group.schemas[index + 1 :]
            break
        failed = [o.schema_name for o in outcomes if not o.ok]
        if len(failed) >= MAX_FIRST_FAILURES:
            outcomes.extend(
                Outcome(s, f"not attempted: the same migrations failed on {', '.join(failed)}")
                for s in group.schemas[index + 1 :]
            )
            progress.update(len(group.schemas) - index - 1)
            return outcomes
    if not rest:
        return outcomes
    if not recorder.faithful:
        logger.info(
            "Not replaying the recording of %s (%s): the executor migrates every schema",
            recorder.schema_name,
            "; ".join(recorder.refusals),
        )
        return outcomes + run_in_chunks(
            partial(_executor_chunk, group),
            rest,
            processes=processes,
            chunk_size=10,
            progress=progress,
        )
    rows = [key for m in recorder.migrations for key in recorded_keys(m.migration)]
    script = recorder.script + migrations_insert_sql(rows)
    return outcomes + run_in_chunks(
        partial(_replay_chunk, group.digest, script),
        rest,
        processes=processes,
        chunk_size=50,
        progress=progress,
    )


def migrate(
    schemas: list[str] | None = None, *, processes: int = 2, progress_factory=None, wait=True
) -> MigrationReport:
    """Bring every given tenant schema (default: all provisioned) up to the migrations on disk.

    One run at a time (see run_lock): with wait=False, raise AnotherRun if one is going on."""
    with run_lock(wait=wait):
        report = status(schemas)
        for group in report.groups:
            if not group.pending:
                continue
            progress = progress_factory(len(group.schemas)) if progress_factory else NoProgress()
            with progress:
                report.outcomes.extend(
                    _migrate_group(group, processes=processes, progress=progress)
                )
    for outcome in report.failures:
        logger.error("Migrating schema %s failed: %s", outcome.schema_name, outcome.error)
    return report


_RUN_LOCK = 4_100_000_002  # pg_advisory_lock key: one migrate run at a time
_run_lock_held = False


class AnotherRun(Exception):
    """Another process is migrating the tenant schemas."""


def run_lock_holder() -> str:
    """Who holds the run lock, for messages ("" if nobody)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = 0 AND l.objid::bigint = %s AND l.objsubid = 1",
            [_RUN_LOCK],
        )
        row = cursor.fetchone()
    if row is None:
        return ""
    pid, app, client, started = row
    return f"backend {pid} ({app or 'no name'}, from {client or 'local socket'}, since {started:%H:%M:%S})"


@contextmanager
def run_lock(*, wait: bool = True, on_wait=None):
    """Hold the lock that makes migrate runs take turns (two pods deploying at once): a session
    lock on a connection of its own, so the forked workers and Django's connection handling
    can't release it. Re-entrant within a process. on_wait(holder) is called before waiting."""
    global _run_lock_held
    if _run_lock_held:
        yield
        return
    # Django's own connection parameters (TLS options included), on a connection it doesn't manage.
    params = {**connection.get_connection_params(), "autocommit": True}
    params.setdefault("application_name", "migrate_tenants")
    lock_connection = psycopg.connect(**params)
    try:
        with lock_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_RUN_LOCK])
            if not cursor.fetchone()[0]:
                holder = run_lock_holder() or "another process"
                if not wait:
                    raise AnotherRun(f"another migrate run is going on: {holder}")
                if on_wait:
                    on_wait(holder)
                cursor.execute("SELECT pg_advisory_lock(%s)", [_RUN_LOCK])
        _run_lock_held = True
        yield
    finally:
        _run_lock_held = False
        lock_connection.close()  # ends the session, and with it the lock
