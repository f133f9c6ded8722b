"""Every change to accounts, roles, consents and tokens: atomic, with its actor and an audit entry."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts import verification
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
    REFRESH_TOKEN_DAYS,
    ApiToken,
    AssuranceLevel,
    ProxyConsent,
    Role,
    StaffMembership,
    SystemClient,
    User,
)
from shared_apps.audit.actions import record_audit


class AssuranceTooLow(PermissionDenied):
    pass


def register_citizen(
    *, real_name: str, id_number: str, phone: str, password: str, request=None
) -> User:
    """Sign-up of a natural person. Raises ValidationError with every problem, in the user's language."""
    errors: dict[str, list[str]] = {}
    real_name = real_name.strip()
    if not real_name:
        errors["real_name"] = [_("Enter your name as on your ID card.")]
    try:
        number = normalize_id_number(id_number)
    except ValidationError as error:
        errors["id_number"] = error.messages
        number = ""
    phone = phone.strip()
    if not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
        errors["phone"] = [_("Enter an 11-digit mainland mobile number.")]
    if number and User.objects.filter(id_number_digest__in=id_number_digests(number)).exists():
        errors.setdefault("id_number", []).append(
            _("An account with this ID number already exists.")
        )
    if "phone" not in errors and User.objects.filter(phone=phone).exists():
        errors["phone"] = [_("This mobile number is already used by another account.")]
    if errors:
        raise ValidationError(errors)
    user = User(username=f"u{secrets.token_hex(6)}", real_name=real_name, phone=phone)
    validate_password(password, user)
    check = verification.verifier().verify(real_name=real_name, id_number=number, phone=phone)
    user.set_password(password)
    user.id_number_digest = id_number_digest(number)
    user.id_number_encrypted = encrypt_id_number(number)
    user.id_number_masked = mask_id_number(number)
    user.assurance_level, user.verified_by = check.level, check.verifier
    with transaction.atomic():
        user.save()
        record_audit(
            actor=user,
            action="accounts.register",
            target=user.username,
            data={"assurance_level": user.assurance_level, "verified_by": check.verifier},
            request=request,
        )
    return user


def require_assurance(user: User, level: int) -> None:
    if user.assurance_level < level:
        raise AssuranceTooLow(
            _("This needs an account verified at level %(level)d (%(label)s).")
            % {"level": level, "label": AssuranceLevel(level).label}
        )


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


def record_consent(
    *,
    citizen: User,
    agent: User,
    purpose: str,
    valid_until,
    evidence: str,
    recorded_by: User,
    request=None,
) -> ProxyConsent:
    """Record that a citizen lets an agent file for them. Given online it needs a verified account;
    recorded by staff at a hall, the evidence says how (signed form number)."""
    if not purpose.strip() or not evidence.strip():
        raise ValidationError(_("Say what the consent is for and how it was given."))
    if valid_until <= timezone.now():
        raise ValidationError(_("The consent must end in the future."))
    if recorded_by.pk == citizen.pk:
        require_assurance(citizen, AssuranceLevel.VERIFIED)
    with transaction.atomic():
        consent = ProxyConsent.objects.create(
            citizen=citizen,
            agent=agent,
            purpose=purpose.strip(),
            valid_until=valid_until,
            evidence=evidence.strip(),
            recorded_by=recorded_by,
        )
        record_audit(
            actor=recorded_by,
            action="accounts.record_consent",
            target=citizen.username,
            data={"agent": agent.username, "purpose": purpose, "until": valid_until.isoformat()},
            request=request,
        )
    return consent


def valid_consent(*, agent: User, citizen: User) -> ProxyConsent:
    """The consent under which the agent may act for the citizen now, or PermissionDenied."""
    consent = (
        ProxyConsent.objects.filter(
            agent=agent, citizen=citizen, revoked_at__isnull=True, valid_until__gt=timezone.now()
        )
        .order_by("-valid_until")
        .first()
    )
    if consent is None:
        raise PermissionDenied(
            _("%(citizen)s has not consented to you filing for them.")
            % {"citizen": citizen.display_name}
        )
    return consent


# --- API tokens -------------------------------------------------------------------------------


@dataclass
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int
    scopes: list[str]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(requested: list[str] | None, allowed: list[str]) -> list[str]:
    requested = list(requested or allowed)
    unknown = [s for s in requested if s not in API_SCOPES or s not in allowed]
    if unknown:
        raise ValidationError(_("Scopes not allowed: %(scopes)s") % {"scopes": ", ".join(unknown)})
    return requested


CITIZEN_SCOPES = ["profile", "departments:read"]


def issue_user_tokens(user: User, *, scopes: list[str] | None = None, request=None) -> IssuedTokens:
    """Staff may ask for any scope (their roles still decide); others for their own profile and
    public reads."""
    from shared_apps.accounts.authz import is_staff_member

    granted = _check_scopes(scopes, list(API_SCOPES) if is_staff_member(user) else CITIZEN_SCOPES)
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
                expires_at=now + lifetime,
            )
        record_audit(
            actor=user,
            action="accounts.issue_token",
            target=user.username,
            data={"scopes": granted},
            request=request,
        )
    return IssuedTokens(access, refresh, ACCESS_TOKEN_SECONDS, granted)


def refresh_user_tokens(refresh_token: str, *, request=None) -> IssuedTokens:
    with transaction.atomic():
        # The conditional UPDATE decides: a refresh token is used once, even by racing requests.
        used = ApiToken.objects.filter(
            digest=_digest(refresh_token),
            kind=ApiToken.Kind.REFRESH,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        token = used.select_related("user").first()
        if (
            token is None
            or token.user is None
            or not used.filter(pk=token.pk).update(revoked_at=timezone.now())
        ):
            raise PermissionDenied(_("The refresh token is invalid, expired or already used."))
        if token.session_generation != token.user.session_generation:
            raise PermissionDenied(_("The refresh token is invalid, expired or already used."))
        return issue_user_tokens(token.user, scopes=token.scopes, request=request)


def revoke_token(token: str, *, request=None) -> None:
    ApiToken.objects.filter(digest=_digest(token), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
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
    client_id: str, secret: str, *, scopes: list[str] | None = None
) -> IssuedTokens:
    client = SystemClient.objects.filter(client_id=client_id, is_active=True).first()
    if client is None or not secrets.compare_digest(client.secret_digest, _digest(secret)):
        raise PermissionDenied(_("Unknown client or wrong secret."))
    granted = _check_scopes(scopes, client.scopes)
    access = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        digest=_digest(access),
        kind=ApiToken.Kind.ACCESS,
        client=client,
        scopes=granted,
        expires_at=timezone.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS),
    )
    return IssuedTokens(access, None, ACCESS_TOKEN_SECONDS, granted)


def token_owner(token: str) -> ApiToken | None:
    """The live access token behind a bearer value, or None."""
    found = (
        ApiToken.objects.select_related("user", "client")
        .filter(
            digest=_digest(token),
            kind=ApiToken.Kind.ACCESS,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if found is None:
        return None
    if found.user is not None and (
        not found.user.is_active or found.session_generation != found.user.session_generation
    ):
        return None
    if found.client is not None and not found.client.is_active:
        return None
    return found


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
