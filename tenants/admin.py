from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from govplatform.admin_site import AuditedAdmin
from tenants import actions
from tenants.models import Domain, SubdomainAlias, Tenant


@admin.register(Tenant)
class TenantAdmin(AuditedAdmin):
    list_display = ["code", "name", "level", "parent", "subdomain", "status", "provisioned_at"]
    list_filter = ["level", "status"]
    search_fields = ["code", "name", "subdomain"]
    list_select_related = ["parent"]
    readonly_fields = [
        "code",
        "name",
        "level",
        "parent",
        "subdomain",
        "schema_name",
        "status",
        "status_reason",
        "provisioned_at",
        "retired_at",
        "status_before_retirement",
        "reason_before_retirement",
        "created_at",
        "updated_at",
    ]
    actions = ["suspend", "resume"]

    # Units come from the division import; they are never added or deleted by hand.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Suspend the selected units' online services"))
    def suspend(self, request, queryset):
        for tenant in queryset:
            try:
                actions.suspend_tenant(
                    tenant,
                    actor=request.user,
                    reason=str(_("Suspended by a provincial administrator")),
                    request=request,
                )
            except (actions.TenantStateError, actions.ReasonRequired) as error:
                self.message_user(request, str(error), messages.ERROR)

    @admin.action(description=_("Resume the selected units' online services"))
    def resume(self, request, queryset):
        for tenant in queryset:
            try:
                actions.resume_tenant(tenant, actor=request.user, request=request)
            except actions.TenantStateError as error:
                self.message_user(request, str(error), messages.ERROR)


@admin.register(Domain)
class DomainAdmin(AuditedAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__name"]
    autocomplete_fields = ["tenant"]


@admin.register(SubdomainAlias)
class SubdomainAliasAdmin(AuditedAdmin):
    """Former subdomains, written by the division import only: read-only here, so none is ever
    freed for another unit by hand."""

    list_display = ["subdomain", "tenant", "created_at"]
    search_fields = ["subdomain", "tenant__name", "tenant__subdomain"]
    list_select_related = ["tenant"]
    readonly_fields = ["subdomain", "tenant", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
