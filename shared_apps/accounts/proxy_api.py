"""Proxy filing (代办) at village and community service points, on a tenant's subdomain; and the
citizen's own consents (portal API)."""

from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from ninja.security import django_auth
from pydantic import AwareDatetime, Field, field_validator

from govplatform.paging import PageIn, page_of, paged
from shared_apps.accounts import actions
from shared_apps.accounts.api_auth import TOKEN_OR_SESSION, staff_auth
from shared_apps.accounts.identity import id_number_digests, normalize_id_number
from shared_apps.accounts.models import ConsentEvidence, ProxyConsent, Role, User
from shared_apps.accounts.queries import consents_given

router = Router(tags=["proxy filing"])
citizen_router = Router(tags=["my consents"])


class ConsentIn(Schema):
    citizen_id_number: str = Field(max_length=40)
    agent_username: str = Field(max_length=150)
    purpose: str = Field(max_length=200)
    # With its offset: a time without one is ambiguous (and can't be compared with now).
    valid_until: AwareDatetime
    evidence_kind: ConsentEvidence = ConsentEvidence.SIGNED_FORM
    evidence: str = Field("", max_length=200)

    @field_validator("valid_until")
    @classmethod
    def _representable(cls, value):
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError(_("The date is out of range.")) from None
        return value


class ConsentOut(Schema):
    id: int
    unit: str | None
    agent: str
    purpose: str
    valid_until: datetime
    evidence_kind: str
    recorded_by: str
    recorded_at: datetime
    confirmed_at: datetime | None
    revoked_at: datetime | None


class ActForIn(Schema):
    citizen_id_number: str = Field(max_length=40)


class ActingOut(Schema):
    acting_for: str | None
    purpose: str | None = None


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _citizen(id_number: str) -> User:
    try:
        number = normalize_id_number(id_number[:40])
    except ValidationError as error:
        raise HttpError(422, " ".join(error.messages)) from None
    citizen = User.objects.filter(id_number_digest__in=id_number_digests(number)).first()
    if citizen is None:
        raise HttpError(404, _("No account has this ID number."))
    return citizen


@router.post(
    "/proxy/consents",
    response={201: ActingOut},
    auth=staff_auth(None, Role.WINDOW_CLERK, Role.TENANT_ADMIN, tokens=False),
    summary="Record a citizen's consent at a hall",
)
def record_consent(request, payload: ConsentIn):
    citizen = _citizen(payload.citizen_id_number)
    username = payload.agent_username[:150]
    agent = None if "\x00" in username else User.objects.filter(username=username).first()
    if agent is None:
        raise HttpError(404, _("No such agent."))
    try:
        consent = actions.record_consent(
            actor=request.user,
            citizen=citizen,
            agent=agent,
            tenant=request.tenant,
            purpose=payload.purpose,
            valid_until=payload.valid_until,
            evidence_kind=payload.evidence_kind,
            evidence=payload.evidence,
            request=request,
        )
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    except ValidationError as error:
        raise HttpError(422, _errors(error)) from None
    return Status(201, {"acting_for": citizen.id_number_masked, "purpose": consent.purpose})


@router.post(
    "/proxy/act-for",
    response=ActingOut,
    auth=staff_auth(None, Role.PROXY_AGENT, tokens=False),
    summary="Start filing for a citizen",
)
def act_for(request, payload: ActForIn):
    citizen = _citizen(payload.citizen_id_number)
    try:
        consent = actions.start_proxy_filing(
            actor=request.user,
            citizen=citizen,
            tenant=request.tenant,
            session=request.session,
            request=request,
        )
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    return {"acting_for": citizen.id_number_masked, "purpose": consent.purpose}


@router.post(
    "/proxy/stop", response=ActingOut, auth=django_auth, summary="Stop filing for a citizen"
)
def stop(request):
    actions.stop_proxy_filing(
        actor=request.user,
        session=request.session,
        tenant=getattr(request, "tenant", None),
        request=request,
    )
    return {"acting_for": None}


def _consent_out(consent: ProxyConsent) -> dict:
    return {
        "id": consent.pk,
        "unit": consent.tenant.name if consent.tenant else None,
        "agent": consent.agent.display_name,
        "purpose": consent.purpose,
        "valid_until": consent.valid_until,
        "evidence_kind": consent.evidence_kind,
        "recorded_by": consent.recorded_by.display_name,
        "recorded_at": consent.recorded_at,
        "confirmed_at": consent.confirmed_at,
        "revoked_at": consent.revoked_at,
    }


def _signed_in(request, scope: str = "profile") -> User:
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise HttpError(403, _("The token lacks the scope %(scope)s.") % {"scope": scope})
    if not request.user.is_authenticated:
        raise HttpError(401, _("Sign in first."))
    return request.user


@citizen_router.get(
    "/me/consents",
    response=page_of(ConsentOut),
    auth=TOKEN_OR_SESSION,
    summary="Consents I have given for proxy filing",
)
def my_consents(request, paging: Query[PageIn]):
    consents = consents_given(_signed_in(request)).order_by("-recorded_at", "-id")
    return paged(consents, paging, lambda rows: [_consent_out(c) for c in rows])


@citizen_router.post(
    "/me/consents/{consent_id}/revoke",
    response=ConsentOut,
    auth=TOKEN_OR_SESSION,
    summary="Revoke a consent I gave",
)
def revoke_my_consent(request, consent_id: int):
    user = _signed_in(request)
    consent = get_object_or_404(consents_given(user), pk=consent_id)
    return _consent_out(actions.revoke_consent(consent, actor=user, request=request))


@citizen_router.post(
    "/me/consents/{consent_id}/confirm",
    response=ConsentOut,
    auth=django_auth,
    summary="Confirm a consent staff recorded for me (needs a verified account)",
)
def confirm_my_consent(request, consent_id: int):
    """Session only: confirming lets someone act for you, so a token can't do it."""
    consent = get_object_or_404(consents_given(request.user), pk=consent_id)
    try:
        return _consent_out(actions.confirm_consent(consent, actor=request.user, request=request))
    except PermissionDenied as error:
        raise HttpError(403, str(error)) from None
    except ValidationError as error:
        raise HttpError(409, _errors(error)) from None
