from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.apps import AdminConfig
from django.db import connection, transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name


class PlatformAdminSite(AdminSite):
    site_header = _("Provincial platform administration")
    site_title = _("Platform administration")

    def has_permission(self, request):
        # Django's admin is the provincial administrators' tool (superusers with a second factor);
        # tenant administrators use their unit's staff page.
        return request.user.is_active and request.user.is_superuser and request.user.is_verified()

    def register(self, model_or_iterable, admin_class=None, **options):
        # Third-party admins too (authenticator devices, groups, sign-in lockouts): audited.
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, AuditedAdmin):
            admin_class = type(admin_class.__name__, (AuditedAdmin, admin_class), {})
        super().register(model_or_iterable, admin_class, **options)

    def login(self, request, extra_context=None):
        # One sign-in page for everyone, with the second factor staff need.
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect(f"{reverse('accounts:sign_in')}?{urlencode({'next': target})}")


def _is_tenant_model(model) -> bool:
    """Whether the model's table lives only in the units' schemas (none in `public`)."""
    app = model._meta.app_config.name
    return app in settings.TENANT_APPS and app not in settings.SHARED_APPS


def _tenant_of(obj):
    from tenants.models import Tenant

    if isinstance(obj, Tenant):
        return obj
    if isinstance(getattr(obj, "tenant", None), Tenant):
        return obj.tenant
    current = getattr(connection, "tenant", None)
    if isinstance(current, Tenant) and connection.schema_name != get_public_schema_name():
        return current
    return None


class AuditedAdmin(ModelAdmin):
    """Every admin of the platform: what a provincial administrator adds, changes or deletes here
    goes into the audit chain, in the admin's own transaction (Django calls these hooks there),
    besides Django's own history. Models of the units' schemas are hidden on the portal host,
    whose `public` schema has no such tables."""

    def _audit(self, request, verb: str, obj, data: dict | None = None) -> None:
        from shared_apps.audit.actions import record_audit

        record_audit(
            actor=request.user,
            action=f"admin.{verb}",
            target=f"{self.model._meta.label}: {obj}"[:300],
            tenant=_tenant_of(obj),
            data={"model": self.model._meta.label, "pk": str(obj.pk), **(data or {})},
            request=request,
        )

    def log_addition(self, request, obj, message):
        self._audit(request, "add", obj, {"message": message})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, "change", obj, {"message": message})
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, "delete", obj)
        return super().log_deletions(request, queryset)

    def response_action(self, request, queryset):
        # "Delete selected" logs and deletes outside the admin's transaction otherwise.
        with transaction.atomic():
            return super().response_action(request, queryset)

    def _in_portal(self) -> bool:
        return _is_tenant_model(self.model) and connection.schema_name == get_public_schema_name()

    def has_module_permission(self, request):
        return not self._in_portal() and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return not self._in_portal() and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return not self._in_portal() and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return not self._in_portal() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._in_portal() and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(AuditedAdmin):
    """For records that change only through audited actions (or never): the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlatformAdminConfig(AdminConfig):
    default_site = "govplatform.admin_site.PlatformAdminSite"
