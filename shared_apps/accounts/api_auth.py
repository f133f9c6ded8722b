"""API authentication and authorization: bearer tokens (people and systems) or the session cookie."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth, django_auth

from shared_apps.accounts.authz import require_role
from shared_apps.accounts.queries import token_owner


class BearerToken(HttpBearer):
    """`Authorization: Bearer <access token>` from /api/v1/auth/token (people) or
    /api/v1/auth/client-token (systems)."""

    openapi_description = "Access token from POST /api/v1/auth/token or /api/v1/auth/client-token"

    def authenticate(self, request, token):
        found = token_owner(token)
        if found is None:
            return None
        request.api_token = found
        request.auth_via_token = True
        if found.user is not None:
            request.user = found.user
        return found


bearer = BearerToken()
# Either a bearer token or a signed-in browser session (with its CSRF token).
TOKEN_OR_SESSION = [bearer, django_auth]


class _Requires:
    """Authorization in the authentication step, so it runs before the request body is parsed:
    a caller without the right lands on 403 whatever it sends."""

    def __init__(self, scope: str | None, roles: tuple, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope, self.roles = scope, roles

    def __call__(self, request):
        result = super().__call__(request)
        if result:
            authorize(request, scope=self.scope, roles=self.roles)
        return result


class _BearerRequires(_Requires, BearerToken):
    pass


class _SessionRequires(_Requires, SessionAuth):
    pass


def staff_auth(scope: str | None, *roles, tokens: bool = True) -> list:
    """`auth=` for an endpoint that needs one of `roles` in the request's tenant (and `scope`
    when called with a token)."""
    session = _SessionRequires(scope, roles)
    return [_BearerRequires(scope, roles), session] if tokens else [session]


def authorize(request, *, scope: str | None, roles=()) -> None:
    """403 unless the caller may act with `scope` (tokens) and holds one of `roles` in the
    request's tenant (people). A system client bound to a tenant acts only there."""
    token = getattr(request, "api_token", None)
    if token is not None:
        if scope is None or scope not in token.scopes:
            raise HttpError(403, _("The token lacks the scope %(scope)s.") % {"scope": scope})
        if token.client is not None:
            tenant = getattr(request, "tenant", None)
            if token.client.tenant_id is not None and token.client.tenant_id != getattr(
                tenant, "id", None
            ):
                raise HttpError(403, _("This client may not act for this unit."))
            return
    try:
        require_role(request, *roles)
    except PermissionDenied:
        raise HttpError(403, _("You may not do this in this unit.")) from None
