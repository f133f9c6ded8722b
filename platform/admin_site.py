from urllib.parse import urlencode

from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class PlatformAdminSite(AdminSite):
    site_header = _("Provincial platform administration")
    site_title = _("Platform administration")

    def has_permission(self, request):
        # Django's admin is the provincial administrators' tool (superusers with a second factor);
        # tenant administrators use their unit's staff page.
        return request.user.is_active and request.user.is_superuser and request.user.is_verified()

    def login(self, request, extra_context=None):
        # One sign-in page for everyone, with the second factor staff need.
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect(f"{reverse('accounts:sign_in')}?{urlencode({'next': target})}")


class ReadOnlyAdmin(ModelAdmin):
    """For records that change only through audited actions (or never): the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlatformAdminConfig(AdminConfig):
    default_site = "govplatform.admin_site.PlatformAdminSite"
