"""E-license identifiers (电子证照标识, GB/T 36904-2018), as DESIGN.md §5 gives their structure:

    1.2.156.3005.2.{license type code}.{issuer credit code}.{serial}.{3-digit version}.{check character}

The standard's own text for the check character is not at hand (neither DESIGN.md nor the seed
has it). A secondary description says the standard computes it with ISO/IEC 7064 MOD 37,36 (GB/T
17710); it does not say over which characters. So the identifiers issued here carry that
check character over the identifier's letters and digits before it (python-stdnum's
`iso7064.mod_37_36`) — unverified against the standard — and checking an identifier validates
its structure only, never the check character.
"""

import re

from django.core.exceptions import ValidationError
from stdnum.iso7064 import mod_37_36

from shared_apps.accounts.identity import normalize_credit_code

PREFIX = "1.2.156.3005.2"
TYPE_CODE = re.compile(r"[0-9A-Z]{1,32}")
STRUCTURE = re.compile(
    r"1\.2\.156\.3005\.2\.(?P<type_code>[0-9A-Z]{1,32})\.(?P<issuer_code>[0-9A-Z]{18})"
    r"\.(?P<serial>[0-9]{1,20})\.(?P<version>[0-9]{3})\.(?P<check>[0-9A-Z])"
)
MAX_LENGTH = 128


class BadIdentifier(ValueError):
    pass


def _check_character(body: str) -> str:
    return mod_37_36.calc_check_digit(re.sub(r"[^0-9A-Z]", "", body))


def build(type_code: str, issuer_code: str, serial: int, version: int) -> str:
    if not 1 <= version <= 999:
        raise BadIdentifier("版本号须在 001–999 之间。")
    body = f"{PREFIX}.{type_code}.{issuer_code}.{serial:08d}.{version:03d}"
    identifier = f"{body}.{_check_character(body)}"
    parse(identifier)
    return identifier


def parse(value: str) -> dict:
    """The parts of a well-formed identifier (structure only, see above); BadIdentifier with a
    Chinese reason otherwise."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        raise BadIdentifier("电子证照标识为空或过长。")
    found = STRUCTURE.fullmatch(value)
    if found is None:
        raise BadIdentifier(
            "电子证照标识的结构不符合 GB/T 36904：应为 1.2.156.3005.2.证照类型代码.颁发机构代码."
            "流水号.三位版本号.校验位。"
        )
    parts = found.groupdict()
    try:
        normalize_credit_code(parts["issuer_code"])
    except ValidationError:
        raise BadIdentifier("电子证照标识中的颁发机构代码不是有效的统一社会信用代码。") from None
    parts["serial"] = int(parts["serial"])
    parts["version"] = int(parts["version"])
    return parts
