"""Issuing e-licenses at a case's delivery and through department systems; identifiers; both
signatures; rotation; lifecycle; a unit and another unit's licenses."""

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test import override_settings
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from stdnum.cn import uscc

from shared_apps.audit.models import AuditEntry
from shared_apps.licenses import actions, identifiers, queries, signing
from shared_apps.licenses.models import License, LicenseUse, SigningKey, Status
from shared_apps.licenses.tests.conftest import holder
from tenant_apps.cases import actions as cases
from tenant_apps.cases.tests.conftest import case_in

pytestmark = pytest.mark.django_db


def delivered(service, tenant, applicant, clerk):
    case = case_in("decided", service, tenant, applicant)
    case = cases.deliver(case, actor=clerk, method="electronic")
    connection.set_schema_to_public()
    return case, License.objects.get(issuer_tenant=tenant, case_number=case.number)


def test_identifier_structure():
    code = "11410102MB000000" + "1"
    code += uscc.calc_check_digit(code)
    identifier = identifiers.build("11410001TEST", code, 42, 1)
    parts = identifiers.parse(identifier)
    assert identifier.startswith(f"1.2.156.3005.2.11410001TEST.{code}.00000042.001.")
    assert parts["serial"] == 42 and parts["version"] == 1 and len(parts["check"]) == 1
    for bad in [
        f"1.2.156.3005.2.X.{code}.1.01.A",  # version of two digits
        f"1.2.156.3005.1.X.{code}.1.001.A",  # not the e-license arc
        f"1.2.156.3005.2.x.{code}.1.001.A",  # lower-case type code
        f"1.2.156.3005.2.X.{code[:-1]}{'A' if code[-1] != 'A' else 'B'}.1.001.A",  # GB 32100
        f"1.2.156.3005.2.X.{code}.1.001.AB",
        "",
    ]:
        with pytest.raises(identifiers.BadIdentifier):
            identifiers.parse(bad)


def test_approved_case_issues_a_signed_license_at_delivery(people, service, license_type, tenant):
    citizen = holder(people.users)
    case, license = delivered(service, tenant, citizen, people.clerk)
    parts = identifiers.parse(license.identifier)
    assert parts["type_code"] == license_type.code
    assert parts["issuer_code"] == service.department_credit_code == license.issuer_code
    assert license.holder_id_digest == citizen.id_number_digest
    assert license.holder_name == "李四" and license.trust_grade == "A"
    assert license.number == case.number and license.data == {"shop_name": "老王烩面馆"}
    assert license.valid_until == license.issued_on.replace(year=license.issued_on.year + 5)
    assert (
        AuditEntry.objects.filter(action="licenses.issued", target=license.identifier).count() == 1
    )
    result = queries.verify(license.identifier)
    assert result.genuine and result.status == Status.VALID
    assert queries.verify_pdf(bytes(license.pdf)).genuine
    assert LicenseUse.objects.filter(license=license, kind="issued").exists()


def test_refused_case_or_item_without_type_issues_nothing(people, service, tenant):
    citizen = holder(people.users)
    case = case_in("decided", service, tenant, citizen)
    cases.deliver(case, actor=people.clerk, method="pickup")
    connection.set_schema_to_public()
    assert not License.objects.filter(case_number=case.number).exists()


def test_tampered_data_fails(people, service, license_type, tenant):
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    License.objects.filter(pk=license.pk).update(data={"shop_name": "别人的店"})
    result = queries.verify(license.identifier)
    assert not result.genuine and "签名不符" in result.reason


def test_tampered_pdf_fails(people, service, license_type, tenant):
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    pdf = bytes(license.pdf)
    # One changed byte inside the signed range.
    position = pdf.index(b"/Title") + 8
    tampered = pdf[:position] + bytes([pdf[position] ^ 1]) + pdf[position + 1 :]
    result = queries.verify_pdf(tampered)
    assert not result.genuine and "改动" in result.reason
    # Content appended after signing (an incremental update, as an editor saves).
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Subject": license.identifier, "/Title": "伪造"})
    out = io.BytesIO()
    writer.write(out)
    result = queries.verify_pdf(out.getvalue())
    assert not result.genuine, result


def test_wrong_key_fails(people, service, license_type, tenant, other_tenant):
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    stranger = actions._active_key(other_tenant, "ecdsa-p256-sha256")
    # Data signed by another unit's key.
    forged = signing.sign_data(stranger, queries.signed_payload(license))
    License.objects.filter(pk=license.pk).update(data_signature=forged)
    assert not queries.verify(license.identifier).genuine
    # A PDF of this license signed with another unit's key.
    from shared_apps.licenses import documents

    pdf = signing.sign_pdf(stranger, documents.render(license))
    result = queries.verify_pdf(pdf)
    assert not result.genuine and "密钥" in result.reason


def test_rotated_key_still_verifies_old_licenses(people, service, license_type, tenant, root):
    _, old = delivered(service, tenant, holder(people.users), people.clerk)
    new_key = actions.rotate_key(tenant, actor=root)
    assert SigningKey.objects.get(pk=old.key_id).retired_at is not None
    _, newer = delivered(service, tenant, holder(people.users, "赵五"), people.clerk)
    assert newer.key_id == new_key.pk != old.key_id
    assert queries.verify(old.identifier).genuine
    assert queries.verify_pdf(bytes(old.pdf)).genuine
    assert queries.verify(newer.identifier).genuine


def test_sm2_option_signs_and_verifies(people, service, license_type, tenant):
    with override_settings(LICENSE_SIGNATURE_ALGORITHM="sm2-sm3"):
        _, license = delivered(service, tenant, holder(people.users), people.clerk)
    assert license.key.algorithm == "sm2-sm3" and license.pdf_key.algorithm == "ecdsa-p256-sha256"
    assert queries.verify(license.identifier).genuine
    assert queries.verify_pdf(bytes(license.pdf)).genuine
    License.objects.filter(pk=license.pk).update(holder_name="王五")
    assert not queries.verify(license.identifier).genuine


def test_private_keys_are_stored_encrypted(people, service, license_type, tenant):
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    key = SigningKey.objects.get(pk=license.key_id)
    assert b"PRIVATE" not in key.private_key_encrypted.encode()
    assert signing.unwrap(key.private_key_encrypted) != key.private_key_encrypted.encode()


def test_revoked_suspended_expired_and_reissued_are_shown_as_such(
    people, service, license_type, tenant, root
):
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    actions.suspend(license.identifier, tenant, actor=root, reason="核查经营场所")
    assert queries.verify(license.identifier).status == Status.SUSPENDED
    actions.resume(license.identifier, tenant, actor=root)
    assert queries.verify(license.identifier).status == Status.VALID
    new = actions.reissue(
        license.identifier,
        tenant,
        actor=root,
        data={"shop_name": "老王烩面新馆"},
        reason="名称变更",
    )
    assert new.version == 2 and identifiers.parse(new.identifier)["serial"] == license.serial
    old = queries.verify(license.identifier)
    assert old.status == Status.SUPERSEDED and old.replaced_by == new.identifier and old.genuine
    assert queries.verify(new.identifier).genuine
    actions.revoke(new.identifier, tenant, actor=root, reason="以欺骗手段取得许可")
    revoked = queries.verify(new.identifier)
    assert revoked.status == Status.REVOKED and revoked.status_text == "已撤销"
    assert AuditEntry.objects.filter(action="licenses.revoked", target=new.identifier).exists()
    _, other = delivered(service, tenant, holder(people.users), people.clerk)
    License.objects.filter(pk=other.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    # The signature covers validity: an expiry edited in the database is caught, so expire the
    # license as time would, by verifying after its last day.
    assert (
        queries.effective_status(
            License.objects.get(pk=other.pk), today=other.valid_until + timedelta(days=1)
        )
        == "expired"
    )


def test_expired_license_is_shown_as_expired(people, service, root, tenant):
    from shared_apps.licenses.tests.conftest import make_type

    make_type(root, service, validity_years=1)
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    with override_settings(USE_TZ=True):
        later = license.valid_until + timedelta(days=1)
        assert queries.effective_status(license, today=later) == "expired"
        from unittest import mock

        with mock.patch("django.utils.timezone.localdate", return_value=later):
            result = queries.verify(license.identifier)
    assert result.genuine and result.status == "expired" and result.status_text == "已过期"


def test_a_unit_cannot_change_another_units_license(
    people, service, license_type, tenant, other_tenant, root
):
    _, license = delivered(service, tenant, holder(people.users), people.clerk)
    for change in (actions.revoke, actions.suspend):
        with pytest.raises(Http404):
            change(license.identifier, other_tenant, actor=root, reason="越权")
    with pytest.raises(Http404):
        actions.reissue(license.identifier, other_tenant, actor=root, data={}, reason="越权")
    assert queries.verify(license.identifier).status == Status.VALID
