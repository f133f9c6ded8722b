"""Checking what an applicant files: the form data against the implementation's JSON Schema, with
Chinese messages per field, and the materials against the guide (nothing beyond its materials)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from shared_apps.catalog.models import GuideMaterial

MAX_TEXT = 2000
SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
FILE_ID = re.compile(r"[A-Za-z0-9._/-]{1,200}", re.ASCII)
MATERIAL_KINDS = ("upload", "form_section", "reused", "license")


def clean_text(
    value: str, field: str, *, required: bool = False, max_length: int = MAX_TEXT
) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationError({field: [_("This text contains invalid characters.")]})
    if len(value) > max_length:
        raise ValidationError({field: [_("At most %(count)s characters.") % {"count": max_length}]})
    if required and not value:
        raise ValidationError({field: [_("This is required.")]})
    return value


def _message(error) -> str:
    """A Chinese message for one JSON Schema error (jsonschema's own are English)."""
    v, expected = error.validator, error.validator_value
    if v == "required":
        return _("This is required.")
    if v == "type":
        return _("The value has the wrong type (expected %(type)s).") % {"type": expected}
    if v == "maxLength":
        return _("At most %(count)s characters.") % {"count": expected}
    if v == "minLength":
        return _("At least %(count)s characters.") % {"count": expected}
    if v in ("maximum", "exclusiveMaximum"):
        return _("The value is too large (at most %(limit)s).") % {"limit": expected}
    if v in ("minimum", "exclusiveMinimum"):
        return _("The value is too small (at least %(limit)s).") % {"limit": expected}
    if v == "enum":
        return _("Choose one of the listed values.")
    if v == "pattern":
        return _("The value is not in the required format.")
    if v == "format":
        return _("The value is not a valid %(format)s.") % {"format": expected}
    if v == "additionalProperties":
        return _("This form has no such field.")
    if v in ("maxItems", "minItems"):
        return _("The number of entries is not allowed.")
    return _("The value is not valid.")


def _field(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        if missing:
            path.append(missing.group(1))
    elif error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        if extra:
            path.append(extra[0])
    return ".".join(["form_data", *path])


def check_form(schema: dict, data, *, complete: bool) -> None:
    """ValidationError listing every field that does not fit the form. A draft (`complete`
    False) may leave required fields out."""
    if not isinstance(data, dict):
        raise ValidationError({"form_data": [_("The form data must be an object.")]})
    if not schema:
        return
    try:
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        found = list(validator.iter_errors(data))
    except SchemaError:  # the unit's schema was checked when saved; never blame the applicant
        raise ValidationError(
            {"form_data": [_("This item's application form is broken; contact the unit.")]}
        ) from None
    errors: dict[str, list[str]] = {}
    for error in found:
        if not complete and error.validator == "required":
            continue
        errors.setdefault(_field(error), []).append(_message(error))
    if errors:
        raise ValidationError(errors)


def check_materials(implementation, materials, *, complete: bool) -> list[dict]:
    """The materials in their stored form. Only the guide materials this implementation asks
    for are accepted, each once; when `complete`, every required one must be there (those
    accepted now and supplied later, 容缺后补, may be missing)."""
    if not isinstance(materials, list):
        raise ValidationError({"materials": [_("The materials must be a list.")]})
    asked = {
        row.guide_material_id: row
        for row in implementation.materials.select_related("guide_material")
    }
    cleaned, errors = [], {}
    for index, entry in enumerate(materials):
        field = f"materials.{index}"
        if not isinstance(entry, dict):
            errors[field] = [_("Each material must be an object.")]
            continue
        material_id = entry.get("material_id")
        if not isinstance(material_id, int) or material_id not in asked:
            errors[field] = [_("The guide of this item does not ask for this material.")]
            continue
        if any(m["material_id"] == material_id for m in cleaned):
            errors[field] = [_("This material is given twice.")]
            continue
        kind = entry.get("kind")
        stored = {"material_id": material_id, "kind": kind}
        if kind == "upload":
            file_id, sha256 = entry.get("file_id"), entry.get("sha256")
            if not isinstance(file_id, str) or not FILE_ID.fullmatch(file_id):
                errors[field] = [_("The uploaded file is not named correctly.")]
                continue
            if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
                errors[field] = [_("The file's SHA-256 checksum is not valid.")]
                continue
            stored.update(file_id=file_id, sha256=sha256)
        elif kind == "form_section":
            section = asked[material_id].as_form_section
            if not section:
                errors[field] = [_("This material can't be filled in as part of the form.")]
                continue
            stored["section"] = section
        elif kind == "reused":
            number = entry.get("result_case_number")
            if not isinstance(number, str) or not re.fullmatch(r"[0-9A-Z]{39,50}", number):
                errors[field] = [_("Name the case whose result is reused by its number.")]
                continue
            stored["result_case_number"] = number
        elif kind == "license":
            # 免提交: an e-license of the applicant's instead of an upload, with their consent.
            identifier = entry.get("license_identifier")
            if not isinstance(identifier, str) or not 1 <= len(identifier) <= 128:
                errors[field] = [_("Name the e-license used by its identifier.")]
                continue
            if entry.get("consent") is not True:
                errors[field] = [_("Consent to the unit checking the e-license to use it.")]
                continue
            stored.update(license_identifier=identifier, consent=True)
        else:
            errors[field] = [
                _("The kind of a material is one of: %(kinds)s.")
                % {"kinds": ", ".join(MATERIAL_KINDS)}
            ]
            continue
        cleaned.append(stored)
    if complete and not errors:
        given = {m["material_id"] for m in cleaned}
        missing = [
            row.guide_material.name
            for material_id, row in asked.items()
            if row.guide_material.necessity == GuideMaterial.Necessity.REQUIRED
            and material_id not in given
        ]
        if missing:
            errors["materials"] = [
                _("Required materials are missing: %(names)s.") % {"names": "、".join(missing)}
            ]
    if errors:
        raise ValidationError(errors)
    return cleaned
