from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class PlatformAdminSite(AdminSite):
    site_header = _("Provincial platform administration")
    site_title = _("Platform administration")

    def has_permission(self, request):
        # Until tenant roles exist, only provincial administrators (superusers) administer anything.
        return request.user.is_active and request.user.is_superuser


class PlatformAdminConfig(AdminConfig):
    default_site = "govplatform.admin_site.PlatformAdminSite"
