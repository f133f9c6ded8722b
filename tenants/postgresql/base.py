"""django-tenants' PostgreSQL backend, plus a bound on how many tenant schemas one connection visits.

A PostgreSQL backend keeps the catalog entries of every table it has touched until it disconnects
(about 1 MB per tenant schema here). A long-lived connection wandering over thousands of tenants
would grow to gigabytes, so a connection that has entered more than TENANT_SCHEMAS_PER_CONNECTION
schemas is closed at the next request or job boundary (Django calls close_if_unusable_or_obsolete
there) and a fresh one is opened on demand.
"""

from django.conf import settings
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self.schemas_entered = set()
        super().__init__(*args, **kwargs)

    def _handle_search_path(self, cursor=None):
        was_set = self.search_path_set_schemas
        super()._handle_search_path(cursor)
        if (
            self.search_path_set_schemas
            and self.search_path_set_schemas is not was_set
            and self.schema_name != "public"
        ):
            self.schemas_entered.add(self.schema_name)

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
