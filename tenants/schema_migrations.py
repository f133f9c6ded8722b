"""Migrating thousands of tenant schemas.

`migrate_schemas` runs Django's migrate command once per schema: it loads and renders every
migration each time, minutes with nothing to apply. Here:

1. Read every schema's applied migrations in a few UNION ALL queries, as one digest per schema,
   and group schemas by digest (after a normal deploy: one group).
2. For each group, work out the pending plan once from the migrations on disk.
3. Nothing pending: done. Otherwise apply the plan to one schema of the group with Django's own
   executor, recording its SQL, and replay that SQL in the group's other schemas, each in its own
   transaction that first checks, under a lock, that the schema is still in the group's state.
   A plan with RunPython or non-atomic migrations runs through Django's executor in every schema.

A failing schema is rolled back and reported by name; the others go on. Running again resumes:
only schemas still behind are touched.
"""

import logging
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction

from tenants.models import Tenant
from tenants.parallel import run_in_chunks
from tenants.progress import NoProgress
from tenants.provisioning import Outcome
from tenants.schema_sql import (
    applied_migrations,
    is_replayable,
    migrate_and_record,
    migration_loader,
    migrations_insert_sql,
    quote_ident,
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
        replayable = all(is_replayable(loader.graph.nodes[key]) for key in pending)
        groups.append(SchemaGroup(digest, members, pending, replayable))
    return MigrationReport(groups, unreadable)


def _replay_chunk(expected_digest: str, script: str, chunk: list[str]) -> list[Outcome]:
    outcomes = []
    for schema in chunk:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Serialize with any other run on this schema, then make sure it is still where the
                # recorded SQL starts from: a migration is never applied twice.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["migrate:" + schema])
                cursor.execute(_DIGEST_SQL.format(schema=quote_ident(schema)), [schema])
                if cursor.fetchone()[1] != expected_digest:
                    outcomes.append(
                        Outcome(schema, "skipped: its migrations changed during the run")
                    )
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


def _migrate_recording(schema: str) -> tuple[Outcome, str]:
    """Migrate one schema with Django's executor; return the outcome and the SQL it ran."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["migrate:" + schema])
            recorder = migrate_and_record(schema)
        return Outcome(schema), recorder.script
    except Exception as error:
        return Outcome(schema, f"{type(error).__name__}: {error}".strip()), ""
    finally:
        connection.set_schema_to_public()


def _executor_chunk(chunk: list[str]) -> list[Outcome]:
    return [_migrate_recording(schema)[0] for schema in chunk]


def migrate(
    schemas: list[str] | None = None, *, processes: int = 2, progress_factory=None
) -> MigrationReport:
    """Bring every given tenant schema (default: all provisioned) up to the migrations on disk."""
    report = status(schemas)
    for group in report.groups:
        if not group.pending:
            continue
        progress = progress_factory(len(group.schemas)) if progress_factory else NoProgress()
        with progress:
            if group.replayable:
                first, rest = group.schemas[0], group.schemas[1:]
                first_outcome, script = _migrate_recording(first)
                report.outcomes.append(first_outcome)
                progress.update(1)
                if not first_outcome.ok:
                    # The plan fails on a schema of this group: it would fail on the others too.
                    report.outcomes.extend(
                        Outcome(s, f"not attempted: the same migrations failed on {first}")
                        for s in rest
                    )
                    continue
                script += migrations_insert_sql(group.pending)
                report.outcomes.extend(
                    run_in_chunks(
                        partial(_replay_chunk, group.digest, script),
                        rest,
                        processes=processes,
                        chunk_size=50,
                        progress=progress,
                    )
                )
            else:
                report.outcomes.extend(
                    run_in_chunks(
                        _executor_chunk,
                        group.schemas,
                        processes=processes,
                        chunk_size=10,
                        progress=progress,
                    )
                )
    for outcome in report.failures:
        logger.error("Migrating schema %s failed: %s", outcome.schema_name, outcome.error)
    return report
