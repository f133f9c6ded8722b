from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicensesConfig(AppConfig):
    name = "shared_apps.licenses"
    label = "licenses"
    verbose_name = _("E-licenses")
