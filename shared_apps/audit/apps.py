from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _grant_application_role(using, **kwargs):
    from django.db import connections

    from shared_apps.audit.roles import grant_application_role

    if connections[using].schema_name == "public":
        grant_application_role()


class AuditConfig(AppConfig):
    name = "shared_apps.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self):
        # After every migration of `public` (run as the owner role): the application role's grants.
        post_migrate.connect(_grant_application_role, sender=self)
