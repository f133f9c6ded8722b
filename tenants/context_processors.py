from django.conf import settings


def tenant(request):
    current = getattr(request, "tenant", None)
    return {
        "current_tenant": current
        if getattr(current, "schema_name", "public") != "public"
        else None,
        "base_domain": settings.BASE_DOMAIN,
    }
