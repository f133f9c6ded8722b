"""Resident ID numbers (居民身份证号码, GB 11643): validation, lookup digest, encryption, masking.

An ID number is never stored in clear text: a keyed digest (HMAC-SHA256) finds it by exact value,
an encrypted copy (Fernet: AES-128-CBC + HMAC) gives it back to whom the law allows, and a masked
form (410***********1234) is shown everywhere else. Both keys derive from IDENTITY_KEY.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength


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
    except InvalidComponent:
        if _birth_date_invalid(number):
            raise ValidationError(
                _("The date of birth in the ID number does not exist."), code="birth_date"
            ) from None
        raise ValidationError(
            _("The ID number's region code is not a known county."), code="region"
        ) from None
    except InvalidChecksum:
        raise ValidationError(
            _("The ID number's check character is wrong; please check every digit."),
            code="checksum",
        ) from None
    return number


def _birth_date_invalid(number: str) -> bool:
    try:
        ric.get_birth_date(number)
    except Exception:
        return True
    return False


@cache
def _key(purpose: str) -> bytes:
    return hmac.new(settings.IDENTITY_KEY.encode(), purpose.encode(), hashlib.sha256).digest()


def id_number_digest(number: str) -> str:
    return hmac.new(_key("id-number-lookup"), number.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key("id-number-encryption")))


def encrypt_id_number(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode()


def decrypt_id_number(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


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
