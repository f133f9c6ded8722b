"""Reuse instead of uploads (免提交): an application is given the applicant's e-license in place of
a material, with consent; the clerk sees it verified; another person's license is refused; the
holder's use log names the case."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from conftest import sign_in_with_second_factor
from shared_apps.licenses import actions as licenses
from shared_apps.licenses.models import License, LicenseUse
from shared_apps.licenses.tests.conftest import holder
from tenant_apps.cases import actions as cases
from tenant_apps.cases.models import Case
from tenant_apps.cases.tests.conftest import GOOD_FORM, case_in, uploads
from tests.helpers import host_of

pytestmark = pytest.mark.django_db


def issued_to(citizen, people, service, tenant):
    case = case_in("decided", service, tenant, citizen)
    case = cases.deliver(case, actor=people.clerk, method="electronic")
    connection.set_schema_to_public()
    return License.objects.get(issuer_tenant=tenant, case_number=case.number)


def license_entry(service, identifier, name="营业执照"):
    row = service.materials.select_related("guide_material").get(guide_material__name=name)
    return {
        "material_id": row.guide_material_id,
        "kind": "license",
        "license_identifier": identifier,
        "consent": True,
    }


def test_reuse_replaces_the_upload_and_is_visible_to_the_clerk(
    client, people, service, license_type, tenant
):
    citizen = holder(people.users, name="冯一")
    license = issued_to(citizen, people, service, tenant)
    connection.set_tenant(tenant)
    draft = cases.save_draft(actor=citizen, implementation=service, form_data=GOOD_FORM)
    materials = [
        *uploads(service, "申请书", case=draft),
        license_entry(service, license.identifier),
    ]
    case = cases.submit(draft, actor=citizen, materials=materials)
    assert {m["kind"] for m in case.materials} == {"upload", "license"}
    connection.set_schema_to_public()
    use = LicenseUse.objects.get(license=license, kind="reused")
    assert use.case_number == case.number and use.unit_name == tenant.name and use.by == "冯一"
    sign_in_with_second_factor(client, people.clerk)
    page = client.get(f"/workbench/cases/{case.public_id}", HTTP_HOST=host_of(tenant))
    text = page.content.decode()
    assert 'class="material-license" data-genuine="1" data-status="valid"' in text
    assert license.identifier in text


def test_the_apply_page_offers_the_license_and_a_ticked_box_gives_it(
    client, people, service, license_type, tenant
):
    citizen = holder(people.users, name="陈二")
    license = issued_to(citizen, people, service, tenant)
    client.force_login(citizen)
    page = client.get(f"/apply/{service.code}", HTTP_HOST=host_of(tenant)).content.decode()
    entry = license_entry(service, license.identifier)
    assert f'name="license-{entry["material_id"]}" value="{license.identifier}"' in page
    others = holder(people.users, name="褚三")
    client.force_login(others)
    page = client.get(f"/apply/{service.code}", HTTP_HOST=host_of(tenant)).content.decode()
    assert license.identifier not in page


def test_another_persons_license_is_refused(people, service, license_type, tenant):
    license = issued_to(holder(people.users, name="卫四"), people, service, tenant)
    stranger = holder(people.users, name="蒋五")
    connection.set_tenant(tenant)
    draft = cases.save_draft(actor=stranger, implementation=service, form_data=GOOD_FORM)
    with pytest.raises(ValidationError) as refused:
        cases.save_draft(
            draft, actor=stranger, materials=[license_entry(service, license.identifier)]
        )
    assert "属于申请人" in str(refused.value)
    assert Case.objects.get(pk=draft.pk).materials == []
    connection.set_schema_to_public()
    assert not LicenseUse.objects.filter(license=license, kind="reused").exists()


def test_revoked_license_or_one_for_another_material_is_refused(
    people, service, license_type, tenant, root
):
    citizen = holder(people.users, name="沈六")
    license = issued_to(citizen, people, service, tenant)
    connection.set_tenant(tenant)
    draft = cases.save_draft(actor=citizen, implementation=service, form_data=GOOD_FORM)
    with pytest.raises(ValidationError) as wrong_material:
        cases.save_draft(
            draft, actor=citizen, materials=[license_entry(service, license.identifier, "申请书")]
        )
    assert "不能代替" in str(wrong_material.value)
    entry = license_entry(service, license.identifier)
    cases.save_draft(draft, actor=citizen, materials=[entry])
    connection.set_schema_to_public()
    licenses.revoke(license.identifier, tenant, actor=root, reason="吊销")
    connection.set_tenant(tenant)
    with pytest.raises(ValidationError) as revoked:
        cases.submit(
            Case.objects.get(pk=draft.pk),
            actor=citizen,
            materials=[*uploads(service, "申请书", case=draft), entry],
        )
    assert "已撤销" in str(revoked.value)
