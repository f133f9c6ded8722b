"""The place picker (`/place` on the portal): the citizen's remembered place, chosen by drilling
down province → city → county → township or by name, kept in the `gov_place` cookie."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from govplatform.errors import has_unstorable_text
from govplatform.paging import page_for
from tenants import places

# A county has a few dozen townships at most: one page shows them all.
UNITS_PER_PAGE = 60


def _refuse(request, message: str):
    return render(request, "400.html", {"message": message}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def place_picker(request):
    data = request.POST if request.method == "POST" else request.GET
    if any(has_unstorable_text(v) or len(v) > 2000 for v in data.values()):
        return _refuse(request, _("The request has invalid characters or is too long."))
    next_url = places.safe_next(data.get("next", ""))
    if request.method == "POST":
        return _use(request, next_url)
    code, q = request.GET.get("code", ""), request.GET.get("q", "")
    viewed = places.place(code) if code else None
    if code and viewed is None:
        return _refuse(request, _("There is no unit with this division code."))
    try:
        found = places.find_places(q) if q else None
    except ValidationError as error:
        return _refuse(request, " ".join(error.messages))
    units = (
        found
        if found is not None
        else (places.children(viewed.code) if viewed else places.top_places())
    )
    return render(
        request,
        "tenants/place.html",
        {
            "viewed": viewed,
            "q": q,
            "searched": found is not None,
            "page": page_for(request, units, UNITS_PER_PAGE),
            "next_url": next_url or "",
        },
    )


def _use(request, next_url: str | None):
    if "forget" in request.POST:
        response = redirect(next_url or reverse("place"))
        places.forget_place(response)
        return response
    chosen = places.place(request.POST.get("code", ""))
    if chosen is None:
        return _refuse(request, _("There is no unit with this division code."))
    response = redirect(next_url or f"{reverse('place')}?code={chosen.code}")
    places.remember_place(response, chosen.unit)
    return response
