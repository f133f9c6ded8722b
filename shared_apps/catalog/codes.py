"""Codes of the unified catalog (docs/domain.md, "Standards and laws").

- basic code (基本编码), 12 characters: region (2) + item type (2) + main item (5) + sub-item (3:
  `000` none, `00Y` has sub-items, `001`–`999` a sub-item);
- implementation code (实施编码), 31 characters: the implementing body's unified social credit
  code (18) + exercising level (1) + basic code (12).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shared_apps.accounts.identity import normalize_credit_code

ITEM_TYPES = {
    "00": "行政权力",
    "01": "行政许可",
    "02": "行政处罚",
    "03": "行政强制",
    "04": "行政征收",
    "05": "行政给付",
    "06": "行政检查",
    "07": "行政确认",
    "08": "行政奖励",
    "09": "行政裁决",
    "10": "其他行政权力",
    "20": "公共服务",
}
EXERCISING_LEVELS = {
    1: "国家级",
    2: "省级",
    3: "市级",
    4: "县级",
    5: "乡级",
    6: "村级",
    7: "分级管理",
}
# Exercising level of a tenant of each level.
LEVEL_OF_TENANT = {"province": 2, "city": 3, "county": 4, "township": 5}
BASIC_CODE = re.compile(r"^(?P<region>\d{2})(?P<type>\d{2})(?P<main>\d{5})(?P<sub>000|00Y|\d{3})$")


def validate_basic_code(code: str) -> str:
    match = BASIC_CODE.match(code or "")
    if len(code or "") != 12:
        raise ValidationError(_("A basic code has 12 characters."), code="length")
    if not match:
        raise ValidationError(
            _(
                "A basic code is region (2 digits), item type (2), main item (5) and sub-item (3: 000, 00Y or 001–999)."
            ),
            code="format",
        )
    if match["type"] not in ITEM_TYPES:
        raise ValidationError(
            _("Unknown item type %(type)s.") % {"type": match["type"]}, code="type"
        )
    return code


def item_type_of(code: str) -> str:
    return code[2:4]


def implementation_code(credit_code: str, exercising_level: int, basic_code: str) -> str:
    return f"{credit_code}{exercising_level}{basic_code}"


def validate_implementation_code(code: str) -> str:
    if len(code or "") != 31:
        raise ValidationError(_("An implementation code has 31 characters."), code="length")
    normalize_credit_code(code[:18])
    if not code[18].isdigit() or int(code[18]) not in EXERCISING_LEVELS:
        raise ValidationError(
            _("Character 19 of an implementation code is the exercising level (1–7)."), code="level"
        )
    validate_basic_code(code[19:])
    return code
