"""Proxy filing (代办) at village and community service points, on a tenant's subdomain."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from ninja.security import django_auth

from shared_apps.accounts import actions
from shared_apps.accounts.api_auth import staff_auth
from shared_apps.accounts.identity import id_number_digests, normalize_id_number
from shared_apps.accounts.middleware import ACTING_FOR_SESSION_KEY
from shared_apps.accounts.models import Role, User
from shared_apps.audit.actions import record_audit

router = Router(tags=["proxy filing"])


class ConsentIn(Schema):
    citizen_id_number: str
    agent_username: str
    purpose: str
    valid_until: datetime
    evidence: str


class ActForIn(Schema):
    citizen_id_number: str


class ActingOut(Schema):
    acting_for: str | None
    purpose: str | None = None


def _citizen(id_number: str) -> User:
    try:
        number = normalize_id_number(id_number)
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
    agent = User.objects.filter(username=payload.agent_username).first()
    if agent is None:
        raise HttpError(404, _("No such agent."))
    try:
        consent = actions.record_consent(
            citizen=citizen,
            agent=agent,
            purpose=payload.purpose,
            valid_until=payload.valid_until,
            evidence=payload.evidence,
            recorded_by=request.user,
            request=request,
        )
    except ValidationError as error:
        raise HttpError(422, " ".join(error.messages)) from None
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
        consent = actions.valid_consent(agent=request.user, citizen=citizen)
    except PermissionDenied as error:
        record_audit(
            actor=request.user,
            action="accounts.proxy_refused",
            target=citizen.username,
            tenant=request.tenant,
            request=request,
        )
        raise HttpError(403, str(error)) from None
    request.session[ACTING_FOR_SESSION_KEY] = consent.pk
    record_audit(
        actor=request.user,
        action="accounts.proxy_start",
        target=citizen.username,
        on_behalf_of=citizen.audit_label,
        tenant=request.tenant,
        request=request,
        data={"consent": consent.pk, "purpose": consent.purpose},
    )
    return {"acting_for": citizen.id_number_masked, "purpose": consent.purpose}


@router.post(
    "/proxy/stop", response=ActingOut, auth=django_auth, summary="Stop filing for a citizen"
)
def stop(request):
    request.session.pop(ACTING_FOR_SESSION_KEY, None)
    return {"acting_for": None}
