"""Response headers and proxy headers the platform decides itself (ASVS V14, `check --deploy`)."""

import ipaddress

from django.conf import settings


def _networks(entries: list[str]) -> list:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class TrustedProxyMiddleware:
    """Believe X-Forwarded-For / X-Forwarded-Proto only from TRUSTED_PROXIES (our load balancers).

    From a trusted proxy, REMOTE_ADDR becomes the client it reports: the nearest address in
    X-Forwarded-For that is not itself a trusted proxy (what lies left of it the client may have
    written). From anyone else both headers are dropped, so nobody can claim HTTPS or another
    address (the audit log records REMOTE_ADDR as "from where")."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.networks = _networks(settings.TRUSTED_PROXIES)

    def _trusted(self, address) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def __call__(self, request):
        meta = request.META
        if self._trusted(_address(meta.get("REMOTE_ADDR", ""))):
            client = None
            for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
                address = _address(hop)
                if address is None:
                    break
                client = address
                if not self._trusted(address):
                    break
            if client is not None:
                meta["REMOTE_ADDR"] = str(client)
            # The nearest proxy appends its own view last.
            proto = meta.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                meta["HTTP_X_FORWARDED_PROTO"] = proto
            else:
                meta.pop("HTTP_X_FORWARDED_PROTO", None)
        else:
            meta.pop("HTTP_X_FORWARDED_FOR", None)
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """CONTENT_SECURITY_POLICY on every response that does not set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
