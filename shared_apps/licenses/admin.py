"""Provincial administration of the e-license catalog (证照目录). Types change through their action;
licenses, keys and the use log are read-only here (they change only through audited actions)."""

from django.contrib import admin

from govplatform.admin_site import AuditedAdmin, ReadOnlyAdmin
from shared_apps.licenses import actions
from shared_apps.licenses.models import License, LicenseType, LicenseUse, SigningKey


@admin.register(LicenseType)
class LicenseTypeAdmin(AuditedAdmin):
    list_display = ["code", "name", "issuing_level", "validity_years"]
    search_fields = ["code", "name"]
    fields = [
        "code",
        "name",
        "issuing_level",
        "fields_schema",
        "validity_years",
        "stands_for",
        "items",
    ]
    autocomplete_fields = ["items"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False  # issued licenses name their type

    def save_model(self, request, obj, form, change):
        saved = actions.save_license_type(
            actor=request.user,
            code=obj.code,
            name=obj.name,
            issuing_level=obj.issuing_level,
            fields_schema=obj.fields_schema,
            validity_years=obj.validity_years,
            stands_for=obj.stands_for,
            item_codes=[item.code for item in form.cleaned_data.get("items", [])],
            request=request,
        )
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        pass  # the action set the items


@admin.register(License)
class LicenseAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "name", "issuer_name", "status", "issued_on"]
    list_filter = ["status", "trust_grade"]
    search_fields = ["identifier", "number"]
    exclude = ["pdf", "holder_id_digest", "holder_id_encrypted"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "tenant", "algorithm", "created_at", "retired_at"]
    exclude = ["private_key_encrypted"]


@admin.register(LicenseUse)
class LicenseUseAdmin(ReadOnlyAdmin):
    list_display = ["license", "at", "kind", "by", "unit_name", "case_number"]
