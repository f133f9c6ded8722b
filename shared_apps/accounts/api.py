"""Sign-in for the mobile app and other systems (portal API): tokens with scopes."""

from typing import Annotated

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django_otp import match_token
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import BeforeValidator, Field, StringConstraints

from shared_apps.accounts import actions, throttling
from shared_apps.accounts.api_auth import TOKEN_OR_SESSION
from shared_apps.accounts.authz import is_staff_member
from shared_apps.accounts.backends import MAX_IDENTIFIER_LENGTH, normalize_identifier
from shared_apps.accounts.forms import MAX_PASSWORD_LENGTH

router = Router(tags=["auth"])

# Normalized (full-width digits, spaces, case, control characters) before its length is checked
# and before authentication or axes see it.
Identifier = Annotated[
    str,
    BeforeValidator(lambda v: normalize_identifier(v) if isinstance(v, str) else v),
    StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_LENGTH),
]


# Input bounds (issue 8): axes stores the sign-in name in a 255-character column, so a longer one
# made the failed-attempt write raise (a 500) before anything was counted.
Scope = Annotated[str, Field(max_length=40)]
Scopes = Annotated[list[Scope] | None, Field(max_length=20)]


class TokenRequest(Schema):
    username: Identifier = Field(description="Mobile phone, ID number or user name")
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    otp: str | None = Field(None, max_length=16)
    scopes: Scopes = Field(
        None, description="Omitted: every scope the account may have; empty: none."
    )


class RefreshRequest(Schema):
    refresh_token: str = Field(max_length=200)


class ClientTokenRequest(Schema):
    client_id: str = Field(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    client_secret: str = Field(max_length=256)
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
    """Staff must add the current code of their authenticator app (`otp`). A wrong password and a
    missing or wrong code get the same answer, and both count towards the lock-out."""
    refused = _("Wrong account, password or authenticator code.")
    with throttling.password_checks() as admitted:
        if not admitted:
            return throttling.busy(request)
        user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise HttpError(429, _("Too many failed sign-ins. Try again later."))
        raise HttpError(401, refused)
    if is_staff_member(user) and (not payload.otp or match_token(user, payload.otp) is None):
        user_login_failed.send(
            sender=__name__, credentials={"username": payload.username}, request=request
        )
        if getattr(request, "axes_locked_out", False):
            raise HttpError(429, _("Too many failed sign-ins. Try again later."))
        raise HttpError(401, refused)
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
            payload.client_id, payload.client_secret, scopes=payload.scopes, request=request
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
