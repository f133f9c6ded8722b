"""Helpers for the provisioning and migration tests: what a schema looks like, test-only apps,
and `manage.py` in a subprocess on the test database."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# Everything about a schema that migrations decide. Names of the schema itself in definitions
# are replaced by <schema>.
_QUERIES = {
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length,
               is_nullable, column_default, is_identity, identity_generation
        FROM information_schema.columns WHERE table_schema = %(schema)s ORDER BY 1, 3""",
    "constraints": """
        SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = rel.relnamespace WHERE n.nspname = %(schema)s
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s
        ORDER BY 1, 2""",
    "sequences": """
        SELECT s.sequencename, s.data_type, s.start_value, s.increment_by,
               -- where a stand-alone sequence stands (a migration may advance one); a column's
               -- own sequence moves with the rows other tests insert (nextval isn't rolled back)
               CASE WHEN NOT EXISTS (
                   SELECT 1 FROM pg_depend d
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.deptype IN ('a', 'i')
               ) THEN s.last_value END
        FROM pg_sequences s
        JOIN pg_namespace n ON n.nspname = s.schemaname
        JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
        WHERE s.schemaname = %(schema)s ORDER BY 1""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %(schema)s ORDER BY 1, 2""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s AND NOT t.tgisinternal ORDER BY 1, 2""",
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = %(schema)s ORDER BY 1""",
    "grants": """
        SELECT c.relname, c.relkind, coalesce(c.relacl::text, '') FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s
        UNION ALL
        SELECT p.proname, 'function', coalesce(p.proacl::text, '') FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(schema)s
        ORDER BY 1, 2""",
    "extensions": """
        SELECT e.extname, e.extversion FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = %(schema)s ORDER BY 1""",
    "migrations": """SELECT app, name FROM {schema}.django_migrations ORDER BY app, name""",
}


def describe_schema(schema: str, cursor=None) -> dict:
    """Tables, columns, constraints, indexes, sequences (and where they stand), functions,
    triggers, views, grants, extensions and recorded migrations of a schema."""
    description = {}
    own_cursor = cursor is None
    cursor = cursor or connection.cursor()
    try:
        for name, sql in _QUERIES.items():
            cursor.execute(sql.replace("{schema}", f'"{schema}"'), {"schema": schema})
            description[name] = [
                tuple(str(v).replace(schema, "<schema>") if v is not None else None for v in row)
                for row in cursor.fetchall()
            ]
    finally:
        if own_cursor:
            cursor.close()
    return description


def database_url_for_tests() -> str:
    params = connection.settings_dict
    host = params["HOST"] or params["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{params['USER']}:@/{params['NAME']}?host={host}"
    port = f":{params['PORT']}" if params["PORT"] else ""
    return f"postgresql://{params['USER']}@{host}{port}/{params['NAME']}"


def manage(*args, settings="tests.probe_settings", name="test", wait=True):
    """`manage.py` in a process of its own on the test database, with the test-only apps."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "DJANGO_SETTINGS_MODULE": settings,
        "PGAPPNAME": name,
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if not wait:
        return process
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err
