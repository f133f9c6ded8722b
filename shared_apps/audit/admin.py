from django.contrib import admin

from govplatform.admin_site import ReadOnlyAdmin
from shared_apps.audit.models import AuditCheckpoint, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "on_behalf_of", "tenant_code", "action", "target", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor", "target", "tenant_code"]
    date_hierarchy = "at"


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "last_entry_id"]
