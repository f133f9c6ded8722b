from django.conf import settings
from django.utils.functional import lazy

from tenants import home
from tenants.places import remembered_place


def tenant(request):
    current = getattr(request, "tenant", None)
    return {
        "current_tenant": current
        if getattr(current, "schema_name", "public") != "public"
        else None,
        "base_domain": settings.BASE_DOMAIN,
        # In the page's language, read only where a template shows it.
        "site_name": lazy(home.site_name, str)(),
    }


def place(request):
    """`current_place`: the unit the citizen chose in the place picker (a Tenant), or None."""
    remembered = remembered_place(request)
    return {"current_place": remembered.unit if remembered else None}
