"""Fee items of a guide (收费项目) and the declared rules their amounts follow.

A rule is data, never code: a fixed amount, an amount per unit of a numeric form field (per copy,
per square metre), or an amount chosen by the value of a form field (by category). A waiver (减免)
names a form field and the value that waives the fee, with the reason shown to the applicant.
Amounts are decimal strings with at most two places (DESIGN §5) and computed as Decimal.
"""

from decimal import ROUND_HALF_UP, Decimal

import jsonschema
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MONEY = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$"
FIELD = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,49}$"}
CENT = Decimal("0.01")

RULE_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"fixed": {"type": "string", "pattern": MONEY}},
            "required": ["fixed"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "per": FIELD,
                "unit": {"type": "string", "pattern": MONEY},
                "max_units": {"type": "integer", "minimum": 1, "maximum": 100000},
            },
            "required": ["per", "unit", "max_units"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "by": FIELD,
                "amounts": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 50,
                    "propertyNames": {"maxLength": 50},
                    "additionalProperties": {"type": "string", "pattern": MONEY},
                },
            },
            "required": ["by", "amounts"],
            "additionalProperties": False,
        },
    ]
}
WAIVERS_SCHEMA = {
    "type": "array",
    "maxItems": 10,
    "items": {
        "type": "object",
        "properties": {
            "field": FIELD,
            "equals": {"type": ["string", "number", "boolean"]},
            "reason": {"type": "string", "minLength": 1, "maxLength": 200},
        },
        "required": ["field", "equals", "reason"],
        "additionalProperties": False,
    },
}


class FeeRuleError(ValidationError):
    """The form data don't give what the rule needs (the case can't be charged as declared)."""


FEE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\x00]*$"},
        "revenue_code": {"type": "string", "maxLength": 20, "pattern": "^[0-9A-Za-z]*$"},
        "rule": RULE_SCHEMA,
        "legal_basis": {
            "type": "string",
            "minLength": 1,
            "maxLength": 300,
            "pattern": "^[^\\x00]*$",
        },
        "waivers": WAIVERS_SCHEMA,
        "stage": {"enum": ["acceptance", "delivery"]},
        "case_waits": {"type": "boolean"},
        "days_to_pay": {"type": "integer", "minimum": 1, "maximum": 90},
    },
    "required": ["name", "rule", "legal_basis", "stage"],
    "additionalProperties": False,
}


def check_fee(fee: dict) -> None:
    """Refuse a fee item that is not in the declared shape (its rule and waivers above all)."""
    try:
        jsonschema.validate(fee, FEE_SCHEMA)
    except jsonschema.ValidationError:
        raise ValidationError(
            {
                "fee_items": [
                    _("A fee item needs a name, a legal basis, a stage and a declared rule.")
                ]
            }
        ) from None


def waiver_reason(waivers: list, form_data: dict) -> str:
    """The reason of the first waiver the form data meet, or ""."""
    for waiver in waivers:
        value = form_data.get(waiver["field"])
        # True == 1 in Python: a waiver on a checkbox must not match the number 1.
        if type(value) is type(waiver["equals"]) and value == waiver["equals"]:
            return waiver["reason"]
    return ""


def amount_due(rule: dict, form_data: dict) -> Decimal:
    """The amount the rule gives for these form data, to the cent."""
    if "fixed" in rule:
        return Decimal(rule["fixed"]).quantize(CENT)
    if "per" in rule:
        units = form_data.get(rule["per"])
        if isinstance(units, bool) or not isinstance(units, int | float):
            raise FeeRuleError(_("The form gives no number for the fee's quantity."))
        if units < 0 or units > rule["max_units"] or units != int(units):
            raise FeeRuleError(_("The fee's quantity in the form is out of range."))
        return (Decimal(rule["unit"]) * int(units)).quantize(CENT, ROUND_HALF_UP)
    chosen = form_data.get(rule["by"])
    if str(chosen) not in rule["amounts"] or isinstance(chosen, dict | list):
        raise FeeRuleError(_("The form gives no category the fee is declared for."))
    return Decimal(rule["amounts"][str(chosen)]).quantize(CENT)
