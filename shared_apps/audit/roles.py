"""The application's database role (DATABASE_APP_ROLE): what the web server and the workers log
in as. Migrations run as the owner role, which owns every table; the application role gets only
the privileges it needs, and on the audit tables only SELECT and INSERT. Not owning them, it can't
disable their triggers, and without TRUNCATE or DELETE it can't remove entries.

Tenant schemas are created after migrations (provisioning): default privileges of the role that
creates them give the application role access to every new schema, table and sequence."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from psycopg import sql

AUDIT_TABLES = ["audit_auditentry", "audit_auditcheckpoint"]


def application_role_exists(role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def grant_application_role(role: str | None = None) -> bool:
    """Grant the application role its privileges (idempotent; run after every migration by the
    owner role). Returns False, in development only, when the role doesn't exist."""
    role = role or settings.DATABASE_APP_ROLE
    if not application_role_exists(role):
        if settings.DEVELOPMENT:
            return False
        raise ImproperlyConfigured(
            f"The database role {role!r} (DATABASE_APP_ROLE) does not exist: create it "
            "(README, 'Database roles') before migrating."
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database()")
        owner, database = cursor.fetchone()
        if owner == role:
            raise ImproperlyConfigured(
                f"Migrations run as the application role {role!r}: run them as the owner role."
            )
        role_id = sql.Identifier(role)
        statements = [
            sql.SQL("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(database), role_id
            ),
            # Future objects of the owner role: tenant schemas and their tables, the job queue.
            sql.SQL("ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO {}").format(role_id),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(role_id),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}"
            ).format(role_id),
        ]
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = 'public' OR ("
            " nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema'"
            " AND pg_get_userbyid(nspowner) = current_user"
            " AND NOT has_schema_privilege(%s, oid, 'USAGE'))",
            [role],
        )
        for (schema,) in cursor.fetchall():
            schema_id = sql.Identifier(schema)
            statements += [
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id),
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}"
                ).format(schema_id, role_id),
                sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                    schema_id, role_id
                ),
            ]
        for table in AUDIT_TABLES:
            statements += [
                sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                    sql.Identifier("public", table), role_id
                ),
                # setval() could make the chain's ids collide; nextval() needs only USAGE.
                sql.SQL("REVOKE UPDATE ON SEQUENCE {} FROM {}").format(
                    sql.Identifier("public", f"{table}_id_seq"), role_id
                ),
            ]
        for statement in statements:
            cursor.execute(statement.as_string(connection.connection))
    return True
