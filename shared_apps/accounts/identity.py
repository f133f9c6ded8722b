"""Resident ID numbers (居民身份证号码, GB 11643): validation, lookup digest, encryption, masking.

An ID number is never stored in clear text: a keyed digest (HMAC-SHA256) finds it by exact value,
an encrypted copy (Fernet: AES-128-CBC + HMAC) gives it back to whom the law allows, and a masked
form (410***********1234) is shown everywhere else. Both keys derive from IDENTITY_KEY; during a
key rotation the former keys (IDENTITY_PREVIOUS_KEYS) still decrypt and find numbers.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength


def normalize_id_number(value: str) -> str:
    """Return the canonical form of a valid ID number, or raise ValidationError saying what is wrong."""
    number = ric.compact(value or "").upper()
    try:
        ric.validate(number)
    except InvalidLength:
        raise ValidationError(_("An ID number has 18 characters."), code="length") from None
    except InvalidFormat:
        raise ValidationError(
            _("An ID number is 17 digits followed by a digit or X."), code="format"
        ) from None
    except InvalidChecksum:
        raise ValidationError(
            _("The ID number's check character is wrong; please check every digit."),
            code="checksum",
        ) from None
    except Exception:  # noqa: BLE001
        # InvalidComponent, and what stdnum raises outside its own exceptions: a region code naming
        # only a province or a city (119999…) is a KeyError in its lookup of the county.
        if _birth_date_invalid(number):
            raise ValidationError(
                _("The date of birth in the ID number does not exist."), code="birth_date"
            ) from None
        raise ValidationError(
            _("The ID number's region code is not a known county."), code="region"
        ) from None
    return number


def _birth_date_invalid(number: str) -> bool:
    try:
        ric.get_birth_date(number)
    except Exception:
        return True
    return False


def _secrets() -> list[str]:
    """The current IDENTITY_KEY first, then the former ones still readable during a rotation."""
    return [settings.IDENTITY_KEY, *settings.IDENTITY_PREVIOUS_KEYS]


@cache
def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def _digest(secret: str, number: str) -> str:
    return hmac.new(_key(secret, "id-number-lookup"), number.encode(), hashlib.sha256).hexdigest()


def id_number_digest(number: str) -> str:
    """The lookup digest under the current key: what is stored for a new or re-encrypted number."""
    return _digest(settings.IDENTITY_KEY, number)


def id_number_digests(number: str) -> list[str]:
    """The digests under every accepted key: look a number up with `id_number_digest__in=`, so
    that rows not yet re-encrypted by `rotate_identity_key` are still found."""
    return [_digest(secret, number) for secret in _secrets()]


def _fernet() -> MultiFernet:
    # Encrypts with the first (current) key, decrypts with any of them.
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(_key(s, "id-number-encryption"))) for s in _secrets()]
    )


def encrypt_id_number(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode()


def decrypt_id_number(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


class UnreadableIdNumber(Exception):
    pass


def rotate_id_number_keys(*, actor, batch_size: int = 500, progress=None) -> int:
    """Re-encrypt every stored ID number, and re-key its digest, under the current IDENTITY_KEY
    (密钥轮换). Each batch commits on its own with an audit entry, and rows already under the
    current key are skipped: an interrupted run is resumed by running it again. Returns how many
    rows were changed."""
    from django.db import transaction

    from shared_apps.accounts.models import User
    from shared_apps.audit.actions import record_audit

    changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                User.objects.select_for_update()
                .filter(pk__gt=last_id)
                .exclude(id_number_encrypted="")
                .order_by("pk")
                .only("pk", "id_number_digest", "id_number_encrypted")[:batch_size]
            )
            if not batch:
                return changed
            last_id = batch[-1].pk
            rotated = []
            for user in batch:
                try:
                    number = decrypt_id_number(user.id_number_encrypted)
                except InvalidToken:
                    raise UnreadableIdNumber(
                        f"user {user.pk}: its ID number is not readable with IDENTITY_KEY or "
                        "IDENTITY_PREVIOUS_KEYS (a former key is missing)"
                    ) from None
                if user.id_number_digest == id_number_digest(number):
                    continue
                user.id_number_digest = id_number_digest(number)
                user.id_number_encrypted = encrypt_id_number(number)
                rotated.append(user)
            if rotated:
                User.objects.bulk_update(rotated, ["id_number_digest", "id_number_encrypted"])
                record_audit(
                    actor=actor,
                    action="accounts.rotate_identity_key",
                    target=f"users {batch[0].pk}–{last_id}",
                    data={"re_encrypted": len(rotated)},
                )
            changed += len(rotated)
        if progress:
            progress(last_id, changed)


def mask_id_number(number: str) -> str:
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def normalize_credit_code(value: str) -> str:
    """The canonical form of a valid unified social credit code (GB 32100-2015), or ValidationError."""
    code = uscc.compact(value or "").upper()
    try:
        uscc.validate(code)
    except InvalidLength:
        raise ValidationError(
            _("A unified social credit code has 18 characters."), code="length"
        ) from None
    except InvalidFormat:
        raise ValidationError(
            _(
                "A unified social credit code has 8 digits, then 10 digits or capital letters (not I, O, S, V, Z)."
            ),
            code="format",
        ) from None
    except InvalidChecksum:
        raise ValidationError(
            _(
                "The unified social credit code's check character is wrong; please check every character."
            ),
            code="checksum",
        ) from None
    return code
