from django.apps import AppConfig


class MigrationProbeConcurrentlyConfig(AppConfig):
    name = "tests.migration_probe_concurrently"
    label = "migration_probe_concurrently"
    default_auto_field = "django.db.models.BigAutoField"
