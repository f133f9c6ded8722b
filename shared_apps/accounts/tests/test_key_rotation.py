"""Rotating IDENTITY_KEY (issue 8, item 4): ID numbers stay readable and findable before, during
and after the re-encryption, which resumes where it stopped."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from shared_apps.accounts.backends import find_account
from shared_apps.accounts.identity import (
    encrypt_id_number,
    id_number_digest,
    rotate_id_number_keys,
)
from shared_apps.accounts.models import User
from shared_apps.audit.models import AuditEntry
from tests.helpers import make_id_number

NUMBERS = [make_id_number(sequence=f"{n:03}") for n in (101, 102, 103)]


def old_key():
    return override_settings(IDENTITY_KEY="old-identity-key", IDENTITY_PREVIOUS_KEYS=[])


def rotating():
    # Accounts other tests committed are under the configured key: it is a former key here too.
    return override_settings(
        IDENTITY_KEY="new-identity-key",
        IDENTITY_PREVIOUS_KEYS=["old-identity-key", settings.IDENTITY_KEY],
    )


def assert_every_number_found_and_readable():
    for number in NUMBERS:
        user = find_account(number)
        assert user is not None, f"{number} not found"
        assert user.unmasked_id_number() == number


class Interrupted(Exception):
    pass


@pytest.fixture
def citizens(db):
    with old_key():
        for n, number in enumerate(NUMBERS):
            User.objects.create_user(
                f"citizen-{n}",
                id_number_digest=id_number_digest(number),
                id_number_encrypted=encrypt_id_number(number),
            )
        assert_every_number_found_and_readable()


def under_new_key() -> list[bool]:
    return [
        user.id_number_digest == id_number_digest(user.unmasked_id_number())
        for user in User.objects.filter(username__startswith="citizen-").order_by("pk")
    ]


def test_rotation_resumes_and_lookups_work_throughout(citizens):
    with rotating():
        assert under_new_key() == [False, False, False]
        assert_every_number_found_and_readable()  # before the re-encryption

        first = User.objects.filter(username="citizen-0").get().pk

        def stop_after_the_first_citizen(last_id, changed):
            if last_id >= first:
                raise Interrupted

        with pytest.raises(Interrupted):
            rotate_id_number_keys(
                actor="system:test", batch_size=1, progress=stop_after_the_first_citizen
            )
        assert under_new_key() == [True, False, False]
        assert_every_number_found_and_readable()  # half-way

        call_command("rotate_identity_key", batch_size=1)
        assert under_new_key() == [True, True, True]
        assert rotate_id_number_keys(actor="system:test") == 0  # nothing left: a no-op
    rotated = AuditEntry.objects.filter(action="accounts.rotate_identity_key")
    assert sum(entry.data["re_encrypted"] for entry in rotated) >= 3

    with override_settings(IDENTITY_KEY="new-identity-key", IDENTITY_PREVIOUS_KEYS=[]):
        assert_every_number_found_and_readable()  # the old key is gone


def test_without_the_old_key_numbers_are_neither_found_nor_readable(citizens):
    with override_settings(IDENTITY_KEY="new-identity-key", IDENTITY_PREVIOUS_KEYS=[]):
        assert find_account(NUMBERS[0]) is None
        with pytest.raises(CommandError, match="IDENTITY_PREVIOUS_KEYS is empty"):
            call_command("rotate_identity_key")


def test_a_number_no_accepted_key_reads_stops_the_rotation_with_its_account(citizens):
    with override_settings(IDENTITY_KEY="new-identity-key", IDENTITY_PREVIOUS_KEYS=["wrong-key"]):
        with pytest.raises(CommandError, match="not readable with IDENTITY_KEY"):
            call_command("rotate_identity_key")
