import hashlib
import hmac
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.TextChoices):
    """Known kinds of audited action. `record_audit(action=...)` also takes any other string."""

    SIGN_IN = "accounts.sign_in"
    SIGN_IN_FAILED = "accounts.sign_in_failed"
    SIGN_OUT_EVERYWHERE = "accounts.sign_out_everywhere"
    REGISTER = "accounts.register"
    REVEAL_ID_NUMBER = "accounts.reveal_id_number"
    ROTATE_IDENTITY_KEY = "accounts.rotate_identity_key"
    GRANT_ROLE = "accounts.grant_role"
    REVOKE_ROLE = "accounts.revoke_role"
    ISSUE_TOKEN = "accounts.issue_token"
    CREATE_SYSTEM_CLIENT = "accounts.create_system_client"
    RECORD_CONSENT = "accounts.record_consent"
    PROXY_START = "accounts.proxy_start"
    PROXY_REFUSED = "accounts.proxy_refused"
    IMPORT_DIVISIONS = "tenants.import_divisions"
    SUSPEND_TENANT = "tenants.suspend"
    RESUME_TENANT = "tenants.resume"


class AuditEntry(models.Model):
    """One privileged action (审计日志): who did what, for whom, in which tenant, when and from where.
    Append-only: written by record_audit; triggers refuse UPDATE, DELETE and TRUNCATE, and the
    application's database role owns no audit table, so it can't disable them."""

    class Scheme(models.IntegerChoices):
        # Entries written before the chain was keyed: a plain SHA-256 over some columns.
        SHA256 = 1
        # HMAC-SHA256 with AUDIT_KEY over every column, the id and the acting user included.
        HMAC = 2

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.CharField(_("actor"), max_length=150)
    # PROTECT: the audit log keeps the id of whoever acted. Accounts are deactivated and their
    # personal data erased, never deleted (README, "Erasing an account").
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_client = models.ForeignKey(
        "accounts.SystemClient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("system client"),
    )
    on_behalf_of = models.CharField(_("on behalf of"), max_length=150, blank=True)
    tenant_code = models.CharField(_("tenant"), max_length=12, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    target = models.CharField(_("target"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("from"), null=True, blank=True)
    # Each entry's hash covers its content and the previous entry's hash in its chain — one chain
    # per tenant, and one for the province (tenant_code ""), so that units don't wait for each
    # other: editing or deleting any entry breaks its chain from there on; signed checkpoints
    # (AuditCheckpoint) anchor the chains' heads.
    scheme = models.PositiveSmallIntegerField(choices=Scheme.choices, default=Scheme.HMAC)
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant_code", "id"], name="audit_chain_head")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"

    def content(self) -> str:
        """The canonical text the hash covers."""
        if self.scheme == self.Scheme.SHA256:
            fields = [self.at.isoformat(), self.actor, self.on_behalf_of, self.tenant_code,
                      self.action, self.target, self.data, self.ip_address]  # fmt: skip
        else:
            fields = [self.scheme, self.id, self.at.isoformat(), self.actor, self.actor_user_id,
                      self.actor_client_id, self.on_behalf_of, self.tenant_code, self.action,
                      self.target, self.data, self.ip_address, self.prev_hash]  # fmt: skip
        return canonical(fields)

    def compute_hash(self) -> str:
        if self.scheme == self.Scheme.SHA256:
            return hashlib.sha256((self.prev_hash + self.content()).encode()).hexdigest()
        return sign(self.content())


class AuditCheckpoint(models.Model):
    """A signed record of the chains' heads at one moment (检查点). Entries cut from the end of a
    chain are missed by the chain itself; a checkpoint names the newest entry and its hash of every
    chain that grew since the checkpoint before, so a chain shorter than a checkpoint is reported.
    Checkpoints chain to each other and are also written to the application log, from where
    `verify_audit_chain --checkpoints` compares them: removing the newest checkpoints from the
    database as well is detected against that copy."""

    at = models.DateTimeField(_("time"))
    # The newest entry of the whole log at that moment: the next checkpoint looks after it.
    last_entry_id = models.BigIntegerField()
    # {tenant code ("" for the province): [entry id, entry hash]} of the chains that grew.
    heads = models.JSONField(default=dict)
    prev_signature = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} → {self.last_entry_id}"

    def content(self) -> str:
        return canonical(
            [
                self.id,
                self.at.isoformat(),
                self.last_entry_id,
                self.heads,
                self.prev_signature,
            ]  # fmt: skip
        )

    def compute_signature(self) -> str:
        return sign(self.content())

    def as_record(self) -> dict:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "last_entry_id": self.last_entry_id,
            "heads": self.heads,
            "prev_signature": self.prev_signature,
            "signature": self.signature,
        }


def canonical(fields: list) -> str:
    return json.dumps(
        fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )


def sign(text: str) -> str:
    return hmac.new(settings.AUDIT_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()
