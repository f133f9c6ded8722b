"""tests.probe_settings plus a tenant app with a non-atomic migration."""

from tests.probe_settings import *  # noqa: F403
from tests.probe_settings import INSTALLED_APPS, TENANT_APPS

TENANT_APPS = TENANT_APPS + ["tests.migration_probe_concurrently"]
INSTALLED_APPS = INSTALLED_APPS + ["tests.migration_probe_concurrently"]
