"""Erasing a person keeps the audit chain whole (issue 8, item 5): the account is deactivated and
its personal data blanked, never deleted."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import ProtectedError

from shared_apps.accounts.erasure import erase_account
from shared_apps.accounts.identity import encrypt_id_number, id_number_digest
from shared_apps.accounts.models import User
from shared_apps.audit.actions import record_audit
from shared_apps.audit.models import AuditEntry
from shared_apps.audit.queries import verify_chain
from shared_apps.notifications.inbox import notify
from shared_apps.notifications.models import Delivery, Message
from tests.helpers import make_id_number


def test_an_erased_person_keeps_their_audit_entries_and_nothing_else(db, provincial_admin):
    number = make_id_number(sequence="201")
    citizen = User.objects.create_user(
        "u-erase",
        password="a long enough password",
        email="person@example.cn",
        phone="13800000001",
        real_name="张三",
        id_number_digest=id_number_digest(number),
        id_number_encrypted=encrypt_id_number(number),
        id_number_masked="410***********0000",
    )
    acted = record_audit(actor=citizen, action="test.step")
    notify(
        citizen,
        "consent_recorded",
        {
            "recorder": "王",
            "unit": "中原区",
            "agent": "李",
            "purpose": "社保",
            "until": "2027-01-01",
        },
        actor="system:tests",
    )
    assert Delivery.objects.filter(address="13800000001").exists()
    with pytest.raises(PermissionDenied):
        erase_account(actor=User.objects.create_user("someone-else"), user=citizen)

    erase_account(actor=provincial_admin, user=citizen)

    citizen.refresh_from_db()
    assert not citizen.is_active and not citizen.has_usable_password()
    personal = [citizen.email, citizen.phone, citizen.real_name, citizen.id_number_encrypted,
                citizen.id_number_masked, citizen.id_number_digest]  # fmt: skip
    assert not any(personal)
    assert not Message.objects.filter(user=citizen).exists()
    assert not Delivery.objects.filter(address__in=["13800000001", "person@example.cn"]).exists()
    assert AuditEntry.objects.get(pk=acted.pk).actor_user_id == citizen.pk
    assert AuditEntry.objects.filter(action="accounts.erase", target=f"user {citizen.pk}").exists()
    assert verify_chain()[1] == []
    with pytest.raises(ProtectedError):
        citizen.delete()
