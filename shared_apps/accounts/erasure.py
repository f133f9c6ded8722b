"""Erasing a person's account (注销并删除个人信息) without breaking the audit chain: the account row
stays, deactivated, under its id and random username, which audit entries name and their hashes
cover; everything that identifies the person is blanked. (Kept beside actions.py, which other work
changes at the same time; it follows the same rules: atomic, an actor, an audit entry.)"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import ApiToken, User
from shared_apps.audit.actions import record_audit
from shared_apps.notifications.models import Message


def erase_account(*, actor: User, user: User, request=None) -> None:
    """A person erases their own account, or a provincial administrator does it for them."""
    if actor.pk != user.pk and not actor.is_superuser:
        raise PermissionDenied(_("Only provincial administrators may do this."))
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            is_active=False,
            first_name="",
            last_name="",
            email="",
            phone="",
            real_name="",
            id_number_digest=None,
            id_number_encrypted="",
            id_number_masked="",
            password="!",  # unusable: no sign-in ever again
            session_generation=user.session_generation + 1,  # ends every session
        )
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        # Their inbox, with the addresses its deliveries were (or were to be) sent to.
        Message.objects.filter(user=user).delete()
        record_audit(
            actor=actor, action="accounts.erase", target=f"user {user.pk}", request=request
        )
    user.refresh_from_db()
