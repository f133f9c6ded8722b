import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from tenants import provisioning
from tenants.models import SchemaTemplate, Tenant


def describe_schema(schema: str) -> dict:
    """Everything about a schema's structure that migrations decide."""
    queries = {
        "columns": """
            SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length,
                   is_nullable, column_default, is_identity, identity_generation
            FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 3""",
        "constraints": """
            SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = rel.relnamespace WHERE n.nspname = %s ORDER BY 1, 2""",
        "indexes": """
            SELECT tablename, indexname, regexp_replace(indexdef, ' ON [^ ]+\\.', ' ON ')
            FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2""",
        "sequences": """
            SELECT sequence_name, data_type, start_value, increment
            FROM information_schema.sequences WHERE sequence_schema = %s ORDER BY 1""",
        "migrations": None,
    }
    description = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            if sql is None:
                cursor.execute(
                    f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name'
                )
            else:
                cursor.execute(sql, [schema])
            description[name] = cursor.fetchall()
    return description


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


def test_fast_path_schema_is_identical_to_a_migrated_one(db):
    stock = new_township("410105009000", "对照街道", "duizhao-test")
    fast = new_township("410105008000", "快速街道", "kuaisu-test")
    provisioning.provision_stock(stock)
    connection.set_schema_to_public()
    outcomes = provisioning.provision([fast], processes=1)
    assert [o.error for o in outcomes] == [""]

    migrated, provisioned = describe_schema(stock.schema_name), describe_schema(fast.schema_name)
    assert migrated["columns"], "the migrated schema has tables"
    assert provisioned == migrated


def test_failed_schema_is_reported_by_name_and_left_unprovisioned(db):
    unit = new_township("410105007000", "失败街道", "shibai-test")
    with connection.cursor() as cursor:  # something already occupies the schema name
        cursor.execute('CREATE SCHEMA "t_410105007000"')
    [outcome] = provisioning.provision([unit], processes=1)
    assert outcome.schema_name == "t_410105007000" and "already exists" in outcome.error
    unit.refresh_from_db()
    assert unit.provisioned_at is None


def test_template_follows_the_migrations(db, monkeypatch):
    current = provisioning.schema_template()
    assert SchemaTemplate.objects.filter(fingerprint=current.fingerprint).count() == 1
    fingerprint, migrations = provisioning.migration_fingerprint()
    assert fingerprint == current.fingerprint
    # A new migration on disk means a new fingerprint: a new template is built from the migrations.
    monkeypatch.setattr(provisioning, "migration_fingerprint", lambda: ("0" * 64, migrations))
    rebuilt = provisioning.schema_template()
    assert rebuilt.fingerprint == "0" * 64
    assert rebuilt.sql == current.sql


@pytest.mark.parametrize("app", settings.TENANT_APPS)
def test_template_creates_every_tenant_table(db, app):
    template = provisioning.schema_template()
    models = list(apps.get_app_config(app.rsplit(".", 1)[-1]).get_models())
    assert models
    for model in models:
        assert f'CREATE TABLE "{model._meta.db_table}"' in template.sql
    assert 'CREATE TABLE "django_migrations"' in template.sql
    assert 'INSERT INTO "django_migrations"' not in template.sql
