from django.conf import settings
from django.utils.functional import lazy

from tenants import home


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
