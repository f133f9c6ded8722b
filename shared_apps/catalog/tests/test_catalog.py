import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from shared_apps.catalog import actions, queries
from shared_apps.catalog.codes import (
    implementation_code,
    validate_basic_code,
    validate_implementation_code,
)
from shared_apps.catalog.models import GuideVersion, Implementation, OnlineDepth
from shared_apps.catalog.tests.conftest import make_department
from tenants.models import Tenant


@pytest.mark.parametrize("code", ["410100001000", "41010000100Y", "412000002001", "410700015999"])
def test_valid_basic_codes(code):
    assert validate_basic_code(code) == code


@pytest.mark.parametrize(
    "code, message",
    [
        ("41010000100", "12 位"),
        ("41010000100X", "子项"),
        ("419900001000", "未知的事项类型"),
        ("4101000A1000", "子项"),
    ],
)
def test_invalid_basic_codes(code, message):
    with pytest.raises(ValidationError) as caught:
        validate_basic_code(code)
    assert message in " ".join(caught.value.messages), caught.value.messages


def test_implementation_codes():
    code = implementation_code("11410102MB00000129", 4, "410100001000")
    assert len(code) == 31 and validate_implementation_code(code) == code
    for bad in (
        code[:-1],
        "11410102MB00000128" + code[18:],
        code[:18] + "9" + code[19:],
        code[:19] + "419900001000",
    ):
        with pytest.raises(ValidationError):
            validate_implementation_code(bad)


def test_published_versions_are_immutable(make_item, root):
    item = make_item()
    v1 = queries.current_version(item)
    with pytest.raises(ValidationError):
        actions.publish_version(v1, actor=root)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        GuideVersion.objects.filter(pk=v1.pk).update(statutory_days=5)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        v1.materials.filter(name="申请书").update(name="别的材料")
    v1.refresh_from_db()
    assert v1.statutory_days == 20


def test_new_version_never_overlaps_and_pinned_cases_keep_theirs(make_item, implement, root):
    item = make_item()
    county = Tenant.objects.get(code="410102000000")
    pinned = implement(item, county)
    v1 = queries.current_version(item)
    v2 = actions.draft_version(
        item,
        actor=root,
        legal_basis="修订后的依据",
        conditions="同上",
        process="同上",
        statutory_days=15,
        materials=[{"name": "申请书"}],
    )
    starts = timezone.now()
    v2 = actions.publish_version(v2, actor=root, valid_from=starts)
    v1.refresh_from_db()
    assert v1.valid_to == starts == v2.valid_from  # back to back, no overlap
    assert queries.current_version(item) == v2
    pinned.refresh_from_db()
    assert pinned.version_id == v1.id  # what was implemented (and filed) under v1 stays on v1
    v3 = actions.draft_version(
        item,
        actor=root,
        legal_basis="x",
        conditions="x",
        process="x",
        statutory_days=10,
        materials=[],
    )
    with pytest.raises(ValidationError, match="已有"):
        actions.publish_version(v3, actor=root, valid_from=starts - timezone.timedelta(days=1))


def test_promised_time_limit_cannot_exceed_the_statutory_one(make_item, implement):
    item = make_item(statutory_days=20)
    with pytest.raises(ValidationError) as caught:
        implement(item, Tenant.objects.get(code="410102000000"), promised_days=21)
    assert "不得超过法定" in " ".join(caught.value.message_dict["promised_days"])


def test_only_materials_in_the_guide_may_be_asked_for(make_item, implement):
    other = queries.current_version(make_item(name="结婚登记", item_type="07"))
    item = make_item()
    with pytest.raises(ValidationError) as caught:
        implement(
            item, Tenant.objects.get(code="410102000000"), material_ids=[other.materials.first().id]
        )
    assert "只能要求办事指南所列材料" in " ".join(caught.value.message_dict["materials"])


def test_form_schema_is_checked_and_applications_validated(make_item, implement):
    item = make_item()
    county = Tenant.objects.get(code="410102000000")
    with pytest.raises(ValidationError) as caught:
        implement(item, county, form_schema={"type": "no-such-type"})
    assert "JSON Schema" in " ".join(caught.value.message_dict["form_schema"])
    form = {
        "type": "object",
        "required": ["name", "phone"],
        "properties": {
            "name": {"type": "string", "title": "姓名"},
            "phone": {"type": "string", "title": "电话", "pattern": "^1[0-9]{10}$"},
        },
    }
    implementation = implement(item, county, form_schema=form)
    assert (
        queries.validate_application(implementation, {"name": "张三", "phone": "13800000000"}) == []
    )
    problems = queries.validate_application(implementation, {"phone": "123"})
    assert any("姓名" in p and "必填" in p for p in problems) and any(
        "电话" in p and "格式" in p for p in problems
    )


def test_a_unit_admin_cannot_implement_for_another_unit(make_item, county_admin):
    from django.core.exceptions import PermissionDenied

    item = make_item()
    kaifeng_county = Tenant.objects.get(code="410204000000")
    with pytest.raises(PermissionDenied):
        actions.implement_item(
            actor=county_admin,
            tenant=kaifeng_county,
            department=make_department(kaifeng_county),
            item=item,
            promised_days=5,
            place="x",
            hours="x",
            enquiry_phone="x",
            complaint_phone="x",
            online_depth=OnlineDepth.SUBMISSION,
            material_ids=[],
        )
    assert not Implementation.objects.filter(tenant=kaifeng_county).exists()
    assert connection.schema_name == "public"
