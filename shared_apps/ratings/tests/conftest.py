from tenant_apps.cases.tests.conftest import (  # noqa: F401 (fixtures)
    people,
    root,
    service,
)
