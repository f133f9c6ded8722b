from urllib.parse import urlencode

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from tenants import home
from tenants.links import portal_url


def _place_picker_url(request) -> str:
    """The portal's place picker, returning to this page (on whichever host it is)."""
    return portal_url("/place?" + urlencode({"next": request.build_absolute_uri()}), request)


def _theme_groups(data: home.HomeData) -> list[tuple[str, str, list[home.ThemeTile]]]:
    return [
        ("themes-personal", _("For individuals"), home.theme_tiles(data.personal)),
        ("themes-organisation", _("For organisations"), home.theme_tiles(data.organisation)),
    ]


@require_safe
def portal_home(request):
    """The provincial portal's front page: search the whole catalog first, then services by theme,
    the items most units offer, the province's departments and the cities below it."""
    province, data = home.portal_home()
    return render(
        request,
        "tenants/portal_home.html",
        {
            "province": province,
            "home": data,
            "themes": _theme_groups(data),
            "place_picker_url": _place_picker_url(request),
        },
    )


@require_safe
def tenant_home(request):
    """A unit's front page: search its own list first, then its services by theme, its most
    widely offered items, its departments, the units below it and the units above it."""
    tenant = request.tenant
    data = home.unit_home(tenant)
    return render(
        request,
        "tenants/tenant_home.html",
        {
            "tenant": tenant,
            "unit_name": home.local_name(tenant),
            "home": data,
            "themes": _theme_groups(data),
            "ancestors": home.ancestors(tenant),
            "place_picker_url": _place_picker_url(request),
        },
    )
