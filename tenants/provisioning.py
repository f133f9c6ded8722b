"""Provisioning tenant schemas (the fast path).

The stock django-tenants path runs every migration in every new schema (about 1.2 s a tenant here,
an hour for a province). Instead the SQL that migrating a scratch schema executed is kept as a
SchemaTemplate, keyed by the fingerprint of the migrations on disk (their source, the modules they
import, Django's and the server's versions), and a new schema is one round trip: CREATE SCHEMA,
that SQL, the django_migrations rows, and the tenant's provisioned_at, in one transaction. A
changed migration changes the fingerprint, so the template is rebuilt from the real migrations
before it is used: it can't lag behind them (tests compare both schemas).

The template holds only what replays faithfully (see tenants/schema_sql.py): it stops before the
first migration the recorder refuses (RunPython, non-atomic, a savepoint rolled back, an
extension), and Django's executor applies that migration and the ones after it in each new
schema, still in the schema's one transaction unless one of them is non-atomic.
"""

import logging
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from tenants.models import SchemaTemplate, Tenant
from tenants.parallel import run_in_chunks
from tenants.progress import NoProgress
from tenants.schema_sql import (
    migrate_and_record,
    migration_fingerprint,
    migration_loader,
    migrations_insert_sql,
    quote_ident,
    runs_outside_transactions,
)

logger = logging.getLogger(__name__)

_TEMPLATE_LOCK = 4_100_000_001  # pg_advisory_xact_lock key: one template build at a time


@dataclass
class Outcome:
    schema_name: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def schema_template() -> SchemaTemplate:
    """The template for the migrations on disk now; built (about a second) if there is none."""
    fingerprint, _ = migration_fingerprint()
    template = SchemaTemplate.objects.filter(fingerprint=fingerprint).first()
    if template is not None:
        return template
    if _all_atomic():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK])
            return _build_template(fingerprint)
    # A non-atomic migration must run outside a transaction, as Django runs it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
    try:
        return _build_template(fingerprint)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK])


def _all_atomic() -> bool:
    return not any(map(runs_outside_transactions, migration_loader().disk_migrations.values()))


def _build_template(fingerprint: str) -> SchemaTemplate:
    template = SchemaTemplate.objects.filter(fingerprint=fingerprint).first()
    if template is not None:  # built by another process while this one waited for the lock
        return template
    scratch = f"_template_{fingerprint[:16]}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(scratch)} CASCADE")
        cursor.execute(f"CREATE SCHEMA {quote_ident(scratch)}")
    try:
        recorder = migrate_and_record(scratch)
    finally:
        # Also drops what a refused migration created there (an extension too: the executor
        # creates it again in the first schema that needs it, as migrating does).
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(scratch)} CASCADE")
    sql, rows = recorder.faithful_prefix()
    logger.info(
        "Built the tenant schema template %s (%d migrations replayed%s)",
        fingerprint[:12],
        len(rows),
        "; the executor runs from " + recorder.refusals[0] if recorder.refusals else "",
    )
    return SchemaTemplate.objects.create(fingerprint=fingerprint, sql=sql, migrations=rows)


def executor_tail(template: SchemaTemplate) -> str:
    """Why the executor must finish schemas provisioned from this template ("" if it needn't):
    some migration on disk is not among the rows the template writes."""
    recorded = {tuple(key) for key in template.migrations}
    loader = migration_loader()
    missing = [key for key in sorted(loader.disk_migrations) if key not in recorded]
    if not missing:
        return ""
    if any(runs_outside_transactions(loader.disk_migrations[key]) for key in missing):
        return "non-atomic"
    return "atomic"


def provisioning_script(template: SchemaTemplate, *, mark_provisioned: bool = True) -> str:
    """SQL that provisions one schema; {schema} and {tenant_id} are filled in per tenant."""
    body = template.sql + migrations_insert_sql(template.migrations)
    script = (
        "CREATE SCHEMA {schema};\n"
        "SET LOCAL search_path = {schema}, public;\n"
        + body.replace("{", "{{").replace("}", "}}")
        + "SET LOCAL search_path = public;\n"
    )
    return script + (_MARK_PROVISIONED if mark_provisioned else "")


_MARK_PROVISIONED = (
    "UPDATE tenants_tenant SET provisioned_at = now() WHERE id = {tenant_id} "
    "AND provisioned_at IS NULL;\n"
)


def _provision_one(script: str, tail: str, tenant_id: int, schema_name: str) -> None:
    sql = script.format(schema=quote_ident(schema_name), tenant_id=int(tenant_id))
    mark = _MARK_PROVISIONED.format(tenant_id=int(tenant_id))
    if tail != "non-atomic":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
            if tail:
                migrate_and_record(schema_name)
                cursor.execute(mark)
        return
    # A non-atomic migration can't share the schema's transaction: build in steps, and drop the
    # half-built schema (ours, created just now, not yet served) if a step fails.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    try:
        migrate_and_record(schema_name)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(mark)
    except Exception:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {quote_ident(schema_name)} CASCADE")
        raise


def _provision_chunk(script: str, tail: str, chunk: list[tuple[int, str]]) -> list[Outcome]:
    outcomes = []
    for tenant_id, schema_name in chunk:
        try:
            _provision_one(script, tail, tenant_id, schema_name)
            outcomes.append(Outcome(schema_name))
        except Exception as error:  # reported per schema; the run goes on with the others
            outcomes.append(Outcome(schema_name, f"{type(error).__name__}: {error}".strip()))
        finally:
            # SET LOCAL changed the session's search path behind django-tenants' back.
            connection.search_path_set_schemas = None
            connection.set_schema_to_public()
    return outcomes


def provision(
    tenants: list[Tenant] | None = None, *, processes: int = 2, progress=None
) -> list[Outcome]:
    """Create the schemas of the given tenants (default: every tenant not yet provisioned).

    Each schema is created in its own transaction together with the tenant's provisioned_at, so
    an interrupted run leaves no half-built schema and running it again finishes the rest.
    """
    if tenants is None:
        tenants = list(Tenant.objects.filter(provisioned_at__isnull=True).order_by("code"))
    pending = [(t.id, t.schema_name) for t in tenants if t.provisioned_at is None]
    if not pending:
        return []
    template = schema_template()
    tail = executor_tail(template)
    script = provisioning_script(template, mark_provisioned=not tail)
    outcomes = run_in_chunks(
        partial(_provision_chunk, script, tail),
        pending,
        processes=processes,
        chunk_size=25,
        progress=progress or NoProgress(),
    )
    now = timezone.now()
    provisioned = {o.schema_name for o in outcomes if o.ok}
    for tenant in tenants:
        if tenant.provisioned_at is None and tenant.schema_name in provisioned:
            tenant.provisioned_at = now
    for outcome in outcomes:
        if not outcome.ok:
            logger.error("Provisioning schema %s failed: %s", outcome.schema_name, outcome.error)
    return outcomes


def provision_stock(tenant: Tenant) -> None:
    """The stock django-tenants path (migrations run in the new schema), kept as the benchmark's
    baseline and as the reference the fast path is tested against."""
    tenant.create_schema(check_if_exists=True, sync_schema=True, verbosity=0)
    Tenant.objects.filter(pk=tenant.pk).update(provisioned_at=timezone.now())
