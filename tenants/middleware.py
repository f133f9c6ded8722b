from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound, HttpResponsePermanentRedirect
from django.http.request import split_domain_port
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from tenants.hosts import PORTAL, host_map
from tenants.models import Tenant


class TenantHostMiddleware:
    """Select the tenant (or the provincial portal) from the Host header, from memory.

    Unknown hosts get a 404 page; suspended and retired tenants a page that says so; a former
    subdomain (a corrected misreading) a permanent redirect to the unit's subdomain. The schema
    is set once here; django-tenants sends one `SET search_path` when the first query runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        hostname, _port = split_domain_port(request.get_host())
        match = host_map.match(hostname)
        if match is None:
            _enter(PORTAL.tenant)
            return HttpResponseNotFound(
                render_to_string("tenants/unknown_host.html", {"hostname": hostname}, request)
            )
        tenant = match.tenant
        if match.former:
            _enter(PORTAL.tenant)
            return _to_current_subdomain(request, tenant)
        request.tenant = tenant
        if match.is_portal:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            _enter(tenant)
            return self.get_response(request)
        if tenant.status != Tenant.Status.ACTIVE:
            _enter(PORTAL.tenant)
            return _unavailable(request, tenant)
        _enter(tenant)
        return self.get_response(request)


def _enter(tenant) -> None:
    """Point the connection at the tenant's schema. A persistent connection already there (the
    previous request was for the same unit) keeps its search path: no second `SET`."""
    if connection.schema_name == tenant.schema_name and connection.search_path_set_schemas:
        connection.tenant = tenant
    else:
        connection.set_tenant(tenant)


class HttpResponsePermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    status_code = 308


def _to_current_subdomain(request, tenant):
    """The same path and query on the unit's subdomain. The host is built from the unit and the
    base domain, never from what was sent (only the port, which Django has checked is a number),
    so no Host header can point it elsewhere. 301 for GET and HEAD; 308 for the rest, which
    clients must repeat with the same method and body (after a 301 they may turn a POST into a
    GET and lose the body)."""
    _hostname, port = split_domain_port(request.get_host())
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}" + (f":{port}" if port else "")
    location = f"{request.scheme}://{host}{request.get_full_path()}"
    if request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(location)
    return HttpResponsePermanentRedirectKeepingMethod(location)


def _unavailable(request, tenant):
    retired = tenant.status == Tenant.Status.RETIRED
    title = (
        _("This unit no longer exists")
        if retired
        else _("Online services of this unit are suspended")
    )
    html = render_to_string(
        "tenants/unavailable.html",
        {
            "tenant": tenant,
            "title": title,
            "retired": retired,
            "parent": tenant.parent if retired else None,
        },
        request,
    )
    return HttpResponse(html, status=410 if retired else 503)
