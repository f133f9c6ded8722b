"""Sign-ins and failed sign-ins go to the audit log."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from shared_apps.accounts.backends import count_failure_from_address, normalize_identifier
from shared_apps.audit.actions import record_audit


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    record_audit(
        actor=user,
        action="accounts.sign_in",
        target=user.get_username(),
        request=request,
        tenant=getattr(request, "tenant", None),
    )


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    count_failure_from_address(request)
    # Never the password; the identifier normalized, cut short (it may be an ID number: mask it).
    identifier = normalize_identifier(credentials.get("username", ""))[:40]
    if len(identifier) == 18:
        identifier = identifier[:3] + "*" * 11 + identifier[-4:]
    record_audit(
        actor="anonymous",
        action="accounts.sign_in_failed",
        target=identifier,
        request=request,
        tenant=getattr(request, "tenant", None),
    )
