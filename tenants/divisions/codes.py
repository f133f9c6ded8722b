"""12-digit administrative division codes (行政区划代码): 2 province + 2 city + 2 county + 3 township
+ 3 village, e.g. 410000000000 Henan, 410100000000 Zhengzhou, 410102000000 a district,
410102001000 a sub-district."""

import re

CODE_RE = re.compile(r"^\d{12}$")

# How many leading digits identify a unit of each level.
SIGNIFICANT_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9}
LEVEL_ORDER = ["province", "city", "county", "township"]


def level_of_code(code: str) -> str | None:
    """The level a well-formed code denotes, or None for a village-level or malformed code."""
    if not CODE_RE.match(code) or code[:2] == "00":
        return None
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "city"
    if code[6:] == "0" * 6 and code[4:6] != "00":
        return "county"
    if code[9:] == "000" and code[6:9] != "000":
        return "township"
    return None


def is_within(code: str, ancestor_code: str, ancestor_level: str) -> bool:
    """Whether `code` lies inside the unit `ancestor_code` of `ancestor_level`."""
    digits = SIGNIFICANT_DIGITS[ancestor_level]
    return code[:digits] == ancestor_code[:digits]


def county_prefix(code: str) -> str:
    """The issuing county of a resident ID number or a division code: its first 6 digits."""
    return code[:6]
