"""一件事一次办: a bundle of items applied for once, with one form and each material once; a case
per item under one bundle number, each on its own clock once accepted."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from shared_apps.catalog import actions as catalog
from shared_apps.catalog.models import Bundle, Implementation
from shared_apps.catalog.queries import bundle_offer, combined_form_schema, combined_materials
from tenant_apps.cases import actions
from tenant_apps.cases.models import Case, State
from tenant_apps.cases.tests.conftest import publish_service, uploads
from tests.helpers import host_of

SIGN = {
    "type": "object",
    "required": ["shop_name", "signboard"],
    "properties": {
        "shop_name": {"type": "string", "maxLength": 20},
        "signboard": {"type": "string", "maxLength": 30},
    },
    "additionalProperties": False,
}


@pytest.fixture
def bundle(root, tenant):
    """开办餐馆一件事: food business licence and signboard permit, both asking for the shop's name
    and the business licence."""
    food = publish_service(root, tenant)
    sign = publish_service(root, tenant)
    connection.set_schema_to_public()
    Implementation.objects.filter(pk=sign.pk).update(form_schema=SIGN)
    return catalog.save_bundle(
        actor=root,
        code=f"KBCG-{tenant.code}-{food.pk}",
        name="开办餐馆一件事",
        items=[food.item, sign.item],
        tenant=tenant,
    )


def post(client, path, tenant, body=None, **headers):
    return client.post(
        path,
        data=json.dumps(body or {}),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
        **headers,
    )


def test_one_form_and_each_material_once(bundle, tenant):
    offer = bundle_offer(bundle, tenant)
    assert len(offer) == 2
    schema = combined_form_schema(offer)
    assert sorted(schema["properties"]) == ["area", "shop_name", "signboard"]
    assert sorted(schema["required"]) == ["area", "shop_name", "signboard"]
    materials = combined_materials(offer)
    # Both guides ask for 申请书, 营业执照 and 经营场所平面图: each asked once, for both items.
    assert sorted(m["name"] for m in materials) == ["申请书", "经营场所平面图", "营业执照"]
    assert all(len(m["material_ids"]) == 2 for m in materials)


def test_a_bundle_applied_for_once_makes_a_case_per_item(client, bundle, people, tenant):
    client.force_login(people.citizen)
    path = f"/api/v1/my/bundles/{bundle.code}"
    # What the applicant fills in: one form, each material once.
    shown = client.get(path, HTTP_HOST=host_of(tenant))
    assert shown.status_code == 200, shown.content
    assert sorted(shown.json()["form_schema"]["properties"]) == ["area", "shop_name", "signboard"]
    assert sorted(m["name"] for m in shown.json()["materials"]) == [
        "申请书",
        "经营场所平面图",
        "营业执照",
    ]
    form = {"shop_name": "老王烩面馆", "area": 60, "signboard": "老王烩面"}
    applied = post(client, path, tenant, {"form_data": form}, HTTP_IDEMPOTENCY_KEY="bundle-1")
    again = post(client, path, tenant, {"form_data": form}, HTTP_IDEMPOTENCY_KEY="bundle-1")
    assert applied.status_code == again.status_code == 201, applied.content
    assert applied.json() == again.json()
    number = applied.json()["bundle_number"]
    connection.set_tenant(tenant)
    drafts = list(Case.objects.filter(bundle_number=number).order_by("id"))
    assert len(drafts) == 2 and {d.state for d in drafts} == {State.DRAFT}
    # Each case keeps its own item's part of the one form.
    assert drafts[0].form_data == {"shop_name": "老王烩面馆", "area": 60}
    assert drafts[1].form_data == {"shop_name": "老王烩面馆", "signboard": "老王烩面"}

    # Submitting needs every item's materials: none is submitted while one lacks them.
    submit = f"/api/v1/my/bundle-applications/{number}/submit"
    refused = post(client, submit, tenant)
    assert refused.status_code == 422
    connection.set_tenant(tenant)
    assert set(Case.objects.filter(bundle_number=number).values_list("state", flat=True)) == {
        State.DRAFT
    }
    for draft in drafts:
        service = Implementation.objects.get(pk=draft.implementation_id)
        connection.set_tenant(tenant)
        actions.save_draft(
            draft,
            actor=people.citizen,
            materials=uploads(service, "申请书", "营业执照", case=draft),
        )
    submitted = post(client, submit, tenant)
    assert submitted.status_code == 200, submitted.content
    assert [c["state"] for c in submitted.json()["cases"]] == ["submitted", "submitted"]
    # Each item is its own case, with its own number and (once accepted) its own clock.
    connection.set_tenant(tenant)
    cases = list(Case.objects.filter(bundle_number=number).order_by("id"))
    assert len({c.number for c in cases}) == 2
    accepted = actions.accept(cases[0], actor=people.clerk)
    assert accepted.clock_state == "running"
    cases[1].refresh_from_db()
    assert cases[1].clock_state == "not_started"


def test_bad_bundle_applications_are_refused(client, bundle, people, tenant, other_tenant):
    client.force_login(people.citizen)
    path = f"/api/v1/my/bundles/{bundle.code}"
    wrong = post(client, path, tenant, {"form_data": {"colour": "红"}})
    assert wrong.status_code == 422
    unknown = post(
        client,
        path,
        tenant,
        {"form_data": {}, "materials": [{"name": "户口本", "kind": "form_section"}]},
    )
    assert unknown.status_code == 422
    # A unit's bundle is not offered by another unit.
    assert post(client, path, other_tenant, {"form_data": {}}).status_code == 404
    assert post(client, "/api/v1/my/bundles/NOPE", tenant, {"form_data": {}}).status_code == 404
    # Another person's bundle application is not found.
    connection.set_tenant(tenant)
    [draft, *_rest] = actions.apply_bundle(bundle, actor=people.citizen, form_data={})
    client.force_login(people.other_citizen)
    foreign = post(client, f"/api/v1/my/bundle-applications/{draft.bundle_number}/submit", tenant)
    assert foreign.status_code == 404


def test_bundles_are_defined_by_their_units_administrator(root, people, tenant, bundle):
    items = list(bundle.items.all())
    with pytest.raises(PermissionDenied):
        catalog.save_bundle(
            actor=people.clerk, code="X1", name="一件事", items=items, tenant=tenant
        )
    with pytest.raises(PermissionDenied):  # province-wide: provincial administrators only
        catalog.save_bundle(actor=people.clerk, code="X1", name="一件事", items=items)
    with pytest.raises(ValidationError):
        catalog.save_bundle(actor=root, code="X1", name="一件事", items=items[:1])
    with pytest.raises(ValidationError):
        catalog.save_bundle(actor=root, code="X\x001", name="一件事", items=items)
    province_wide = catalog.save_bundle(actor=root, code="X1", name="一件事", items=items)
    assert province_wide.tenant is None
    assert Bundle.objects.get(code="X1").items.count() == 2


def test_the_units_administrator_defines_a_bundle_through_the_api(client, root, people, tenant):
    from conftest import sign_in_with_second_factor
    from shared_apps.accounts.models import Role

    first, second = publish_service(root, tenant), publish_service(root, tenant)
    codes = sorted([first.item.code, second.item.code])
    admin = people.staff("b-admin", Role.TENANT_ADMIN)
    sign_in_with_second_factor(client, admin)
    path = f"/api/v1/bundles/KBCG-API-{first.pk}"

    def put(body):
        return client.put(
            path, json.dumps(body), content_type="application/json", HTTP_HOST=host_of(tenant)
        )

    done = put({"name": "开办餐馆一件事", "item_codes": codes})
    assert done.status_code == 200, done.content
    assert done.json() == {
        "code": f"KBCG-API-{first.pk}",
        "name": "开办餐馆一件事",
        "item_codes": codes,
    }
    assert put({"name": "x", "item_codes": [codes[0], codes[0]]}).status_code == 422
    assert put({"name": "x", "item_codes": [codes[0], "410199999000"]}).status_code == 422
    assert put({"name": "x" * 201, "item_codes": codes}).status_code == 422
    sign_in_with_second_factor(client, people.clerk)
    assert put({"name": "开办餐馆一件事", "item_codes": codes}).status_code == 403
