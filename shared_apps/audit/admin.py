from django.contrib import admin

from shared_apps.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "on_behalf_of", "tenant_code", "action", "target", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor", "target", "tenant_code"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
