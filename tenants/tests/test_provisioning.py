import textwrap
from types import SimpleNamespace

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from tenants import provisioning
from tenants.models import SchemaTemplate, Tenant
from tenants.schema_sql import migration_fingerprint, migration_loader, recording
from tenants.tests.schemas import database_url_for_tests, describe_schema, manage

PROBE_APPS = ["tests.migration_probe", "tests.migration_probe_python"]


@pytest.fixture
def probe_apps(settings):
    """The test-only tenant apps: a function, trigger, view, grant and a sequence advanced by a
    SELECT; a migration that rolls back to a savepoint; one that runs Python."""
    settings.TENANT_APPS = [*settings.TENANT_APPS, *PROBE_APPS]
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *PROBE_APPS]


def new_township(code: str, name: str, subdomain: str) -> Tenant:
    """A township row of 金水区 with no schema yet."""
    return Tenant.objects.create(
        code=code,
        name=name,
        level="township",
        parent=Tenant.objects.get(code="410105000000"),
        schema_name=f"t_{code}",
        subdomain=subdomain,
    )


def provision_both() -> tuple[Tenant, Tenant]:
    stock = new_township("410105009000", "对照街道", "duizhao-test")
    fast = new_township("410105008000", "快速街道", "kuaisu-test")
    provisioning.provision_stock(stock)
    connection.set_schema_to_public()
    outcomes = provisioning.provision([fast], processes=1)
    assert [o.error for o in outcomes] == [""]
    return stock, fast


def test_fast_path_schema_is_identical_to_a_migrated_one(db):
    stock, fast = provision_both()
    migrated, provisioned = describe_schema(stock.schema_name), describe_schema(fast.schema_name)
    assert migrated["columns"], "the migrated schema has tables"
    assert provisioned == migrated


def test_what_a_recording_cannot_replay_is_migrated_in_each_new_schema(db, probe_apps):
    stock, fast = provision_both()
    migrated, provisioned = describe_schema(stock.schema_name), describe_schema(fast.schema_name)
    assert migrated["functions"] and migrated["triggers"] and migrated["views"]
    assert ("migration_probe_ticket", "bigint", "1", "1", "2") in migrated["sequences"]
    assert provisioned == migrated
    # The RunPython migration ran in the new schema itself, not once in a scratch schema.
    with connection.cursor() as cursor:
        for tenant in (stock, fast):
            cursor.execute(
                f'SELECT schema FROM "{tenant.schema_name}".migration_probe_python_stamp'
            )
            assert cursor.fetchall() == [(tenant.schema_name,)]


def test_template_replays_only_what_it_can(db, probe_apps):
    template = provisioning.schema_template()
    replayed = {tuple(key) for key in template.migrations}
    # SELECTs with side effects and RunSQL objects are kept ...
    assert "SELECT nextval('migration_probe_ticket')" in template.sql
    assert "CREATE TRIGGER migration_probe_touch" in template.sql
    assert ("migration_probe", "0001_initial") in replayed
    # ... Django's own reads are not, and the template stops before the savepoint rolled back
    # (migration_probe_python.0001) and the RunPython (0002): the executor runs those.
    assert "pg_catalog" not in template.sql and "pg_attribute" not in template.sql
    assert "migration_probe_python_tried" not in template.sql
    assert ("migration_probe_python", "0001_initial") not in replayed
    assert ("migration_probe_python", "0002_stamp_schema") not in replayed
    assert provisioning.executor_tail(template) == "atomic"


def test_failed_schema_is_reported_by_name_and_left_unprovisioned(db):
    unit = new_township("410105007000", "失败街道", "shibai-test")
    with connection.cursor() as cursor:  # something already occupies the schema name
        cursor.execute('CREATE SCHEMA "t_410105007000"')
    [outcome] = provisioning.provision([unit], processes=1)
    assert outcome.schema_name == "t_410105007000" and "already exists" in outcome.error
    unit.refresh_from_db()
    assert unit.provisioned_at is None


def test_template_follows_the_migrations(db, settings):
    current = provisioning.schema_template()
    assert SchemaTemplate.objects.filter(fingerprint=current.fingerprint).count() == 1
    assert provisioning.schema_template().fingerprint == current.fingerprint
    assert "migration_probe_probe" not in current.sql
    # A new migration on disk: a new template, built from the migrations.
    settings.TENANT_APPS = [*settings.TENANT_APPS, "tests.migration_probe"]
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.migration_probe"]
    rebuilt = provisioning.schema_template()
    assert rebuilt.fingerprint != current.fingerprint
    assert 'CREATE TABLE "migration_probe_probe"' in rebuilt.sql


def test_fingerprint_follows_the_code_migrations_import(db, tmp_path, monkeypatch):
    package = tmp_path / "fingerprint_probe"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "__init__.py").write_text("")
    (package / "helpers.py").write_text("COLUMNS = 1\n")
    (package / "migrations" / "0001_initial.py").write_text(
        textwrap.dedent("""
            from django.db import migrations

            from fingerprint_probe.helpers import COLUMNS

            class Migration(migrations.Migration):
                operations = []
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("fingerprint_probe.migrations.0001_initial", fromlist=["Migration"])
    loader = SimpleNamespace(
        disk_migrations={
            ("fingerprint_probe", "0001_initial"): module.Migration("0001_initial", "fp")
        }
    )
    before, _ = migration_fingerprint(loader)
    assert migration_fingerprint(loader)[0] == before
    (package / "helpers.py").write_text("COLUMNS = 2\n")
    assert migration_fingerprint(loader)[0] != before


@pytest.mark.database_owner  # comments on a schema: the owner's right
def test_recorder_refuses_extensions_and_its_own_schema_name(db):
    schema = Tenant.objects.exclude(provisioned_at=None).order_by("code")[0].schema_name
    migration = migration_loader().disk_migrations[("departments", "0001_initial")]

    def record(sql: str, through_the_schema_editor=True) -> list[str]:
        with (
            schema_context(schema),
            recording(schema) as recorder,
            connection.schema_editor() as editor,
        ):
            recorder.progress("apply_start", migration)
            if through_the_schema_editor:
                editor.execute(sql)
            else:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
            recorder.progress("apply_success", migration)
        return recorder.refusals

    assert record("CREATE EXTENSION IF NOT EXISTS plpgsql") == [
        "departments.0001_initial: it creates, changes or drops an extension"
    ]
    assert record(f'COMMENT ON SCHEMA "{schema}" IS NULL') == [
        f"departments.0001_initial: its SQL names the schema {schema}"
    ]
    assert record("COMMENT ON TABLE departments_department IS NULL") == []
    assert record("COMMENT ON TABLE departments_department IS NULL", False) == [
        "departments.0001_initial: it runs SQL outside the schema editor"
    ]
    assert record("SELECT count(*) FROM pg_class", False) == []  # a read: nothing to replay


@pytest.mark.parametrize("app", settings.TENANT_APPS)
def test_template_creates_every_tenant_table(db, app):
    template = provisioning.schema_template()
    models = list(apps.get_app_config(app.rsplit(".", 1)[-1]).get_models())
    assert models
    for model in models:
        assert f'CREATE TABLE "{model._meta.db_table}"' in template.sql
    assert 'CREATE TABLE "django_migrations"' in template.sql
    assert 'INSERT INTO "django_migrations"' not in template.sql


_PROVISION_TWO = """
from tenants.models import Tenant
from tenants.provisioning import provision, provision_stock
parent = Tenant.objects.get(code="410105000000")
stock, fast = (
    Tenant.objects.create(code=code, name=name, level="township", parent=parent,
                          schema_name=f"t_{code}", subdomain=subdomain)
    for code, name, subdomain in [("410105019000", "对照二街道", "duizhao-two"),
                                  ("410105018000", "快速二街道", "kuaisu-two")]
)
provision_stock(stock)
[outcome] = provision([fast], processes=1)
print("outcome:", outcome.error or "ok")
"""


@pytest.fixture
def committed_townships(db, django_db_blocker):
    """Two townships that a subprocess creates and provisions (committed); removed after."""
    with django_db_blocker.unblock():
        url = database_url_for_tests()
    yield ["t_410105019000", "t_410105018000"]
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ["t_410105019000", "t_410105018000"]:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute("DELETE FROM tenants_tenant WHERE code IN ('410105019000', '410105018000')")
        conn.execute("DELETE FROM tenants_schematemplate WHERE sql LIKE '%migration_probe%'")


def test_a_non_atomic_migration_is_provisioned_outside_a_transaction(committed_townships):
    stock, fast = committed_townships
    code, out, err = manage(
        "shell", "-c", _PROVISION_TWO, settings="tests.probe_settings_concurrently"
    )
    assert code == 0 and "outcome: ok" in out, err
    with (
        psycopg.connect(database_url_for_tests(), autocommit=True) as conn,
        conn.cursor() as cursor,
    ):
        migrated = describe_schema(stock, cursor)
        assert ("migration_probe_concurrently", "0002_text_index") in migrated["migrations"]
        assert any(row[1] == "probe_note_text_idx" for row in migrated["indexes"])
        assert describe_schema(fast, cursor) == migrated
