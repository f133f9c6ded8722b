"""The application form of an item, rendered from its JSON Schema and read back from a page's POST.

Each top-level property becomes one field named `form-<property>`: a string as a text input (a
textarea when it may be long, a date input for `format: date`, a select for an `enum`), numbers
and integers as number inputs, a boolean as a yes/no select, anything nested as JSON text. What
the person typed is read into the form data the actions check against the schema
(validation.check_form); what can't even be read (a number that is not one, NUL bytes, far too
long) is reported here, beside the field, in the same words.
"""

import json
import math
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# Whatever the schema allows, a field's text is never longer than this when read from a page.
MAX_FIELD_CHARS = 10_000
LONG_TEXT = 200
PREFIX = "form-"


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text, textarea, date, choice, number, integer, boolean, json
    required: bool
    value: str = ""
    choices: list = field(default_factory=list)
    max_length: int | None = None
    help: str = ""
    errors: list = field(default_factory=list)

    @property
    def html_name(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def html_id(self) -> str:
        return f"id-{PREFIX}{self.name}"


def _kind(spec: dict) -> str:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        return "choice"
    if kind == "string":
        if spec.get("format") == "date":
            return "date"
        if (spec.get("maxLength") or MAX_FIELD_CHARS) > LONG_TEXT:
            return "textarea"
        return "text"
    if kind in ("number", "integer", "boolean"):
        return kind
    if kind in ("object", "array"):
        return "json"
    return "text"


def _shown(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value is True else "false" if value is False else ""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def fields_of(schema: dict, data: dict | None = None) -> list[FormField]:
    """The form's fields in the schema's order, showing `data` (a draft's answers, or what was
    just typed)."""
    properties = (schema or {}).get("properties") or {}
    required = set((schema or {}).get("required") or [])
    data = data or {}
    fields = []
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        kind = _kind(spec)
        fields.append(
            FormField(
                name=name,
                label=str(spec.get("title") or name),
                kind=kind,
                required=name in required,
                value=_shown(data.get(name), kind),
                choices=[str(c) for c in spec.get("enum", [])],
                max_length=spec.get("maxLength") if kind in ("text", "textarea") else None,
                help=str(spec.get("description") or ""),
            )
        )
    return fields


def _read(raw: str, kind: str, spec: dict):
    """The value of one field's text, or ValueError with the message for the person."""
    if kind in ("text", "textarea", "date"):
        return raw
    if kind == "choice":
        for option in spec.get("enum", []):
            if str(option) == raw:
                return option
        raise ValueError(_("Choose one of the listed values."))
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(_("Enter a whole number.")) from None
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(_("Enter a number.")) from None
        if not math.isfinite(number):
            raise ValueError(_("Enter a number."))
        return (
            int(number)
            if number.is_integer() and "." not in raw and "e" not in raw.lower()
            else number
        )
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError(_("Choose yes or no."))
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(_("Enter valid JSON.")) from None


def read_form(schema: dict, post) -> tuple[dict, list[FormField]]:
    """(form data, fields showing what was typed, with the errors of what could not be read)."""
    properties = (schema or {}).get("properties") or {}
    fields = fields_of(schema)
    data = {}
    for form_field in fields:
        raw = post.get(form_field.html_name, "")
        if not isinstance(raw, str):
            raw = ""
        if "\x00" in raw:
            form_field.errors.append(_("This text contains invalid characters."))
            continue
        if len(raw) > MAX_FIELD_CHARS:
            form_field.errors.append(
                _("At most %(count)s characters.") % {"count": MAX_FIELD_CHARS}
            )
            continue
        raw = raw.strip()
        form_field.value = raw
        if not raw:
            continue  # left out: a draft may, a submission is told it is required
        try:
            data[form_field.name] = _read(raw, form_field.kind, properties[form_field.name])
        except ValueError as error:
            form_field.errors.append(str(error))
    return data, fields


def place_errors(fields: list[FormField], errors: dict) -> list[str]:
    """Put the actions' errors (`form_data.<name>…`) beside their fields, except on fields that
    could not even be read (their own message says why); the other messages are returned."""
    by_name = {f.name: f for f in fields}
    unread = {f.name for f in fields if f.errors}
    rest = []
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "form_data" and len(parts) > 1 and parts[1] in by_name:
            if parts[1] not in unread:
                found = by_name[parts[1]].errors
                found.extend(m for m in messages if m not in found)
        elif key.startswith("form_data") or not key.startswith("materials"):
            rest.extend(messages)
    return rest
