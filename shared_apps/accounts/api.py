"""Sign-in for the mobile app and other systems (portal API): tokens with scopes."""

from typing import Annotated

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django_otp import match_token
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from shared_apps.accounts import actions
from shared_apps.accounts.api_auth import TOKEN_OR_SESSION
from shared_apps.accounts.authz import is_staff_member

router = Router(tags=["auth"])


# Input bounds (issue 8): axes stores the sign-in name in a 255-character column, so a longer one
# made the failed-attempt write raise (a 500) before anything was counted.
Scope = Annotated[str, Field(max_length=40)]
Scopes = Annotated[list[Scope] | None, Field(max_length=20)]


class TokenRequest(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=1024)
    otp: str | None = Field(default=None, max_length=16)
    scopes: Scopes = None


class RefreshRequest(Schema):
    refresh_token: str = Field(max_length=200)


class ClientTokenRequest(Schema):
    client_id: str = Field(max_length=40)
    client_secret: str = Field(max_length=200)
    scopes: Scopes = None


class TokenOut(Schema):
    access_token: str
    refresh_token: str | None
    token_type: str = "Bearer"
    expires_in: int
    scopes: list[str]


class MeOut(Schema):
    username: str
    real_name: str
    id_number: str
    phone: str
    assurance_level: int


def _tokens(issued) -> dict:
    return {**issued.__dict__, "token_type": "Bearer"}


@router.post(
    "/auth/token", response=TokenOut, auth=None, summary="Sign in: access and refresh tokens"
)
def token(request, payload: TokenRequest):
    """Staff must add the current code of their authenticator app (`otp`)."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise HttpError(429, _("Too many failed sign-ins. Try again later."))
        raise HttpError(401, _("Wrong account or password."))
    if is_staff_member(user) and (not payload.otp or match_token(user, payload.otp) is None):
        raise HttpError(401, _("Staff must give the code of their authenticator app."))
    try:
        return _tokens(actions.issue_user_tokens(user, scopes=payload.scopes, request=request))
    except ValidationError as error:
        raise HttpError(422, " ".join(error.messages)) from None


@router.post(
    "/auth/refresh", response=TokenOut, auth=None, summary="Exchange a refresh token (rotates it)"
)
def refresh(request, payload: RefreshRequest):
    try:
        return _tokens(actions.refresh_user_tokens(payload.refresh_token, request=request))
    except PermissionDenied as error:
        raise HttpError(401, str(error)) from None


@router.post("/auth/revoke", response={204: None}, auth=None, summary="Revoke a token")
def revoke(request, payload: RefreshRequest):
    actions.revoke_token(payload.refresh_token, request=request)
    return Status(204, None)


@router.post("/auth/client-token", response=TokenOut, auth=None, summary="A system's access token")
def client_token(request, payload: ClientTokenRequest):
    try:
        issued = actions.issue_client_token(
            payload.client_id, payload.client_secret, scopes=payload.scopes
        )
    except PermissionDenied as error:
        raise HttpError(401, str(error)) from None
    except ValidationError as error:
        raise HttpError(422, " ".join(error.messages)) from None
    return _tokens(issued)


@router.get(
    "/me", response=MeOut, auth=TOKEN_OR_SESSION, summary="The signed-in person (ID number masked)"
)
def me(request):
    token = getattr(request, "api_token", None)
    if token is not None and "profile" not in token.scopes:
        raise HttpError(403, _("The token lacks the scope %(scope)s.") % {"scope": "profile"})
    user = request.user
    if not user.is_authenticated:
        raise HttpError(401, _("Sign in first."))
    return {
        "username": user.username,
        "real_name": user.real_name,
        "id_number": user.id_number_masked,
        "phone": user.phone,
        "assurance_level": user.assurance_level,
    }
