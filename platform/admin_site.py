from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class PlatformAdminSite(AdminSite):
    site_header = _("Provincial platform administration")
    site_title = _("Platform administration")

    def has_permission(self, request):
        # Django's admin is the provincial administrators' tool (superusers with a second factor);
        # tenant administrators use their unit's staff page.
        return request.user.is_active and request.user.is_superuser and request.user.is_verified()


class PlatformAdminConfig(AdminConfig):
    default_site = "govplatform.admin_site.PlatformAdminSite"
