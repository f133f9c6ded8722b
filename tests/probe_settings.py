"""Settings with a test-only tenant app installed, for test subprocesses (`manage.py` with
DJANGO_SETTINGS_MODULE=tests.probe_settings): its migration is new to every tenant schema."""

from govplatform.settings import *  # noqa: F403
from govplatform.settings import INSTALLED_APPS, TENANT_APPS

PROBE_APPS = ["tests.migration_probe"]
TENANT_APPS = TENANT_APPS + PROBE_APPS
INSTALLED_APPS = INSTALLED_APPS + PROBE_APPS
