"""The application logs in as a role that owns no audit table (issue 8, item 5): it can append to
the log but neither disable its triggers nor truncate, delete or rewrite it; tenant schemas created
after the migrations are open to it."""

import os
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from shared_apps.audit.models import AuditEntry


def url_as(role: str) -> str:
    """The test database's URL for another role (a server, or the embedded one's socket)."""
    params = connection.get_connection_params()
    host = quote(params.get("host") or "127.0.0.1", safe="")
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{role}@{host}{port}/{params['dbname']}"


@pytest.fixture
def as_application():
    with psycopg.connect(url_as(settings.DATABASE_APP_ROLE), autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only",
        "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
        "ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER",
        "DROP TRIGGER audit_auditentry_no_truncate ON audit_auditentry",
        "TRUNCATE audit_auditentry CASCADE",
        "TRUNCATE audit_auditcheckpoint",
        "DELETE FROM audit_auditentry",
        "UPDATE audit_auditentry SET target = 'forged'",
        "DELETE FROM audit_auditcheckpoint",
        "SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'), 1)",
        "CREATE OR REPLACE FUNCTION audit_forbid_change() RETURNS trigger AS 'BEGIN RETURN NULL; END' LANGUAGE plpgsql",
    ],
)
def test_the_application_role_cannot_rewrite_the_log(db, as_application, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_application.execute(statement)


def test_the_application_role_owns_nothing_in_public(db, as_application):
    owned = as_application.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    ).fetchone()[0]
    assert owned == 0


def test_tenant_schemas_made_after_the_migrations_are_open_to_the_application(db, as_application):
    with psycopg.connect(url_as(connection.settings_dict["USER"]), autocommit=True) as owner:
        owner.execute("DROP SCHEMA IF EXISTS t_999999999999 CASCADE")
        owner.execute("CREATE SCHEMA t_999999999999")  # as provisioning does, as the owner role
        owner.execute("CREATE TABLE t_999999999999.thing (id bigserial PRIMARY KEY, x int)")
        try:
            as_application.execute("INSERT INTO t_999999999999.thing (x) VALUES (1)")
            assert as_application.execute("SELECT x FROM t_999999999999.thing").fetchall() == [(1,)]
        finally:
            owner.execute("DROP SCHEMA t_999999999999 CASCADE")


def test_the_platform_runs_as_the_application_role(db):
    """Write, checkpoint and verify the log in a process that logs in as the application role."""
    env = {
        **os.environ,
        "DATABASE_URL": url_as(settings.DATABASE_APP_ROLE),
        "PLATFORM_ENV": "development",
    }
    code = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "from shared_apps.audit.actions import record_audit\n"
        "from tenants.models import Tenant\n"
        "record_audit(actor='system:role-test', action='test.role', tenant=Tenant.objects.first())\n"
        "with connection.cursor() as c:\n"
        "    c.execute('SELECT current_user'); print(c.fetchone()[0])\n"
    )
    for command in (
        [sys.executable, "-c", code],
        [sys.executable, "manage.py", "audit_checkpoint"],
        [sys.executable, "manage.py", "verify_audit_chain"],
    ):
        result = subprocess.run(
            command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout
    assert AuditEntry.objects.filter(action="test.role").exists()


WRITER = """
import sys
import django
django.setup()
from shared_apps.audit.actions import record_audit
from shared_apps.audit.checkpoints import CheckpointBusy, write_checkpoint
from tenants.models import Tenant
units = [None, *Tenant.objects.filter(code__in=["410102000000", "410204000000"])]
for n in range(60):
    record_audit(actor="system:race", action="test.race", target=sys.argv[1], tenant=units[n % 3])
    if n % 20 == 0:
        try:
            write_checkpoint()
        except CheckpointBusy:
            pass
"""


def test_writers_racing_in_several_processes_keep_every_chain_intact(db):
    """Two processes write to the same three chains and checkpoint at the same time."""
    from shared_apps.audit.checkpoints import write_checkpoint
    from shared_apps.audit.queries import verify_chain

    env = {**os.environ, "DATABASE_URL": url_as(settings.DATABASE_APP_ROLE)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n)],
            cwd=settings.BASE_DIR,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for writer in writers:
        assert writer.wait(timeout=300) == 0, writer.stderr.read()
    assert AuditEntry.objects.filter(action="test.race").count() == 120
    write_checkpoint()
    assert verify_chain()[1] == []


def test_tests_use_the_database_as_the_application_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASE_APP_ROLE
