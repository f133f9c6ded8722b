"""Accounts of the whole province (一号申请), in `public`: one identity valid on every subdomain."""

import hashlib
import hmac
import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.identity import decrypt_id_number


class AssuranceLevel(models.IntegerChoices):
    """How sure the platform is that an account is the person it names."""

    SELF_DECLARED = 1, _("Well-formed data, not checked against a registry")
    VERIFIED = 2, _("Verified by a real-name service")
    IN_PERSON = 3, _("Identity checked in person at a service hall")


class User(AbstractUser):
    """A person: a citizen (自然人), someone acting for an organisation, or a member of staff."""

    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    real_name = models.CharField(_("real name"), max_length=60, blank=True)
    id_number_digest = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    id_number_encrypted = models.TextField(blank=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True, editable=False)
    assurance_level = models.PositiveSmallIntegerField(
        _("level of assurance"),
        choices=AssuranceLevel.choices,
        default=AssuranceLevel.SELF_DECLARED,
    )
    verified_by = models.CharField(_("verified by"), max_length=100, blank=True)
    # Bumped by "sign out everywhere": every session and token issued before is void.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            # A phone number signs in: it must name one account.
            models.UniqueConstraint(
                fields=["phone"], condition=~models.Q(phone=""), name="one_account_per_phone"
            )
        ]

    def get_session_auth_hash(self):
        # Django checks this on every request: changing the generation ends every session.
        base = super().get_session_auth_hash()
        return hmac.new(
            base.encode(), str(self.session_generation).encode(), hashlib.sha256
        ).hexdigest()

    def unmasked_id_number(self) -> str:
        """Only through shared_apps.accounts.actions.reveal_id_number, which audits it."""
        return decrypt_id_number(self.id_number_encrypted) if self.id_number_encrypted else ""

    @property
    def display_name(self) -> str:
        return self.real_name or self.get_username()

    @property
    def audit_label(self) -> str:
        return (
            f"{self.get_username()}（{self.real_name}）" if self.real_name else self.get_username()
        )


class Organisation(models.Model):
    """A legal person (法人) with its unified social credit code."""

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    legal_representative = models.ForeignKey(
        User, verbose_name=_("legal representative"), on_delete=models.PROTECT, related_name="+"
    )
    members = models.ManyToManyField(
        User, through="OrganisationAgent", related_name="organisations"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self):
        return self.name


class OrganisationAgent(models.Model):
    """A person allowed to act for an organisation (经办人)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="one_agent_row")
        ]

    def __str__(self):
        return f"{self.user} · {self.organisation}"


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("Window clerk")
    REVIEWER = "reviewer", _("Reviewer")
    APPROVER = "approver", _("Approver")
    DEPARTMENT_HEAD = "department_head", _("Department head")
    TENANT_ADMIN = "tenant_admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    PROXY_AGENT = "proxy_agent", _("Proxy agent")
    # 财政: the provincial finance staff who work the payments' reconciliation queue.
    FINANCE = "finance", _("Finance")


class StaffMembership(models.Model):
    """A role of a staff account in a tenant (and optionally one of its departments).

    With covers_subtree the role also holds in every unit below: a city administrator administers
    its counties and townships; a provincial administrator or supervisor covers the province.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="memberships"
    )
    # Departments live in the tenant's schema: kept by id, with the name at the time of granting.
    department_id = models.BigIntegerField(null=True, blank=True)
    department_name = models.CharField(max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    covers_subtree = models.BooleanField(_("also for units below"), default=False)
    is_active = models.BooleanField(default=True)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        indexes = [models.Index(fields=["user", "is_active"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant", "role"],
                condition=models.Q(is_active=True),
                name="one_active_role",
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.tenant} · {self.get_role_display()}"


CONSENT_MAX_DAYS = 365  # a consent lasts the item's handling, and never more than a year


class ConsentEvidence(models.TextChoices):
    """How the citizen's will is known (授权凭证)."""

    CITIZEN_ONLINE = "citizen_online", _("Confirmed by the citizen online (verified account)")
    SIGNED_FORM = (
        "signed_form",
        _("Form signed by the citizen at a service point, recorded by a second staff member"),
    )


class ProxyConsent(models.Model):
    """A citizen's recorded consent that an agent files for them (代办授权) in one unit: who, for
    what, until when, and how the citizen's will is known. A consent recorded by staff for the
    citizen to confirm online counts only once confirmed."""

    citizen = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents_given")
    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents_received")
    tenant = models.ForeignKey(
        "tenants.Tenant",
        verbose_name=_("unit"),
        null=True,  # consents recorded before units were kept are revoked (migration 0003)
        on_delete=models.PROTECT,
        related_name="+",
    )
    purpose = models.CharField(_("for what"), max_length=200)
    valid_until = models.DateTimeField(_("valid until"))
    evidence_kind = models.CharField(
        _("evidence"),
        max_length=20,
        choices=ConsentEvidence.choices,
        default=ConsentEvidence.SIGNED_FORM,
    )
    evidence = models.CharField(_("how it was recorded"), max_length=200)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("proxy consent")
        verbose_name_plural = _("proxy consents")
        constraints = [
            # Four eyes: nobody records a consent naming themselves as the agent; a year at most.
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=False)
                | (
                    ~models.Q(agent=models.F("recorded_by"))
                    & models.Q(
                        valid_until__lte=models.F("recorded_at") + timedelta(days=CONSENT_MAX_DAYS)
                    )
                ),
                name="consent_four_eyes_and_bounded",
            )
        ]

    def __str__(self):
        return f"{self.citizen} → {self.agent}: {self.purpose}"

    def is_valid(self) -> bool:
        return (
            self.revoked_at is None
            and self.confirmed_at is not None
            and self.valid_until > timezone.now()
        )


ENROLMENT_LINK_HOURS = 24


class EnrolmentLink(models.Model):
    """A one-time link with which a staff member enrols their authenticator app (绑定二次验证),
    issued by an administrator and handed over out of band. Only its SHA-256 is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64, unique=True)
    issued_by = models.CharField(max_length=150)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"enrolment link for {self.user} ({self.expires_at:%Y-%m-%d %H:%M})"


class SystemClient(models.Model):
    """Another system (a department's business system, the national platform) using the API."""

    name = models.CharField(_("name"), max_length=100)
    client_id = models.CharField(max_length=40, unique=True)
    secret_digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class ApiToken(models.Model):
    """A bearer token: kept as its SHA-256 only. Access tokens are short-lived; refresh tokens
    rotate (each use revokes the old one); any can be revoked. The tokens of one sign-in and all
    their rotations form a family: a used refresh token presented again revokes the family."""

    class Kind(models.TextChoices):
        ACCESS = "access"
        REFRESH = "refresh"

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens"
    )
    client = models.ForeignKey(SystemClient, null=True, blank=True, on_delete=models.CASCADE)
    scopes = models.JSONField(default=list)
    session_generation = models.PositiveIntegerField(default=0)
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.kind} token {self.digest[:8]}"


API_SCOPES = {
    "profile": _("Read the signed-in person's profile"),
    "departments:read": _("Read departments"),
    "departments:write": _("Manage departments"),
    "staff:read": _("Read who holds which role in a unit"),
    "catalog:write": _("Manage a unit's implementation list"),
    "cases:read": _("Read a unit's cases"),
    "cases:write": _("Act on a unit's cases (accept, review, decide, deliver)"),
    "cases:apply": _("Apply and follow one's own applications"),
    "licenses:write": _("Issue, suspend, revoke and reissue a unit's e-licenses"),
}
ACCESS_TOKEN_SECONDS = 15 * 60
REFRESH_TOKEN_DAYS = 30
