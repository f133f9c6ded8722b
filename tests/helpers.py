from pathlib import Path

from django.conf import settings

SAMPLE_DIVISIONS = Path(__file__).parent / "data" / "sample_divisions.csv"


def host_of(tenant) -> str:
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
