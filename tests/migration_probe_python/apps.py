from django.apps import AppConfig


class MigrationProbePythonConfig(AppConfig):
    name = "tests.migration_probe_python"
    label = "migration_probe_python"
    default_auto_field = "django.db.models.BigAutoField"
