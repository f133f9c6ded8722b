import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from govplatform.api import portal_api, tenant_api

OPENAPI_DIR = Path(settings.BASE_DIR) / "docs" / "openapi"
APIS = {"portal.json": (portal_api, "/api/v1/"), "tenant.json": (tenant_api, "/api/v1/")}


def render(name: str) -> str:
    api, prefix = APIS[name]
    return (
        json.dumps(
            api.get_openapi_schema(path_prefix=prefix), indent=2, ensure_ascii=False, sort_keys=True
        )
        + "\n"
    )


class Command(BaseCommand):
    help = "Write the OpenAPI documents django-ninja generates to docs/openapi/ (checked by tests)."

    def handle(self, *args, **options):
        OPENAPI_DIR.mkdir(parents=True, exist_ok=True)
        for name in APIS:
            (OPENAPI_DIR / name).write_text(render(name), encoding="utf-8")
            self.stdout.write(f"wrote docs/openapi/{name}")
