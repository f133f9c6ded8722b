"""Reads of the e-license library: the signed payload, verification (by identifier, or of a PDF),
and a holder's licenses."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from shared_apps.licenses import identifiers, signing
from shared_apps.licenses.models import License, LicenseUse, Status


def signed_payload(license: License) -> dict:
    """What the data signature covers: every printed field, not the status (which changes) nor
    the holder's ID-number digest (keyed with IDENTITY_KEY, which rotates)."""
    return {
        "identifier": license.identifier,
        "type_code": license.license_type.code,
        "name": license.name,
        "number": license.number,
        "holder_kind": license.holder_kind,
        "holder_name": license.holder_name,
        "holder_id": license.holder_credit_code or license.holder_id_masked,
        "issuer_name": license.issuer_name,
        "issuer_code": license.issuer_code,
        "jurisdiction_code": license.jurisdiction_code,
        "issued_on": license.issued_on.isoformat(),
        "valid_until": license.valid_until.isoformat() if license.valid_until else None,
        "data": license.data,
        "trust_grade": license.trust_grade,
        "key_id": license.key.key_id,
    }


EXPIRED = "expired"
STATUS_TEXT = {
    Status.VALID: "有效",
    EXPIRED: "已过期",
    Status.SUSPENDED: "已暂停使用",
    Status.REVOKED: "已撤销",
    Status.SUPERSEDED: "已换发（以新版本为准）",
}


@dataclass
class Verification:
    """The public answer: genuine or not (and why not), the status, the issuer — nothing about
    the holder."""

    identifier: str
    found: bool
    genuine: bool = False
    reason: str = ""
    status: str = ""
    status_text: str = ""
    status_reason: str = ""
    name: str = ""
    issuer_name: str = ""
    issuer_code: str = ""
    issued_on: date | None = None
    valid_until: date | None = None
    trust_grade: str = ""
    replaced_by: str = ""


def effective_status(license: License, today: date | None = None) -> str:
    if license.status != Status.VALID:
        return license.status
    today = today or timezone.localdate()
    if license.valid_until is not None and license.valid_until < today:
        return EXPIRED
    return Status.VALID


def _lookup(identifier: str) -> License | None:
    return (
        License.objects.defer("pdf")
        .select_related("license_type", "key")
        .filter(identifier=identifier)
        .first()
    )


def _answer(license: License, *, problem: str = "") -> Verification:
    if not problem and not signing.data_signature_valid(
        license.key, signed_payload(license), license.data_signature
    ):
        problem = "证照数据与签发单位的签名不符：数据在签发后被改动，或不是该单位签发的。"
    status = effective_status(license)
    replaced_by = ""
    if license.status == Status.SUPERSEDED:
        newer = License.objects.filter(replaces=license).values_list("identifier", flat=True)
        replaced_by = newer.first() or ""
    # The reason of a suspension or revocation is the unit's statement and may name the holder:
    # only its kind is public.
    return Verification(
        identifier=license.identifier,
        found=True,
        genuine=not problem,
        reason=problem,
        status=status,
        status_text=STATUS_TEXT[status],
        name=license.name,
        issuer_name=license.issuer_name,
        issuer_code=license.issuer_code,
        issued_on=license.issued_on,
        valid_until=license.valid_until,
        trust_grade=license.trust_grade,
        replaced_by=replaced_by,
    )


def verify(identifier: str) -> Verification:
    """Check a license by its identifier: its structure, that the library has it, that its data
    still matches its signature, and its status today."""
    try:
        identifiers.parse(identifier)
    except identifiers.BadIdentifier as bad:
        return Verification(identifier=identifier[:128], found=False, reason=str(bad))
    license = _lookup(identifier)
    if license is None:
        return Verification(
            identifier=identifier, found=False, reason="电子证照库中没有这个标识的证照。"
        )
    return _answer(license)


def verify_pdf(pdf: bytes) -> Verification:
    """Check a license's PDF: its PAdES signature intact, over the whole file, made with the key
    of the license it names; then the license itself as `verify` does."""
    reading = signing.read_subject(pdf)
    if reading.problem:
        return Verification(identifier="", found=False, reason=reading.problem)
    try:
        identifiers.parse(reading.subject)
    except identifiers.BadIdentifier:
        return Verification(
            identifier="",
            found=False,
            reason="PDF 没有注明电子证照标识，不是本平台签发的证照文件。",
        )
    license = _lookup(reading.subject)
    if license is None:
        return Verification(
            identifier=reading.subject, found=False, reason="电子证照库中没有这个标识的证照。"
        )
    check = signing.check_pdf(pdf, License.objects.get(pk=license.pk).pdf_key)
    return _answer(license, problem=check.problem)


def licenses_of(*, id_digests: list[str] = (), credit_codes: list[str] = ()):
    """A holder's licenses (a person by the digests of their ID number under every accepted key,
    organisations by credit code), newest first, without their PDFs."""
    from django.db.models import Q

    where = Q(pk__in=[])
    if id_digests:
        where |= Q(holder_kind="person", holder_id_digest__in=list(id_digests))
    if credit_codes:
        where |= Q(holder_kind="organisation", holder_credit_code__in=list(credit_codes))
    return (
        License.objects.defer("pdf")
        .select_related("license_type")
        .filter(where)
        .order_by("-issued_on", "-id")
    )


def holder_keys(user) -> tuple[list[str], list[str]]:
    """(ID-number digests, credit codes) a person holds licenses under: their ID number under
    every accepted key (licenses keep the digest they were issued with), and the organisations
    they are the legal representative of."""
    from shared_apps.accounts.identity import decrypt_id_number, id_number_digests
    from shared_apps.accounts.models import Organisation

    digests = [user.id_number_digest] if user.id_number_digest else []
    if user.id_number_encrypted:  # read to match, never shown
        digests = id_number_digests(decrypt_id_number(user.id_number_encrypted))
    codes = list(
        Organisation.objects.filter(legal_representative=user).values_list("credit_code", flat=True)
    )
    return digests, codes


def wallet(user):
    digests, codes = holder_keys(user)
    return licenses_of(id_digests=digests, credit_codes=codes)


def held_license(user, identifier: str) -> License | None:
    """One of the person's licenses (None for anyone else's: the caller answers 404)."""
    return wallet(user).filter(identifier=identifier).first()


def uses_of(license: License):
    return LicenseUse.objects.filter(license=license).order_by("-at", "-id")


# --- reuse instead of uploads (免提交) --------------------------------------------------------------


def offered_for(user, material_names: list[str]) -> dict[str, list[License]]:
    """Per guide material name, the person's valid, genuine licenses that stand in for it."""
    offered: dict[str, list[License]] = {}
    if not material_names:
        return offered
    for license in wallet(user).filter(status=Status.VALID).select_related("key"):
        if effective_status(license) != Status.VALID:
            continue
        for name in license.license_type.stands_for:
            if name in material_names:
                offered.setdefault(name, []).append(license)
    return offered


def reusable_license(identifier: str, *, holder, material_name: str) -> License:
    """The license an application may give instead of `material_name`: the applicant's own (or
    their organisation's), valid today, genuine, of a type standing in for that material. A
    ValidationError in Chinese otherwise; another person's license is "not found", as is one
    that does not exist."""
    from django.core.exceptions import ValidationError

    license = held_license(holder, identifier) if isinstance(identifier, str) else None
    if license is None:
        raise ValidationError("没有这个标识的、属于申请人的电子证照。")
    if material_name not in license.license_type.stands_for:
        raise ValidationError(f"{license.name}不能代替“{material_name}”。")
    status = effective_status(license)
    if status != Status.VALID:
        raise ValidationError(f"{license.name}{STATUS_TEXT[status]}，不能使用。")
    result = _answer(License.objects.select_related("key", "license_type").get(pk=license.pk))
    if not result.genuine:
        raise ValidationError(f"{license.name}核验未通过：{result.reason}")
    return license
