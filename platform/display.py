"""Display preferences that hold on every page of the portal and of every unit: the
elderly-friendly mode (适老化: larger type, larger targets, a simpler layout).

It is a cookie for the base domain, like the sign-in, so one switch covers every subdomain. It is
a display preference, not a privileged action: it is not audited."""

from django.conf import settings
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

ELDERLY_COOKIE = "gov_elderly"
ELDERLY_COOKIE_MAX_AGE = 365 * 24 * 60 * 60
# A page's own path and query; anything longer is not one of ours.
MAX_NEXT_LENGTH = 2000


def _same_site_path(request) -> str:
    """The page to return to: a path on this host only (never another site: no open redirect)."""
    target = request.POST.get("next", "")
    if (
        target.startswith("/")
        and len(target) <= MAX_NEXT_LENGTH
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts=None, require_https=request.is_secure()
        )
    ):
        return target
    return "/"


@require_POST
def elderly_mode(request):
    """Switch the elderly-friendly mode on (`elderly=1`) or off, and return to the page."""
    response = redirect(_same_site_path(request))
    if request.POST.get("elderly") == "1":
        response.set_cookie(
            ELDERLY_COOKIE,
            "1",
            max_age=ELDERLY_COOKIE_MAX_AGE,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path="/",
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(
            ELDERLY_COOKIE, path="/", domain=settings.SESSION_COOKIE_DOMAIN, samesite="Lax"
        )
    return response


def display_preferences(request):
    """Template context: `elderly_mode` is true when the visitor switched it on."""
    return {"elderly_mode": request.COOKIES.get(ELDERLY_COOKIE) == "1"}
