"""Every change to accounts, roles, consents, second factors and tokens: atomic, with its actor and
an audit entry. Reads live in `queries`."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts import verification
from shared_apps.accounts.backends import normalize_identifier
from shared_apps.accounts.identity import (
    encrypt_id_number,
    id_number_digest,
    id_number_digests,
    mask_id_number,
    normalize_id_number,
)
from shared_apps.accounts.models import (
    ACCESS_TOKEN_SECONDS,
    API_SCOPES,
    CONSENT_MAX_DAYS,
    ENROLMENT_LINK_HOURS,
    REFRESH_TOKEN_DAYS,
    ApiToken,
    AssuranceLevel,
    ConsentEvidence,
    EnrolmentLink,
    ProxyConsent,
    Role,
    StaffMembership,
    SystemClient,
    User,
)
from shared_apps.accounts.queries import require_assurance, valid_consent
from shared_apps.accounts.queries import token_digest as _digest
from shared_apps.audit.actions import record_audit
from shared_apps.notifications.inbox import notify


def _numbers_taken() -> ValidationError:
    # One answer whether the ID number, the phone or both are taken: sign-up must not tell which
    # numbers have accounts (it is also rate-limited per address).
    return ValidationError(
        {
            NON_FIELD_ERRORS: [
                _(
                    "An account with this ID number or mobile number may already exist. Sign in, "
                    "or ask a service hall to help you recover it."
                )
            ]
        }
    )


def register_citizen(
    *, real_name: str, id_number: str, phone: str, password: str, request=None
) -> User:
    """Sign-up of a natural person. Raises ValidationError with every problem, in the user's language."""
    errors: dict[str, list[str]] = {}
    real_name = real_name.strip()
    if not real_name:
        errors["real_name"] = [_("Enter your name as on your ID card.")]
    # As sign-in reads them (full-width digits and X, spaces), so each number has one stored form.
    id_number, phone = normalize_identifier(id_number), normalize_identifier(phone)
    try:
        number = normalize_id_number(id_number)
    except ValidationError as error:
        errors["id_number"] = error.messages
        number = ""
    if not (phone.isascii() and phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
        errors["phone"] = [_("Enter an 11-digit mainland mobile number.")]
    user = User(username=f"u{secrets.token_hex(6)}", real_name=real_name, phone=phone)
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)
    check = verification.verifier().verify(real_name=real_name, id_number=number, phone=phone)
    # Last, once every other check passed: an answer with any invalid field must not tell whether
    # the numbers have an account. One query for both numbers: no timing difference either.
    if User.objects.filter(
        Q(id_number_digest__in=id_number_digests(number)) | Q(phone=phone)
    ).exists():
        raise _numbers_taken()
    user.set_password(password)
    user.id_number_digest = id_number_digest(number)
    user.id_number_encrypted = encrypt_id_number(number)
    user.id_number_masked = mask_id_number(number)
    user.assurance_level, user.verified_by = check.level, check.verifier
    try:
        with transaction.atomic():
            user.save()
            record_audit(
                actor=user,
                action="accounts.register",
                target=user.username,
                data={"assurance_level": user.assurance_level, "verified_by": check.verifier},
                request=request,
            )
    except IntegrityError:
        raise _numbers_taken() from None  # the same numbers, signed up a moment ago by a racer
    return user


def reveal_id_number(user: User, *, viewer: User, reason: str, request=None) -> str:
    """The clear ID number, for the person themselves or a provincial administrator; always
    audited. (Staff handling the person's case will get it through the case, in a later module.)"""
    if viewer.pk != user.pk and not viewer.is_superuser:
        raise PermissionDenied(_("You may not see this ID number."))
    number = user.unmasked_id_number()
    record_audit(
        actor=viewer,
        action="accounts.reveal_id_number",
        target=user.username,
        data={"reason": reason},
        request=request,
        tenant=getattr(request, "tenant", None),
    )
    return number


def sign_out_everywhere(user: User, *, request=None) -> None:
    """End every session and revoke every token of this person."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_generation=user.session_generation + 1)
        user.session_generation += 1
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_audit(
            actor=user, action="accounts.sign_out_everywhere", target=user.username, request=request
        )


def grant_role(
    *,
    actor: User,
    user: User,
    tenant,
    role: str,
    covers_subtree: bool = False,
    department=None,
    request=None,
) -> StaffMembership:
    """Give a staff role in a tenant. The actor must administer that tenant (or one above it)."""
    from shared_apps.accounts.authz import has_role

    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    if not has_role(actor, tenant, Role.TENANT_ADMIN):
        raise PermissionDenied(_("You do not administer this unit."))
    if (
        covers_subtree
        and not actor.is_superuser
        and not has_role(actor, tenant.parent, Role.TENANT_ADMIN)
    ):
        # Only someone above a unit can hand out authority over its whole subtree.
        raise PermissionDenied(_("Only an administrator of a higher unit may grant this."))
    with transaction.atomic():
        membership, created = StaffMembership.objects.get_or_create(
            user=user,
            tenant=tenant,
            role=role,
            is_active=True,
            defaults={
                "covers_subtree": covers_subtree,
                "granted_by": actor,
                "department_id": getattr(department, "id", None),
                "department_name": getattr(department, "name", ""),
            },
        )
        record_audit(
            actor=actor,
            action="accounts.grant_role",
            target=user.username,
            tenant=tenant,
            data={"role": role, "covers_subtree": covers_subtree, "new": created},
            request=request,
        )
    user.__dict__.pop("_roles_by_tenant", None)
    return membership


def revoke_role(*, actor: User, membership: StaffMembership, request=None) -> None:
    from shared_apps.accounts.authz import has_role

    if not has_role(actor, membership.tenant, Role.TENANT_ADMIN):
        raise PermissionDenied(_("You do not administer this unit."))
    with transaction.atomic():
        StaffMembership.objects.filter(pk=membership.pk).update(is_active=False)
        record_audit(
            actor=actor,
            action="accounts.revoke_role",
            target=membership.user.username,
            tenant=membership.tenant,
            data={"role": membership.role},
            request=request,
        )


CONSENT_RECORDERS = (Role.WINDOW_CLERK, Role.TENANT_ADMIN)


def _clean_text(value: str, *, field: str, max_length: int) -> str:
    value = (value or "").strip()
    if any(ord(c) < 32 for c in value):
        raise ValidationError({field: [_("Control characters are not allowed.")]})
    if len(value) > max_length:
        raise ValidationError({field: [_("At most %(count)d characters.") % {"count": max_length}]})
    return value


def _recorder_answers_to(recorder: User, agent: User, tenant) -> bool:
    """Whether the agent made the recorder a recorder here (granted the role) or gave them their
    current second factor (issued the enrolment link they last used): then the recorder is no
    second pair of eyes, but possibly the agent's own sock puppet."""
    from shared_apps.accounts.authz import ancestor_codes

    granted_by_agent = (
        StaffMembership.objects.filter(
            user=recorder, is_active=True, role__in=CONSENT_RECORDERS, granted_by=agent
        )
        .filter(
            Q(tenant_id=tenant.id)
            | Q(covers_subtree=True, tenant__code__in=ancestor_codes(tenant.code))
        )
        .exists()
    )
    last_link = (
        EnrolmentLink.objects.filter(user=recorder, used_at__isnull=False)
        .order_by("-used_at")
        .first()
    )
    return granted_by_agent or (
        last_link is not None and last_link.issued_by == agent.get_username()[:150]
    )


def record_consent(
    *,
    actor: User,
    citizen: User,
    agent: User,
    tenant,
    purpose: str,
    valid_until,
    evidence_kind: str = ConsentEvidence.SIGNED_FORM,
    evidence: str = "",
    request=None,
) -> ProxyConsent:
    """Record that a citizen lets an agent file for them in a unit (代办授权).

    Given by the citizen themselves online, it needs an account verified at level 2. Recorded by
    a window clerk or administrator of the unit, the recorder is never the agent (four eyes), the
    agent is a proxy agent of the unit, and the citizen's will is known either from the form they
    signed at the service point (its number is the evidence) or from their own confirmation
    online, without which the consent does not count. It lasts at most a year, and the citizen
    finds it in their inbox, where they can revoke it."""
    from shared_apps.accounts.authz import has_role, roles_in

    purpose = _clean_text(purpose, field="purpose", max_length=200)
    evidence = _clean_text(evidence, field="evidence", max_length=200)
    now = timezone.now()
    if not purpose:
        raise ValidationError({"purpose": [_("Say what the consent is for.")]})
    if valid_until <= now:
        raise ValidationError({"valid_until": [_("The consent must end in the future.")]})
    if valid_until > now + timedelta(days=CONSENT_MAX_DAYS):
        raise ValidationError(
            {
                "valid_until": [
                    _("A consent lasts at most %(days)d days.") % {"days": CONSENT_MAX_DAYS}
                ]
            }
        )
    if agent.pk == citizen.pk:
        raise ValidationError({"agent": [_("The agent must be someone other than the citizen.")]})
    if tenant is None:
        raise ValidationError({"tenant": [_("Name the unit whose service point files.")]})
    if actor.pk == citizen.pk:
        require_assurance(citizen, AssuranceLevel.VERIFIED)
        evidence_kind, evidence, confirmed_at = ConsentEvidence.CITIZEN_ONLINE, "online", now
    else:
        if not has_role(actor, tenant, *CONSENT_RECORDERS):
            raise PermissionDenied(_("You may not record consents in this unit."))
        if actor.pk == agent.pk:
            raise PermissionDenied(
                _(
                    "You can't record a consent naming yourself as the agent; a second staff member must record it."
                )
            )
        if _recorder_answers_to(actor, agent, tenant):
            raise PermissionDenied(
                _(
                    "The agent gave you your role or your authenticator; another staff member must record this consent."
                )
            )
        if evidence_kind == ConsentEvidence.SIGNED_FORM:
            # A form number, not free text such as "无".
            if len(evidence) < 4 or not any(c.isdigit() for c in evidence):
                raise ValidationError(
                    {"evidence": [_("Give the number of the consent form the citizen signed.")]}
                )
            confirmed_at = now
        elif evidence_kind == ConsentEvidence.CITIZEN_ONLINE:
            confirmed_at = None  # counts once the citizen confirms it on their account
        else:
            raise ValidationError({"evidence_kind": [_("Unknown kind of evidence.")]})
    if Role.PROXY_AGENT not in roles_in(agent, tenant):
        raise ValidationError({"agent": [_("The agent is not a proxy agent of this unit.")]})
    with transaction.atomic():
        consent = ProxyConsent.objects.create(
            citizen=citizen,
            agent=agent,
            tenant=tenant,
            purpose=purpose,
            valid_until=valid_until,
            evidence_kind=evidence_kind,
            evidence=evidence,
            recorded_by=actor,
            recorded_at=now,
            confirmed_at=confirmed_at,
        )
        notify(
            citizen,
            "consent_recorded",
            {
                "recorder": actor.display_name,
                "unit": tenant.name,
                "agent": agent.display_name,
                "purpose": purpose,
                "until": timezone.localtime(valid_until).strftime("%Y-%m-%d"),
            },
            actor=actor,
            link=reverse("accounts:account"),
            tenant=tenant,
        )
        record_audit(
            actor=actor,
            action="accounts.record_consent",
            target=citizen.username,
            tenant=tenant,
            data={
                "consent": consent.pk,
                "agent": agent.username,
                "purpose": purpose,
                "until": valid_until.isoformat(),
                "evidence_kind": evidence_kind,
                "evidence": evidence,
                "confirmed": confirmed_at is not None,
            },
            request=request,
        )
    return consent


def confirm_consent(consent: ProxyConsent, *, actor: User, request=None) -> ProxyConsent:
    """The citizen confirms online, at assurance level 2, a consent staff recorded for them."""
    if actor.pk != consent.citizen_id:
        raise PermissionDenied(_("Only the citizen may confirm their consent."))
    require_assurance(actor, AssuranceLevel.VERIFIED)
    with transaction.atomic():
        now = timezone.now()
        confirmed = ProxyConsent.objects.filter(
            pk=consent.pk,
            confirmed_at__isnull=True,
            revoked_at__isnull=True,
            valid_until__gt=now,
        ).update(confirmed_at=now)
        if not confirmed:
            raise ValidationError(_("This consent can no longer be confirmed."))
        record_audit(
            actor=actor,
            action="accounts.confirm_consent",
            target=actor.username,
            tenant=consent.tenant,
            data={"consent": consent.pk},
            request=request,
        )
    consent.refresh_from_db()
    return consent


def revoke_consent(consent: ProxyConsent, *, actor: User, request=None) -> ProxyConsent:
    """The citizen withdraws a consent; an agent filing under it is stopped at their next request."""
    if actor.pk != consent.citizen_id:
        raise PermissionDenied(_("Only the citizen may revoke their consent."))
    with transaction.atomic():
        revoked = ProxyConsent.objects.filter(pk=consent.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record_audit(
                actor=actor,
                action="accounts.revoke_consent",
                target=actor.username,
                tenant=consent.tenant,
                data={"consent": consent.pk, "agent": consent.agent.username},
                request=request,
            )
    consent.refresh_from_db()
    return consent


def start_proxy_filing(
    *, actor: User, citizen: User, tenant, session, request=None
) -> ProxyConsent:
    """An agent starts filing for a citizen in a unit: only under a valid consent there. From now
    on the audit log records the agent's actions as done on the citizen's behalf. A refusal is
    audited too."""
    from shared_apps.accounts.middleware import ACTING_FOR_SESSION_KEY

    try:
        consent = valid_consent(agent=actor, citizen=citizen, tenant=tenant)
    except PermissionDenied:
        record_audit(
            actor=actor,
            action="accounts.proxy_refused",
            target=citizen.username,
            tenant=tenant,
            request=request,
        )
        raise
    with transaction.atomic():
        session[ACTING_FOR_SESSION_KEY] = consent.pk
        record_audit(
            actor=actor,
            action="accounts.proxy_start",
            target=citizen.username,
            on_behalf_of=citizen.audit_label,
            tenant=tenant,
            request=request,
            data={"consent": consent.pk, "purpose": consent.purpose},
        )
    return consent


def stop_proxy_filing(*, actor: User, session, tenant=None, request=None) -> None:
    """The agent stops filing for the citizen (nothing to record when they were not)."""
    from shared_apps.accounts.middleware import ACTING_FOR_SESSION_KEY

    consent_id = session.pop(ACTING_FOR_SESSION_KEY, None)
    if consent_id is None:
        return
    consent = ProxyConsent.objects.select_related("citizen").filter(pk=consent_id).first()
    record_audit(
        actor=actor,
        action="accounts.proxy_stop",
        target=consent.citizen.username if consent else "",
        on_behalf_of=consent.citizen.audit_label if consent else "",
        tenant=tenant,
        request=request,
        data={"consent": consent_id},
    )


# --- Staff second factor ------------------------------------------------------------------------


def issue_enrolment_link(*, actor, user: User, tenant=None, request=None) -> str:
    """A one-time enrolment code for a staff member's authenticator app, valid 24 hours, to be
    handed over out of band (the returned value; only its digest is kept). A new one voids the
    earlier ones. Issued by an administrator of a unit where the person holds a role (never by
    themselves), or by an operator (`system:…` actor, the management command).

    The link replaces the person's second factor everywhere, so the administrator must administer
    every unit where the person holds an active role (their own unit, or below it with subtree
    authority): granting someone a role does not hand over their other units' second factor."""
    from shared_apps.accounts.authz import administered_people, has_role

    if isinstance(actor, str):
        if not actor.startswith("system:"):
            raise PermissionDenied(_("You do not administer this unit."))
    else:
        if actor.pk == user.pk:
            raise PermissionDenied(_("Another administrator must issue your enrolment link."))
        holds_role = (
            tenant is not None
            and StaffMembership.objects.filter(user=user, tenant=tenant, is_active=True).exists()
        )
        if not actor.is_superuser and not (
            holds_role
            and has_role(actor, tenant, Role.TENANT_ADMIN)
            and user.pk in administered_people(actor, [user])
        ):
            raise PermissionDenied(_("You do not administer this unit."))
    code = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        EnrolmentLink.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        link = EnrolmentLink.objects.create(
            user=user,
            digest=_digest(code),
            issued_by=(actor if isinstance(actor, str) else actor.get_username())[:150],
            expires_at=now + timedelta(hours=ENROLMENT_LINK_HOURS),
        )
        record_audit(
            actor=actor,
            action="accounts.issue_enrolment_link",
            target=user.username,
            tenant=tenant,
            data={"link": link.pk, "expires_at": link.expires_at.isoformat()},
            request=request,
        )
    return code


def start_totp_enrolment(*, actor: User, code: str, request=None):
    """Use an enrolment link (once): a new, unconfirmed authenticator device whose secret the
    caller shows once. Raises PermissionDenied for an unknown, expired, used or someone else's link."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        now = timezone.now()
        # The conditional UPDATE decides: a link is used once, even by racing requests.
        used = EnrolmentLink.objects.filter(
            digest=_digest(code or ""), user=actor, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not used:
            raise PermissionDenied(_("This enrolment link is invalid, expired or already used."))
        TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=actor, name=_("Authenticator app"), confirmed=False)
        record_audit(
            actor=actor,
            action="accounts.start_totp_enrolment",
            target=actor.username,
            data={"device": device.pk},
            request=request,
        )
    return device


def confirm_totp_enrolment(*, actor: User, device, code: str, request=None):
    """The first code from the new app confirms it; it replaces any earlier device."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if device.user_id != actor.pk or device.confirmed:
        raise PermissionDenied(_("This enrolment link is invalid, expired or already used."))
    # Outside the transaction: django-otp's count of wrong codes (it slows guessing) must stay.
    if not device.verify_token(code):
        raise ValidationError(
            {"code": [_("That code is not right, or has expired. Try the current one.")]}
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_audit(
            actor=actor,
            action="accounts.confirm_totp",
            target=actor.username,
            data={"device": device.pk},
            request=request,
        )
    return device


# --- API tokens -------------------------------------------------------------------------------


@dataclass
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int
    scopes: list[str]


def _check_scopes(requested: list[str] | None, allowed: list[str]) -> list[str]:
    """None asks for every allowed scope; an empty list grants nothing."""
    requested = list(allowed if requested is None else requested)
    unknown = [s for s in requested if s not in API_SCOPES or s not in allowed]
    if unknown:
        raise ValidationError(_("Scopes not allowed: %(scopes)s") % {"scopes": ", ".join(unknown)})
    return requested


CITIZEN_SCOPES = ["profile", "departments:read", "cases:apply"]


def issue_user_tokens(
    user: User, *, scopes: list[str] | None = None, family=None, request=None
) -> IssuedTokens:
    """Staff may ask for any scope (their roles still decide); others for their own profile and
    public reads. A sign-in starts a token family; a refresh continues its family."""
    from shared_apps.accounts.authz import is_staff_member

    granted = _check_scopes(scopes, list(API_SCOPES) if is_staff_member(user) else CITIZEN_SCOPES)
    family = family or uuid.uuid4()
    now = timezone.now()
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    with transaction.atomic():
        for value, kind, lifetime in (
            (access, ApiToken.Kind.ACCESS, timedelta(seconds=ACCESS_TOKEN_SECONDS)),
            (refresh, ApiToken.Kind.REFRESH, timedelta(days=REFRESH_TOKEN_DAYS)),
        ):
            ApiToken.objects.create(
                digest=_digest(value),
                kind=kind,
                user=user,
                scopes=granted,
                session_generation=user.session_generation,
                family=family,
                expires_at=now + lifetime,
            )
        record_audit(
            actor=user,
            action="accounts.issue_token",
            target=user.username,
            data={"scopes": granted, "family": str(family)},
            request=request,
        )
    return IssuedTokens(access, refresh, ACCESS_TOKEN_SECONDS, granted)


def refresh_user_tokens(refresh_token: str, *, request=None) -> IssuedTokens:
    """Rotate a refresh token. One already used (or revoked) presented again means it leaked: the
    whole family of tokens descended from that sign-in is revoked (OAuth 2.0 reuse detection)."""
    refused = PermissionDenied(_("The refresh token is invalid, expired or already used."))
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(refresh_token), kind=ApiToken.Kind.REFRESH, user__isnull=False)
        .first()
    )
    if token is None or token.expires_at <= now:
        raise refused
    with transaction.atomic():
        # The conditional UPDATE decides: a refresh token is used once, even by racing requests.
        rotated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if rotated and token.session_generation == token.user.session_generation:
            return issue_user_tokens(
                token.user, scopes=token.scopes, family=token.family, request=request
            )
    if not rotated:
        revoke_token_family(token, request=request)
    raise refused


def revoke_token_family(token: ApiToken, *, request=None) -> None:
    """Revoke every token of a sign-in's family: a used refresh token was presented again."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(family=token.family, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_audit(
            actor=token.user,
            action="accounts.refresh_token_reused",
            target=token.user.username,
            data={"family": str(token.family), "revoked": revoked},
            request=request,
        )


def revoke_token(token: str, *, request=None) -> None:
    """Revoke a token; whoever holds it may (its owner is the actor). Unknown or already revoked
    tokens change nothing."""
    with transaction.atomic():
        live = ApiToken.objects.filter(digest=_digest(token), revoked_at__isnull=True)
        token_row = live.select_related("user", "client").first()
        # The conditional UPDATE decides: racing revocations record one entry.
        if token_row is None or not live.filter(pk=token_row.pk).update(revoked_at=timezone.now()):
            return
        owner = token_row.user or f"client:{token_row.client.client_id}"
        record_audit(
            actor=owner,
            action="accounts.revoke_token",
            target=owner.username if token_row.user else owner,
            data={"token": token_row.pk, "kind": token_row.kind},
            request=request,
        )


def create_system_client(
    *, actor: User, name: str, scopes: list[str], tenant=None, request=None
) -> tuple[SystemClient, str]:
    if not actor.is_superuser:
        raise PermissionDenied(_("Only provincial administrators may do this."))
    granted = _check_scopes(scopes, list(API_SCOPES))
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = SystemClient.objects.create(
            name=name,
            client_id=f"sys-{secrets.token_hex(8)}",
            secret_digest=_digest(secret),
            scopes=granted,
            tenant=tenant,
        )
        record_audit(
            actor=actor,
            action="accounts.create_system_client",
            target=client.client_id,
            data={"scopes": granted},
            tenant=tenant,
            request=request,
        )
    return client, secret


def issue_client_token(
    client_id: str, secret: str, *, scopes: list[str] | None = None, request=None
) -> IssuedTokens:
    client = SystemClient.objects.filter(client_id=client_id, is_active=True).first()
    if client is None or not secrets.compare_digest(client.secret_digest, _digest(secret)):
        raise PermissionDenied(_("Unknown client or wrong secret."))
    granted = _check_scopes(scopes, client.scopes)
    access = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            digest=_digest(access),
            kind=ApiToken.Kind.ACCESS,
            client=client,
            scopes=granted,
            expires_at=timezone.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS),
        )
        record_audit(
            actor=f"client:{client.client_id}",
            action="accounts.issue_client_token",
            target=client.client_id,
            tenant=client.tenant,
            data={"scopes": granted},
            request=request,
        )
    return IssuedTokens(access, None, ACCESS_TOKEN_SECONDS, granted)


def register_organisation(*, legal_representative: User, name: str, credit_code: str, request=None):
    """A legal person (法人), registered by its legal representative; they may add agents."""
    from shared_apps.accounts.identity import normalize_credit_code
    from shared_apps.accounts.models import Organisation, OrganisationAgent

    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Enter the organisation's registered name.")]
    try:
        code = normalize_credit_code(credit_code)
    except ValidationError as error:
        errors["credit_code"] = error.messages
        code = ""
    if code and Organisation.objects.filter(credit_code=code).exists():
        errors.setdefault("credit_code", []).append(_("This organisation is already registered."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        organisation = Organisation.objects.create(
            name=name.strip(), credit_code=code, legal_representative=legal_representative
        )
        OrganisationAgent.objects.create(organisation=organisation, user=legal_representative)
        record_audit(
            actor=legal_representative,
            action="accounts.register_organisation",
            target=code,
            request=request,
        )
    return organisation


def add_organisation_agent(organisation, *, actor: User, agent: User, request=None) -> None:
    """Only the legal representative names who may act for the organisation."""
    from shared_apps.accounts.models import OrganisationAgent

    if organisation.legal_representative_id != actor.pk:
        raise PermissionDenied(_("Only the legal representative may do this."))
    with transaction.atomic():
        OrganisationAgent.objects.get_or_create(organisation=organisation, user=agent)
        record_audit(
            actor=actor,
            action="accounts.add_organisation_agent",
            target=organisation.credit_code,
            data={"agent": agent.username},
            request=request,
        )
