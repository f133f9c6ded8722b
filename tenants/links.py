"""Building URLs across hosts: the portal and every tenant live on their own host."""

from django.conf import settings


def _origin(request, host: str) -> str:
    scheme = "https" if (request is not None and request.is_secure()) else "http"
    port = ""
    if request is not None:
        request_port = request.get_port()
        if request_port not in ("80", "443"):
            port = f":{request_port}"
    return f"{scheme}://{host}{port}"


def tenant_url(tenant, path: str = "/", request=None) -> str:
    return _origin(request, f"{tenant.subdomain}.{settings.BASE_DOMAIN}") + path


def portal_url(path: str = "/", request=None) -> str:
    return _origin(request, settings.BASE_DOMAIN) + path
