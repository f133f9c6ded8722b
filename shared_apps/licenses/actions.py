"""Every write to the e-license library: one function per act, each one transaction with its
actor and one audit entry. Issuing signs the data and the PDF with the issuing unit's active key
(created on first use); suspension, revocation and reissue are the issuing unit's alone: another
unit's license is not found (404), whatever identifier is sent."""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import get_random_string
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from shared_apps.accounts.identity import (
    decrypt_id_number,
    encrypt_id_number,
    id_number_digest,
    mask_id_number,
    normalize_id_number,
)
from shared_apps.audit.actions import Actor, record_audit
from shared_apps.catalog.models import BasicItem
from shared_apps.licenses import documents, identifiers, queries, signing
from shared_apps.licenses.models import (
    Algorithm,
    HolderKind,
    License,
    LicenseShare,
    LicenseType,
    LicenseUse,
    SerialCounter,
    SigningKey,
    Source,
    Status,
    TrustGrade,
    UseKind,
)

MAX_REASON = 500


def _text(value, field: str, *, max_length: int, required: bool = True) -> str:
    if not isinstance(value, str):
        value = ""
    value = value.strip()
    if "\x00" in value:
        raise ValidationError({field: ["内容含有不允许的空字符。"]})
    if required and not value:
        raise ValidationError({field: ["此项必填。"]})
    if len(value) > max_length:
        raise ValidationError({field: [f"不能超过 {max_length} 个字符。"]})
    return value


# --- the catalog of license types (证照目录) ---------------------------------------------------


def save_license_type(
    *,
    actor,
    code: str,
    name: str,
    issuing_level: int,
    fields_schema: dict | None = None,
    validity_years: int | None = None,
    stands_for: list[str] | None = None,
    item_codes: list[str] | None = None,
    request=None,
) -> LicenseType:
    """Add a license type to the catalog or change it (by its type code)."""
    if not isinstance(code, str) or not identifiers.TYPE_CODE.fullmatch(code):
        raise ValidationError({"code": ["证照类型代码为 1–32 位数字或大写字母。"]})
    name = _text(name, "name", max_length=100)
    fields_schema = fields_schema or {}
    try:
        Draft202012Validator.check_schema(fields_schema)
    except SchemaError as error:
        raise ValidationError(
            {"fields_schema": [f"照面信息的 JSON Schema 无效：{error.message}"]}
        ) from None
    items = list(BasicItem.objects.filter(code__in=item_codes or []))
    if len(items) != len(set(item_codes or [])):
        raise ValidationError({"item_codes": ["有事项编码不在统一事项目录中。"]})
    with transaction.atomic():
        license_type, created = LicenseType.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "issuing_level": issuing_level,
                "fields_schema": fields_schema,
                "validity_years": validity_years,
                "stands_for": [_text(s, "stands_for", max_length=200) for s in stands_for or []],
            },
        )
        license_type.items.set(items)
        record_audit(
            actor=actor,
            action="licenses.type_saved",
            target=code,
            data={"created": created, "name": name, "items": [i.code for i in items]},
            request=request,
        )
    return license_type


# --- keys ----------------------------------------------------------------------------------


def _new_key(tenant, algorithm: str) -> SigningKey:
    key_id = f"{tenant.code}-{timezone.localdate():%Y%m%d}-{get_random_string(8).lower()}"
    made = signing.generate(algorithm, unit_name=tenant.name, key_id=key_id)
    return SigningKey.objects.create(
        key_id=key_id,
        tenant=tenant,
        algorithm=algorithm,
        public_key=made.public_key,
        private_key_encrypted=signing.wrap(made.private_key),
        certificate=made.certificate,
    )


def _active_key(tenant, algorithm: str) -> SigningKey:
    """The unit's active key of the algorithm, made on first use (locked: two first issues at
    once make one)."""
    key = (
        SigningKey.objects.select_for_update()
        .filter(tenant=tenant, algorithm=algorithm, retired_at__isnull=True)
        .first()
    )
    return key or _new_key(tenant, algorithm)


def rotate_key(tenant, *, actor, algorithm: str = Algorithm.ECDSA_P256, request=None) -> SigningKey:
    """Retire the unit's active key and make a new one. What the old key signed keeps verifying:
    each license names its key, and retired keys are kept."""
    if algorithm not in Algorithm.values:
        raise ValidationError({"algorithm": ["不支持的签名算法。"]})
    with transaction.atomic():
        old = (
            SigningKey.objects.select_for_update()
            .filter(tenant=tenant, algorithm=algorithm, retired_at__isnull=True)
            .first()
        )
        if old is not None:
            old.retired_at = timezone.now()
            old.save(update_fields=["retired_at"])
        new = _new_key(tenant, algorithm)
        record_audit(
            actor=actor,
            action="licenses.key_rotated",
            target=new.key_id,
            tenant=tenant,
            data={"algorithm": algorithm, "retired": old.key_id if old else ""},
            request=request,
        )
    return new


# --- issuing -------------------------------------------------------------------------------


def _check_data(license_type: LicenseType, data) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"data": ["照面信息须为对象。"]})
    if license_type.fields_schema:
        errors = sorted(Draft202012Validator(license_type.fields_schema).iter_errors(data), key=str)
        if errors:
            raise ValidationError(
                {
                    "data": [
                        f"照面信息不符合证照类型“{license_type.name}”的要求：{errors[0].message}"
                    ]
                }
            )
    return data


def _years_after(day: date, years: int | None) -> date | None:
    if not years:
        return None  # long-term (长期有效)
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _next_serial(type_code: str, issuer_code: str) -> int:
    counter, _ = SerialCounter.objects.get_or_create(type_code=type_code, issuer_code=issuer_code)
    counter = SerialCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def _sign(license: License, tenant, request=None) -> None:
    """Sign the data (the configured algorithm) and render and sign the PDF (PAdES, ECDSA)."""
    license.key = _active_key(tenant, settings.LICENSE_SIGNATURE_ALGORITHM)
    license.pdf_key = (
        license.key
        if license.key.algorithm == Algorithm.ECDSA_P256
        else _active_key(tenant, Algorithm.ECDSA_P256)
    )
    license.data_signature = signing.sign_data(license.key, queries.signed_payload(license))
    license.pdf = signing.sign_pdf(license.pdf_key, documents.render(license, request))
    license.pdf_sha256 = signing.sha256(license.pdf)


def issue(
    *,
    actor,
    license_type: LicenseType,
    tenant,
    issuer_name: str,
    issuer_code: str,
    holder_kind: str,
    holder_name: str,
    holder_id_number: str = "",
    holder_credit_code: str = "",
    number: str,
    data: dict,
    trust_grade: str = TrustGrade.A,
    source: str = Source.CASE,
    case_number: str = "",
    issued_on: date | None = None,
    request=None,
) -> License:
    """Issue a license of `license_type` by `tenant` (its department `issuer_code`): the
    identifier per GB/T 36904, the validity from the type's rules, the data checked against the
    type's fields, both signatures; in the caller's transaction when there is one."""
    if holder_kind == HolderKind.PERSON and not holder_id_number:
        raise ValidationError({"holder": ["持证人没有登记身份证号，无法签发电子证照。"]})
    holder_id_number = normalize_id_number(holder_id_number) if holder_id_number else ""
    if holder_kind == HolderKind.ORGANISATION and not holder_credit_code:
        raise ValidationError({"holder": ["持证单位须有统一社会信用代码。"]})
    data = _check_data(license_type, data)
    issued_on = issued_on or timezone.localdate()
    with transaction.atomic():
        serial = _next_serial(license_type.code, issuer_code)
        license = License(
            identifier=identifiers.build(license_type.code, issuer_code, serial, 1),
            license_type=license_type,
            serial=serial,
            version=1,
            name=license_type.name,
            number=_text(number, "number", max_length=50),
            holder_kind=holder_kind,
            holder_name=_text(holder_name, "holder_name", max_length=200),
            holder_id_digest=id_number_digest(holder_id_number) if holder_id_number else "",
            holder_id_masked=mask_id_number(holder_id_number) if holder_id_number else "",
            holder_id_encrypted=encrypt_id_number(holder_id_number) if holder_id_number else "",
            holder_credit_code=holder_credit_code,
            issuer_tenant=tenant,
            issuer_name=issuer_name[:200],
            issuer_code=issuer_code,
            jurisdiction_code=tenant.code,
            issued_on=issued_on,
            valid_until=_years_after(issued_on, license_type.validity_years),
            data=data,
            trust_grade=trust_grade,
            source=source,
            case_number=case_number,
        )
        _sign(license, tenant, request)
        license.save()
        _use(license, UseKind.ISSUED, Actor.of(actor), tenant=tenant, case_number=case_number)
        record_audit(
            actor=actor,
            action="licenses.issued",
            target=license.identifier,
            tenant=tenant,
            data={
                "type": license_type.code,
                "number": license.number,
                "source": source,
                "trust_grade": trust_grade,
                "key": license.key.key_id,
            },
            request=request,
        )
    return license


def _use(license, kind, who: Actor, *, tenant=None, case_number="", details="") -> LicenseUse:
    return LicenseUse.objects.create(
        license=license,
        at=timezone.now(),
        kind=kind,
        by=who.user.display_name if who.user is not None else who.name,
        unit_name=tenant.name if tenant is not None else "",
        case_number=case_number,
        details=details[:300],
    )


# --- lifecycle: the issuing unit's own licenses ---------------------------------------------


def _own(identifier: str, tenant) -> License:
    """The issuing unit's license, locked; 404 for another unit's (nothing said about it)."""
    license = (
        License.objects.select_for_update()
        .defer("pdf")
        .filter(identifier=identifier, issuer_tenant=tenant)
        .first()
    )
    if license is None:
        raise Http404
    return license


def _change_status(identifier, tenant, *, actor, to: str, allowed_from, reason, action, request):
    reason = _text(reason, "reason", max_length=MAX_REASON, required=to != Status.VALID)
    with transaction.atomic():
        license = _own(identifier, tenant)
        if license.status not in allowed_from:
            raise ValidationError(
                {"status": [f"证照当前为“{license.get_status_display()}”，不能这样变更。"]}
            )
        old = license.status
        license.status, license.status_reason = to, reason
        license.status_changed_at = timezone.now()
        license.save(update_fields=["status", "status_reason", "status_changed_at"])
        _use(
            license, UseKind.STATUS, Actor.of(actor), tenant=tenant, details=f"{old}→{to} {reason}"
        )
        record_audit(
            actor=actor,
            action=action,
            target=license.identifier,
            tenant=tenant,
            data={"old": old, "new": to, "reason": reason},
            request=request,
        )
    return license


def suspend(identifier: str, tenant, *, actor, reason: str, request=None) -> License:
    """暂停: the license does not count until resumed."""
    return _change_status(
        identifier,
        tenant,
        actor=actor,
        to=Status.SUSPENDED,
        allowed_from={Status.VALID},
        reason=reason,
        action="licenses.suspended",
        request=request,
    )


def resume(identifier: str, tenant, *, actor, reason: str = "", request=None) -> License:
    return _change_status(
        identifier,
        tenant,
        actor=actor,
        to=Status.VALID,
        allowed_from={Status.SUSPENDED},
        reason=reason,
        action="licenses.resumed",
        request=request,
    )


def revoke(identifier: str, tenant, *, actor, reason: str, request=None) -> License:
    """撤销 (with its reason): final."""
    return _change_status(
        identifier,
        tenant,
        actor=actor,
        to=Status.REVOKED,
        allowed_from={Status.VALID, Status.SUSPENDED},
        reason=reason,
        action="licenses.revoked",
        request=request,
    )


def reissue(identifier: str, tenant, *, actor, data: dict, reason: str, request=None) -> License:
    """换发 after a change: a new version (same serial, version + 1) with the new data, signed
    anew; the old version is superseded at once."""
    reason = _text(reason, "reason", max_length=MAX_REASON)
    with transaction.atomic():
        old = _own(identifier, tenant)
        if old.status not in (Status.VALID, Status.SUSPENDED):
            raise ValidationError(
                {"status": [f"证照当前为“{old.get_status_display()}”，不能换发。"]}
            )
        if old.version >= 999:
            raise ValidationError({"version": ["版本号已用尽。"]})
        new = License.objects.get(pk=old.pk)
        new.pk = new.id = None
        new.version = old.version + 1
        new.identifier = identifiers.build(
            old.license_type.code, old.issuer_code, old.serial, new.version
        )
        new.data = _check_data(old.license_type, data)
        new.issued_on = timezone.localdate()
        new.status, new.status_reason, new.status_changed_at = Status.VALID, "", None
        new.replaces = old
        _sign(new, tenant, request)
        new.save(force_insert=True)
        old.status, old.status_reason = Status.SUPERSEDED, reason
        old.status_changed_at = timezone.now()
        old.save(update_fields=["status", "status_reason", "status_changed_at"])
        _use(new, UseKind.ISSUED, Actor.of(actor), tenant=tenant, details=reason)
        record_audit(
            actor=actor,
            action="licenses.reissued",
            target=new.identifier,
            tenant=tenant,
            data={"replaces": old.identifier, "reason": reason, "key": new.key.key_id},
            request=request,
        )
    return new


def issue_for_case(case, *, actor, tenant, request=None) -> License | None:
    """At delivery (送达) of an approved case whose item produces a license: issue it, trust
    grade A, in the delivering transaction, to the applicant (or the organisation applying),
    with the form's values for the type's fields. Once per case; None when the item produces
    no license."""
    from shared_apps.accounts.models import Organisation, User
    from shared_apps.catalog.models import Implementation

    implementation = Implementation.objects.get(pk=case.implementation_id)
    license_type = LicenseType.objects.filter(items=implementation.item_id).first()
    if license_type is None:
        return None
    already = License.objects.filter(issuer_tenant=tenant, case_number=case.number).first()
    if already is not None:
        return already
    if case.organisation_id:
        organisation = Organisation.objects.get(pk=case.organisation_id)
        holder = {
            "holder_kind": HolderKind.ORGANISATION,
            "holder_name": organisation.name,
            "holder_credit_code": organisation.credit_code,
        }
    else:
        applicant = User.objects.get(pk=case.applicant_id)
        encrypted = applicant.id_number_encrypted
        holder = {
            "holder_kind": HolderKind.PERSON,
            "holder_name": applicant.display_name,
            "holder_id_number": decrypt_id_number(encrypted) if encrypted else "",
        }
    fields = license_type.fields_schema.get("properties", {})
    return issue(
        actor=actor,
        license_type=license_type,
        tenant=tenant,
        issuer_name=f"{tenant.name}{implementation.department_name}",
        issuer_code=implementation.department_credit_code,
        number=case.number,
        data={k: v for k, v in (case.form_data or {}).items() if k in fields},
        trust_grade=TrustGrade.A,
        source=Source.CASE,
        case_number=case.number,
        request=request,
        **holder,
    )


# --- the holder's wallet ------------------------------------------------------------------------

MAX_SHARE_HOURS = 24 * 30
SHARE_CODE_LENGTH = 12


def record_download(license: License, *, actor, request=None) -> None:
    """The holder (or a person acting for the organisation) downloaded the PDF."""
    who = Actor.of(actor)
    with transaction.atomic():
        _use(license, UseKind.DOWNLOADED, who)
        record_audit(
            actor=who,
            action="licenses.downloaded",
            target=license.identifier,
            tenant=license.issuer_tenant,
            request=request,
        )


def share(license: License, *, actor, hours: int, request=None) -> tuple[LicenseShare, str]:
    """Share a license for `hours` (1 … 720): the code, shown once, opens it with the holder's
    name until then."""
    if not isinstance(hours, int) or not 1 <= hours <= MAX_SHARE_HOURS:
        raise ValidationError({"hours": [f"分享时长为 1–{MAX_SHARE_HOURS} 小时。"]})
    if queries.effective_status(license) != Status.VALID:
        raise ValidationError({"license": ["只有有效的证照可以分享。"]})
    who = Actor.of(actor)
    # Letters and digits that can't be mistaken for one another when read out.
    code = get_random_string(SHARE_CODE_LENGTH, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    with transaction.atomic():
        row = LicenseShare.objects.create(
            license=license,
            code_digest=signing.sha256(code.encode()),
            created_by_id=who.user.pk,
            expires_at=timezone.now() + timedelta(hours=hours),
        )
        _use(license, UseKind.SHARED, who, details=f"{hours} 小时")
        record_audit(
            actor=who,
            action="licenses.shared",
            target=license.identifier,
            tenant=license.issuer_tenant,
            data={"hours": hours, "share": row.pk},
            request=request,
        )
    return row, code


def open_share(code: str, *, actor, request=None) -> License | None:
    """The license a valid share code opens (recorded in the holder's use log), or None."""
    if not isinstance(code, str) or len(code) != SHARE_CODE_LENGTH:
        return None
    with transaction.atomic():
        row = (
            LicenseShare.objects.select_related("license")
            .filter(
                code_digest=signing.sha256(code.upper().encode()),
                expires_at__gt=timezone.now(),
                withdrawn_at__isnull=True,
            )
            .first()
        )
        if row is None:
            return None
        who = Actor.of(actor)
        _use(row.license, UseKind.SHARE_OPENED, who, details=f"分享 {row.pk}")
        record_audit(
            actor=who,
            action="licenses.share_opened",
            target=row.license.identifier,
            tenant=row.license.issuer_tenant,
            data={"share": row.pk},
            request=request,
        )
    return row.license


def record_reuse(license: License, *, actor, tenant, case_number: str, request=None) -> None:
    """用证: a case of `tenant` was given this license instead of an upload, with the applicant's
    consent (the ticked box). Once per license and case."""
    who = Actor.of(actor)
    if LicenseUse.objects.filter(
        license=license, kind=UseKind.REUSED, case_number=case_number
    ).exists():
        return
    with transaction.atomic():
        _use(license, UseKind.REUSED, who, tenant=tenant, case_number=case_number)
        record_audit(
            actor=who,
            action="licenses.reused",
            target=license.identifier,
            tenant=tenant,
            data={"case": case_number},
            request=request,
        )


# --- after IDENTITY_KEY was rotated --------------------------------------------------------------


def rekey_after_identity_rotation(*, actor, after_id: int = 0, batch_size: int = 500) -> tuple:
    """One step of `rotate_license_keys`: the signing keys' private keys (on the first step) and a
    batch of licenses' holder ID numbers re-encrypted, and their digests re-keyed, under the
    current IDENTITY_KEY. (last license id, licenses changed); 0 changed: done."""
    with transaction.atomic():
        keys = 0
        if after_id == 0:
            fernet = signing._fernet()
            for key in SigningKey.objects.select_for_update():
                key.private_key_encrypted = fernet.rotate(
                    key.private_key_encrypted.encode()
                ).decode()
                key.save(update_fields=["private_key_encrypted"])
                keys += 1
        rows = list(
            License.objects.select_for_update()
            .defer("pdf")
            .filter(pk__gt=after_id)
            .exclude(holder_id_encrypted="")
            .order_by("pk")[:batch_size]
        )
        for license in rows:
            number = decrypt_id_number(license.holder_id_encrypted)
            license.holder_id_digest = id_number_digest(number)
            license.holder_id_encrypted = encrypt_id_number(number)
            license.save(update_fields=["holder_id_digest", "holder_id_encrypted"])
        last = rows[-1].pk if rows else after_id
        record_audit(
            actor=actor,
            action="licenses.rekeyed",
            data={"keys": keys, "licenses": len(rows), "up_to": last},
        )
    return last, len(rows)
