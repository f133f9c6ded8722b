"""Capture the SQL that Django's migrations execute in one tenant schema, to replay it in others.

Django's schema editor writes unqualified names and the search path decides the schema, so the SQL
that migrating one schema executed, replayed with another schema first on the search path, gives
that schema the same tables, columns, indexes and constraints. This is how provisioning and
migrations reach thousands of schemas quickly: migrate once with the real migrations, replay.
"""

import hashlib
import re
import sys
from contextlib import contextmanager

import django
from django.conf import settings
from django.db import connection
from django.db.migrations import RunPython, SeparateDatabaseAndState
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context
from psycopg import ClientCursor

# Statements that read or manage the session, not the schema. Everything else is recorded.
_NOT_RECORDED = re.compile(
    r"""^\s*(?:
        (?:SELECT(?!.*\bsetval\s*\()|SHOW|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET\s+search_path)\b
        | (?:INSERT\s+INTO|DELETE\s+FROM)\s+"django_migrations"
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)


class StatementRecorder:
    """A Django execute wrapper that runs each statement and records, with its parameters bound,
    those that change the schema or its data."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not _NOT_RECORDED.match(sql):
            # A separate client-side cursor: binding on the executing one would discard its result.
            binder = ClientCursor(context["connection"].connection)
            for one in params if many else [params]:
                self.statements.append(binder.mogrify(sql, one) if one else sql)
        return result

    @property
    def script(self) -> str:
        return ";\n".join(s.rstrip().rstrip(";") for s in self.statements) + (
            ";\n" if self.statements else ""
        )


@contextmanager
def recording(conn=connection):
    recorder = StatementRecorder()
    with conn.execute_wrapper(recorder):
        yield recorder


def migration_loader() -> MigrationLoader:
    """The migrations on disk, without reading any database."""
    return MigrationLoader(None, ignore_no_migrations=True)


def migration_fingerprint(loader: MigrationLoader | None = None) -> tuple[str, list[list[str]]]:
    """A digest of everything that decides what migrating a fresh tenant schema does: Django's
    version, the tenant apps, and the name and source of every migration. Returns it with the
    [app, name] list of all migrations (a tenant schema records shared apps' migrations too)."""
    loader = loader or migration_loader()
    digest = hashlib.sha256()
    digest.update(django.get_version().encode())
    digest.update(",".join(settings.TENANT_APPS).encode())
    with open(__file__, "rb") as this_module:  # how the SQL is captured is part of the result
        digest.update(this_module.read())
    keys = sorted(loader.disk_migrations)
    for app_label, name in keys:
        migration = loader.disk_migrations[(app_label, name)]
        digest.update(f"{app_label}.{name}".encode())
        source_file = getattr(sys.modules.get(migration.__module__), "__file__", None)
        if source_file:
            with open(source_file, "rb") as source:
                digest.update(hashlib.sha256(source.read()).digest())
    return digest.hexdigest(), [list(key) for key in keys]


def is_replayable(migration) -> bool:
    """Whether replaying this migration's recorded SQL is the same as running it. RunPython may act
    on each schema's own data, and non-atomic migrations may use statements that can't run in a
    transaction (CREATE INDEX CONCURRENTLY): those run through Django's executor in every schema."""
    if not migration.atomic:
        return False

    def plain(operations) -> bool:
        for operation in operations:
            if isinstance(operation, RunPython):
                return False
            if isinstance(operation, SeparateDatabaseAndState) and not plain(
                operation.database_operations
            ):
                return False
        return True

    return plain(migration.operations)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def migrations_insert_sql(migrations: list[list[str]] | list[tuple[str, str]]) -> str:
    """Record migrations as applied in the schema first on the search path."""
    if not migrations:
        return ""
    connection.ensure_connection()
    binder = ClientCursor(connection.connection)
    values = ",".join(binder.mogrify("(%s, %s, now())", (app, name)) for app, name in migrations)
    return f'INSERT INTO "django_migrations" ("app", "name", "applied") VALUES {values};\n'


def applied_migrations(schema_name: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT app, name FROM {quote_ident(schema_name)}."django_migrations" ORDER BY id'
        )
        return cursor.fetchall()


def migrate_and_record(schema_name: str) -> StatementRecorder:
    """Apply every pending migration to one existing schema with Django's own executor, recording
    the SQL it runs. The caller owns the transaction."""
    from django.db.migrations.executor import MigrationExecutor

    with schema_context(schema_name), recording() as recorder:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    return recorder
