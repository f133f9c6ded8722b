"""Filled-in applications for demo data and benchmarks: form data that fits an item's JSON Schema
(the required fields, with plausible values) and the material entries its guide asks for. Never
used to file a real citizen's application."""

from django.core.exceptions import ValidationError

from tenant_apps.cases.validation import check_form

# Values for the fields whose pattern a made-up word would not fit.
BY_PATTERN = {
    "^1[3-9][0-9]{9}$": "13800000000",
    "^[0-9]{17}[0-9X]$": "410105199001011233",
    "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$": "91410105MA0000001X",
    "^[A-HJ-NPR-Z0-9]{17}$": "LSVAA4180E2000001",
    "^[0-9]{12,19}$": "6222020200000000001",
}


def _value(field: dict, name: str, person: dict):
    if "enum" in field:
        return field["enum"][0]
    kind = field.get("type")
    if kind in ("integer", "number"):
        low = field.get("minimum", 0)
        high = field.get("maximum", low + 100)
        return int(min(max(low, 1) + 1, high)) if kind == "integer" else min(max(low, 1) + 1, high)
    if kind == "boolean":
        return True
    if kind != "string":
        return None
    if field.get("format") == "date":
        return "2026-01-05"
    pattern = field.get("pattern")
    if pattern:
        if pattern == "^[0-9]{17}[0-9X]$" and person.get("id_number"):
            return person["id_number"]
        if pattern == "^1[3-9][0-9]{9}$" and person.get("phone"):
            return person["phone"]
        return BY_PATTERN.get(pattern)
    if name in ("applicant_name", "legal_representative", "contact_name") and person.get("name"):
        return person["name"][: field.get("maxLength", 50)]
    text = f"示例{field.get('title', name)}"
    return text[: field.get("maxLength", 100)].ljust(field.get("minLength", 0), "。")


def sample_form(schema: dict, person: dict | None = None) -> dict | None:
    """Form data with every required field of `schema` filled, or None if a field can't be
    filled plausibly (the caller skips that item)."""
    person = person or {}
    properties = schema.get("properties", {})
    data = {}
    for name in schema.get("required", []):
        value = _value(properties.get(name, {}), name, person)
        if value is None:
            return None
        data[name] = value
    try:
        check_form(schema, data, complete=True)
    except ValidationError:
        return None
    return data


# A one-page PDF, as small as the upload checks accept: the demo's and the benchmark's scans.
SAMPLE_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


def sample_materials(implementation, attach) -> list[dict]:
    """Every material the implementation asks for: a form section where it may be one, otherwise
    a file stored by `attach(material_id, file_name, content)`, which returns the material entry
    (as `actions.attach_file` or the upload API leave it: file id and SHA-256)."""
    entries = []
    for row in implementation.materials.select_related("guide_material").order_by("id"):
        if row.as_form_section:
            entries.append({"material_id": row.guide_material_id, "kind": "form_section"})
        else:
            name = f"{row.guide_material.name[:40]}.pdf"
            entries.append(attach(row.guide_material_id, name, SAMPLE_PDF))
    return entries


def attach_with(actions, case, actor):
    """An `attach` for `sample_materials` that stores the files on `case` through the action."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def attach(material_id: int, name: str, content: bytes) -> dict:
        stored = actions.attach_file(
            case, actor=actor, material_id=material_id, upload=SimpleUploadedFile(name, content)
        )
        return {
            "material_id": material_id,
            "kind": "upload",
            "file_id": str(stored.public_id),
            "sha256": stored.sha256,
        }

    return attach
