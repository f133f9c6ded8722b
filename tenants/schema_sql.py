"""Capture the SQL that Django's migrations execute in one tenant schema, to replay it in others.

Django's schema editor writes unqualified names and the search path decides the schema, so the SQL
that migrating one schema executed, replayed with another schema first on the search path, gives
that schema the same tables, columns, indexes and constraints. This is how provisioning and
migrations reach thousands of schemas quickly: migrate once with the real migrations, replay.

Replaying is only the same as migrating when the recording holds everything the migration did to
the schema and nothing else. The recorder keeps every statement a migration operation ran through
the schema editor (DDL, RunSQL, including SELECTs such as `nextval()` or a function call) and skips
what Django ran for itself (introspection, the migration recorder, savepoints). A migration is
refused — run through Django's executor in each schema instead — when that can't be faithful:
RunPython (it may act on each schema's own data), non-atomic migrations, a rollback to a savepoint
(the recording would keep statements that were undone), extensions (they belong to the database,
not the schema) and SQL that names the recording schema itself.
"""

import ast
import hashlib
import re
import sys
import sysconfig
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import django
from django.conf import settings
from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations import RunPython, SeparateDatabaseAndState
from django.db.migrations.loader import MigrationLoader
from django_tenants.routers import TenantSyncRouter
from django_tenants.utils import schema_context
from psycopg import ClientCursor

_OPERATION_SQL = BaseDatabaseSchemaEditor.execute.__code__
_ROLLBACK_TO = re.compile(r"^\s*ROLLBACK\s+TO\b", re.IGNORECASE)
# What Django runs for itself while migrating, besides the operations' SQL: catalog reads,
# savepoints, the search path, and its bookkeeping in django_migrations.
_DJANGO_OWN = re.compile(
    r"""^\s*(?:
        (?:SELECT(?!.*\b(?:nextval|setval)\s*\()|SHOW|SAVEPOINT|RELEASE|ROLLBACK|SET\s+search_path)\b
        | (?:INSERT\s+INTO|DELETE\s+FROM)\s+"django_migrations"
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_EXTENSION = re.compile(r"^\s*(?:CREATE|ALTER|DROP)\s+EXTENSION\b", re.IGNORECASE)


def _run_by_an_operation() -> bool:
    """Whether the statement being executed came through the schema editor's execute() (every
    operation's SQL does), rather than from Django reading the catalog or its own bookkeeping."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _OPERATION_SQL:
            return True
        frame = frame.f_back
    return False


def migration_key(migration) -> tuple[str, str]:
    return (migration.app_label, migration.name)


def recorded_keys(migration) -> list[tuple[str, str]]:
    """The django_migrations rows Django writes for a migration (a squash also records what it
    replaces)."""
    return [*map(tuple, migration.replaces), migration_key(migration)]


@dataclass
class RecordedMigration:
    migration: object
    statements: list[str] = field(default_factory=list)
    refusal: str = ""  # why replaying the statements would not be the same as migrating

    @property
    def key(self) -> tuple[str, str]:
        return migration_key(self.migration)


def _script(statements: list[str]) -> str:
    # The terminator on a line of its own: a statement may end with a -- comment.
    return "".join(s.rstrip().rstrip(";").rstrip() + "\n;\n" for s in statements)


class StatementRecorder:
    """A Django execute wrapper, and the executor's progress callback, that records the SQL each
    migration's operations ran in `schema_name`, with parameters bound."""

    def __init__(self, schema_name: str):
        self.schema_name = schema_name
        self.preamble: list[str] = []  # before the first migration: the django_migrations table
        self.migrations: list[RecordedMigration] = []
        self._current: RecordedMigration | None = None

    def progress(self, action, migration=None, fake=False):
        if action == "apply_start":
            self._current = RecordedMigration(migration, refusal=static_refusal(migration))
        elif action == "apply_success":
            self.migrations.append(self._current)
            self._current = None
        elif action.startswith("unapply"):
            raise RuntimeError("recording a backwards migration is not supported")

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        current = self._current
        if current is not None and _ROLLBACK_TO.match(sql):
            current.refusal = current.refusal or "it rolls back to a savepoint"
        if not _run_by_an_operation():
            # SQL that bypasses the schema editor (a custom operation's own cursor) and changes
            # something is not in the recording: the replay would miss it.
            if current is not None and not current.refusal and not _DJANGO_OWN.match(sql):
                current.refusal = "it runs SQL outside the schema editor"
            return result
        # A separate client-side cursor: binding on the executing one would discard its result.
        binder = ClientCursor(context["connection"].connection)
        for one in params if many else [params]:
            statement = binder.mogrify(sql, one) if one else sql
            if current is not None and not current.refusal:
                if _EXTENSION.match(statement):
                    current.refusal = "it creates, changes or drops an extension"
                elif self.schema_name in statement:
                    current.refusal = f"its SQL names the schema {self.schema_name}"
            (current.statements if current is not None else self.preamble).append(statement)
        return result

    @property
    def refusals(self) -> list[str]:
        return [f"{m.key[0]}.{m.key[1]}: {m.refusal}" for m in self.migrations if m.refusal]

    @property
    def faithful(self) -> bool:
        return not self.refusals

    @property
    def script(self) -> str:
        """All the recorded SQL (only meaningful when faithful)."""
        return _script(self.preamble + [s for m in self.migrations for s in m.statements])

    def faithful_prefix(self) -> tuple[str, list[list[str]]]:
        """The SQL of the migrations before the first refused one, and the django_migrations rows
        they write: what a template can replay; the executor does the rest."""
        statements, rows = list(self.preamble), []
        for recorded in self.migrations:
            if recorded.refusal:
                break
            statements += recorded.statements
            rows += [list(key) for key in recorded_keys(recorded.migration)]
        return _script(statements), rows


@contextmanager
def recording(schema_name: str, conn=connection):
    recorder = StatementRecorder(schema_name)
    with conn.execute_wrapper(recorder):
        yield recorder


def migration_loader() -> MigrationLoader:
    """The migrations on disk, without reading any database."""
    return MigrationLoader(None, ignore_no_migrations=True)


_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
_DJANGO = Path(django.__file__).resolve().parent  # covered by its version


def _imported_files(source: str, package: str | None) -> set[Path]:
    """Source files of the modules a migration imports (one level: what it names directly)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ("." * node.level) + (node.module or "")
            names.add(base)
            names.update(
                f"{base}.{alias.name}" if node.module else base + alias.name for alias in node.names
            )
    files = set()
    for name in names:
        try:
            spec = find_spec(name, package) if name.startswith(".") else find_spec(name)
        except (ImportError, ValueError):
            continue  # `from module import function`: the module itself is in the set
        origin = spec and spec.origin
        if not origin or not origin.endswith(".py"):
            continue
        path = Path(origin).resolve()
        if path.is_relative_to(_DJANGO) or (
            path.is_relative_to(_STDLIB) and "site-packages" not in path.parts
        ):
            continue
        files.add(path)
    return files


def migration_fingerprint(loader: MigrationLoader | None = None) -> tuple[str, list[list[str]]]:
    """A digest of everything that decides what migrating a fresh tenant schema does: the
    PostgreSQL server and Django versions, the tenant apps, how SQL is captured, the name and
    source of every migration and of the modules migrations import. Returns it with the
    [app, name] list of all migrations (a tenant schema records shared apps' migrations too)."""
    loader = loader or migration_loader()
    digest = hashlib.sha256()
    connection.ensure_connection()
    digest.update(f"postgresql {connection.connection.info.server_version}".encode())
    digest.update(django.get_version().encode())
    digest.update(",".join(settings.TENANT_APPS).encode())
    with open(__file__, "rb") as this_module:  # how the SQL is captured is part of the result
        digest.update(this_module.read())
    keys = sorted(loader.disk_migrations)
    imported: set[Path] = set()
    for app_label, name in keys:
        migration = loader.disk_migrations[(app_label, name)]
        digest.update(f"{app_label}.{name}".encode())
        module = sys.modules.get(migration.__module__)
        source_file = getattr(module, "__file__", None)
        if source_file:
            source = Path(source_file).read_bytes()
            digest.update(hashlib.sha256(source).digest())
            imported |= _imported_files(source.decode("utf-8"), module.__package__)
    for path in sorted(imported):
        digest.update(str(path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest(), [list(key) for key in keys]


def static_refusal(migration) -> str:
    """Why replaying this migration's recorded SQL would not be the same as running it, as far as
    its source tells: RunPython may act on each schema's own data, and a non-atomic migration may
    use statements that can't run in a transaction (CREATE INDEX CONCURRENTLY). A shared app's
    migration runs nothing in a tenant schema (the router skips its operations)."""
    if not TenantSyncRouter().app_in_list(migration.app_label, settings.TENANT_APPS):
        return ""
    if not migration.atomic:
        return "it is not atomic"

    def runs_python(operations) -> bool:
        return any(
            isinstance(operation, RunPython)
            or (
                isinstance(operation, SeparateDatabaseAndState)
                and runs_python(operation.database_operations)
            )
            for operation in operations
        )

    return "it runs Python" if runs_python(migration.operations) else ""


def is_replayable(migration) -> bool:
    return not static_refusal(migration)


def runs_outside_transactions(migration) -> bool:
    """A tenant app's non-atomic migration: it can't run inside a transaction of ours."""
    return static_refusal(migration) == "it is not atomic"


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


class PlanChanged(Exception):
    """The schema's pending migrations are not the ones the caller planned for."""


def migrate_and_record(
    schema_name: str, expected_plan: list[tuple[str, str]] | None = None
) -> StatementRecorder:
    """Apply every pending migration to one existing schema with Django's own executor, recording
    the SQL it runs. Each migration runs as Django runs it: inside the caller's transaction if
    there is one, else atomic migrations in their own transaction and others outside any. With
    expected_plan, refuse (PlanChanged) to apply anything else."""
    from django.db.migrations.executor import MigrationExecutor

    with schema_context(schema_name), recording(schema_name) as recorder:
        executor = MigrationExecutor(connection, progress_callback=recorder.progress)
        targets = executor.loader.graph.leaf_nodes()
        if expected_plan is not None:
            plan = [migration_key(m) for m, _ in executor.migration_plan(targets)]
            if plan != list(expected_plan):
                raise PlanChanged(
                    f"{schema_name} would apply {plan or 'nothing'}, not {list(expected_plan)}"
                )
        executor.migrate(targets)
    return recorder
