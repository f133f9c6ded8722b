"""Read-only views for provincial administrators: accounts change through actions (and pages)
that audit them, never through the admin."""

from django.contrib import admin

from govplatform.admin_site import ReadOnlyAdmin
from shared_apps.accounts.models import (
    Organisation,
    ProxyConsent,
    StaffMembership,
    SystemClient,
    User,
)


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = [
        "username",
        "real_name",
        "id_number_masked",
        "phone",
        "assurance_level",
        "is_active",
    ]
    search_fields = ["username", "real_name", "phone"]
    fields = [
        "username",
        "real_name",
        "id_number_masked",
        "phone",
        "assurance_level",
        "verified_by",
        "is_active",
        "is_superuser",
        "last_login",
        "date_joined",
    ]


@admin.register(StaffMembership)
class StaffMembershipAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "tenant",
        "role",
        "covers_subtree",
        "is_active",
        "granted_by",
        "granted_at",
    ]
    list_filter = ["role", "is_active", "covers_subtree"]
    search_fields = ["user__username", "user__real_name", "tenant__name", "tenant__code"]
    list_select_related = ["user", "tenant", "granted_by"]


@admin.register(ProxyConsent)
class ProxyConsentAdmin(ReadOnlyAdmin):
    list_display = [
        "citizen",
        "agent",
        "tenant",
        "purpose",
        "valid_until",
        "evidence_kind",
        "recorded_by",
        "confirmed_at",
        "revoked_at",
    ]


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ["name", "credit_code", "legal_representative"]
    search_fields = ["name", "credit_code"]


@admin.register(SystemClient)
class SystemClientAdmin(ReadOnlyAdmin):
    list_display = ["name", "client_id", "tenant", "scopes", "is_active"]
