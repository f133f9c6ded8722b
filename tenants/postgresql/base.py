"""django-tenants' PostgreSQL backend, with two changes for thousands of tenant schemas.

1. A bound on how many tenant schemas one connection visits. A PostgreSQL backend keeps the
   catalog entries of every table it has touched until it disconnects. A long-lived connection
   wandering over thousands of tenants would grow without bound, so a connection that has entered
   more than TENANT_SCHEMAS_PER_CONNECTION schemas is closed at the next request or job boundary
   (Django calls close_if_unusable_or_obsolete there) and a fresh one is opened on demand.

2. The `SET search_path` of a tenant switch travels with the next SELECT, as one statement
   `SET search_path = …; SELECT …`: one round trip instead of two for each request that lands on a
   connection last used for another unit (most of them, when requests are spread over the
   province). The search path is recorded as set only once that statement has succeeded (if it
   fails, PostgreSQL has undone the SET with it), so a cursor that never runs its statement can't
   leave the connection believed to be on a schema it is not on. Statements other than a SELECT
   get the SET sent before them, as django-tenants does; savepoints and rollbacks none.
"""

import re

from django.conf import settings
from django.db import DatabaseError
from django.db.backends.postgresql.base import Cursor as ClientBindingCursor
from django.db.backends.postgresql.base import CursorDebugWrapper
from django.db.backends.utils import CursorWrapper
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.postgresql_backend.base import quote_schema_name
from django_tenants.utils import get_limit_set_calls

# Savepoints and rollbacks don't depend on the search path; one after an error must not be
# preceded by a statement that would fail.
_TRANSACTION_CONTROL = re.compile(r"\s*(SAVEPOINT|RELEASE|ROLLBACK)\b", re.IGNORECASE)


class _SearchPathCarrier:
    """A Django cursor wrapper that sends a pending `SET search_path` with its next statement."""

    pending_search_path = None  # (SET statement, called once it has run)

    def execute(self, sql, params=None):
        pending, self.pending_search_path = self.pending_search_path, None
        if pending is None:
            return super().execute(sql, params)
        set_statement, done = pending
        if (
            isinstance(sql, str)
            and sql.lstrip()[:6].upper() == "SELECT"
            and isinstance(self.cursor, ClientBindingCursor)
        ):
            result = super().execute(f"{set_statement}; {sql}", params)
            self.cursor.nextset()  # the SELECT's rows, not the SET's status
            done()
            return result
        if not (isinstance(sql, str) and _TRANSACTION_CONTROL.match(sql)):
            self._send(set_statement, done)
        return super().execute(sql, params)

    def _send(self, set_statement, done):
        try:
            super().execute(set_statement)
        except DatabaseError:
            # The transaction has already failed: the statement after it fails too, and the
            # path stays unrecorded so the next cursor sends it again (as django-tenants does).
            return
        done()

    def _flush_search_path(self):
        pending, self.pending_search_path = self.pending_search_path, None
        if pending is not None:
            self._send(*pending)

    def executemany(self, sql, param_list):
        self._flush_search_path()
        return super().executemany(sql, param_list)

    def callproc(self, procname, params=None, kparams=None):
        self._flush_search_path()
        return super().callproc(procname, params, kparams)


class SearchPathCursorWrapper(_SearchPathCarrier, CursorWrapper):
    def copy(self, statement):
        self._flush_search_path()
        return self.cursor.copy(statement)


class SearchPathCursorDebugWrapper(_SearchPathCarrier, CursorDebugWrapper):
    def copy(self, statement):
        self._flush_search_path()
        return super().copy(statement)


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self.schemas_entered = set()
        super().__init__(*args, **kwargs)

    def make_cursor(self, cursor):
        return SearchPathCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return SearchPathCursorDebugWrapper(cursor, self)

    def _handle_search_path(self, cursor=None):
        if cursor is None or not isinstance(cursor, _SearchPathCarrier) or self.execute_wrappers:
            # A named (server-side) cursor: django-tenants sets the path on a cursor of its own.
            # Under execute wrappers (the migration recorder) too: they see each statement alone.
            was_set = self.search_path_set_schemas
            super()._handle_search_path(cursor)
            if self.search_path_set_schemas and self.search_path_set_schemas is not was_set:
                self._entered(self.search_path_set_schemas)
            return
        if self._setting_search_path or (get_limit_set_calls() and self.search_path_set_schemas):
            return
        search_paths = self._get_cursor_search_paths()  # validates every schema name
        statement = "SET search_path = " + ",".join(quote_schema_name(s) for s in search_paths)

        def done():
            self.search_path_set_schemas = search_paths
            self._entered(search_paths)

        cursor.pending_search_path = (statement, done)

    def _entered(self, search_paths) -> None:
        if search_paths[0] != "public":
            self.schemas_entered.add(search_paths[0])

    def get_new_connection(self, conn_params):
        self.schemas_entered = set()
        return super().get_new_connection(conn_params)

    def has_visited_too_many_schemas(self) -> bool:
        """Tenant schemas only: every backend reads `public`."""
        return len(self.schemas_entered) > settings.TENANT_SCHEMAS_PER_CONNECTION

    def close_if_unusable_or_obsolete(self):
        if (
            self.connection is not None
            and not self.in_atomic_block
            and self.has_visited_too_many_schemas()
        ):
            self.close()
            return
        super().close_if_unusable_or_obsolete()
