import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One privileged action (审计日志): who did what, for whom, in which tenant, when and from where.
    Append-only: written by record_audit; a trigger refuses UPDATE and DELETE."""

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.CharField(_("actor"), max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_behalf_of = models.CharField(_("on behalf of"), max_length=150, blank=True)
    tenant_code = models.CharField(_("tenant"), max_length=12, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    target = models.CharField(_("target"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("from"), null=True, blank=True)
    # Each entry's hash covers its content and the previous entry's hash: editing or deleting any
    # entry breaks the chain from there on (`manage.py verify_audit_chain`).
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"

    def content(self) -> str:
        """The canonical text the hash covers."""
        return json.dumps(
            [
                self.at.isoformat(),
                self.actor,
                self.on_behalf_of,
                self.tenant_code,
                self.action,
                self.target,
                self.data,
                self.ip_address,
            ],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.content()).encode()).hexdigest()
