"""The demo catalog itself: large and real enough to judge search and routing against."""

import re

import pytest
from django.contrib.staticfiles import finders
from jsonschema import Draft202012Validator

from shared_apps.catalog.codes import ITEM_TYPES, LEVEL_OF_TENANT
from shared_apps.catalog.demo.departments import (
    DEPARTMENT_NAMES,
    DEPARTMENTS,
    TOWNSHIP_DEPARTMENTS,
    department_name,
)
from shared_apps.catalog.demo.forms import FORMS_DIR, SAMPLE_FILES, form_schema, template_key
from shared_apps.catalog.demo.items import ITEMS
from shared_apps.catalog.demo.load import (
    _departments,
    item_codes,
    load_implementations,
    load_items,
)
from shared_apps.catalog.demo.queries import QUERIES
from shared_apps.catalog.models import (
    GuideMaterial,
    GuideVersion,
    Implementation,
    ImplementationMaterial,
    OnlineDepth,
)
from shared_apps.catalog.queries import current_version
from shared_apps.catalog.themes import ORGANISATION, PERSONAL
from tenants.models import Tenant
from tests.helpers import host_of

LAW = re.compile(
    r"《[^《》]+(法|条例|规定|办法|细则|决定|意见|通知|规则|规范|规程|方案)(（[^）]*）)?》"
)


def test_hundreds_of_real_items_with_unique_names_and_codes():
    names = [spec.name for spec in ITEMS]
    assert len(ITEMS) >= 300
    assert len(set(names)) == len(names)
    assert len(set(item_codes())) == len(ITEMS)
    # The items the search quality set expects are all there.
    assert {expected for _query, expected in QUERIES} <= set(names)


def test_every_department_and_theme_has_items_at_every_level():
    used = {spec.department for spec in ITEMS}
    assert used == set(DEPARTMENT_NAMES) | set(TOWNSHIP_DEPARTMENTS)
    assert {spec.level for spec in ITEMS} == set(LEVEL_OF_TENANT)
    assert len([spec for spec in ITEMS if spec.level == "township"]) >= 10
    themes = {theme for spec in ITEMS for theme in spec.themes}
    assert themes == set(PERSONAL) | set(ORGANISATION)
    for spec in ITEMS:
        assert department_name(spec.department, spec.level) in DEPARTMENTS[spec.level], spec.name


@pytest.mark.parametrize("spec", ITEMS, ids=lambda spec: spec.name)
def test_item_guide_is_complete(spec):
    assert spec.item_type in ITEM_TYPES
    # Each basis names a law, regulation or normative document in 《》, and says nothing vague.
    assert LAW.search(spec.legal_basis), spec.legal_basis
    assert "相关法律" not in spec.legal_basis
    assert all(part.strip() for part in spec.legal_basis.split("；"))
    assert 1 <= spec.days <= 90
    assert spec.keywords and spec.themes
    depth, visits = spec.online
    assert depth in OnlineDepth.values and 0 <= visits <= 2
    for fee in spec.fees:
        assert fee["item"] and "元" in fee["rate"] and LAW.search(fee["basis"])
    assert spec.materials
    for material in spec.materials:
        assert 1 <= material.originals + material.copies <= 6, material
        assert 0 <= material.originals <= 3 and 0 <= material.copies <= 3, material
        assert material.source in GuideMaterial.Source.values
        assert material.necessity in GuideMaterial.Necessity.values


@pytest.mark.parametrize("spec", ITEMS, ids=lambda spec: spec.name)
def test_application_form_is_a_valid_schema(spec):
    schema = form_schema(spec.name, spec.for_organisations, spec.fields)
    Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) <= set(schema["properties"])
    assert all(field.get("title") for field in schema["properties"].values())
    applicant = "credit_code" if spec.for_organisations else "id_number"
    assert applicant in schema["required"]


def test_every_form_template_is_served():
    templates = {m.template for spec in ITEMS for m in spec.materials if m.template}
    keys = {template_key(t, o) for t in templates for o in (False, True)}
    assert keys == set(SAMPLE_FILES)
    for blank, sample in SAMPLE_FILES.values():
        for name in (blank, sample):
            assert finders.find(f"{FORMS_DIR}/{name}"), name


def test_loading_builds_guides_and_every_units_list_once(root, client):
    from tenants.management.commands.load_demo_data import _load_chunk

    units = list(
        Tenant.objects.filter(provisioned_at__isnull=False, status=Tenant.Status.ACTIVE)
        .order_by("code")
        .values_list("id", "schema_name", "code", "level")
    )
    _load_chunk(units)
    items = load_items(root)
    guides = GuideVersion.objects.filter(item__in=items).count()
    assert [item.name for item in items] == [spec.name for spec in ITEMS]
    marriage = next(item for item in items if item.name == "结婚登记")
    guide = current_version(marriage)
    assert guide.status == GuideVersion.Status.PUBLISHED
    assert "第一千零四十九条" in guide.legal_basis
    assert [m.name for m in guide.materials.all()] == [
        m.name for m in ITEMS[items.index(marriage)].materials
    ]
    application = GuideMaterial.objects.filter(name="申请表").first()
    assert application.blank_form_url.startswith("/static/catalog/forms/application-")
    assert application.sample_url.endswith("-sample.html")

    def pairs():
        return set(
            Implementation.objects.filter(item__in=items).values_list("tenant_id", "item_id")
        )

    before = pairs()
    implemented = load_implementations(items)
    # Each unit implements its level's items whose department it has (a department another test
    # left behind under a demo credit code is not duplicated, so its items may be missing; a
    # pair another test left behind is not implemented twice).
    departments = _departments([schema for _id, schema, _code, _level in units])
    expected = {
        (unit, item.id)
        for unit, schema, _code, level in units
        for item, spec in zip(items, ITEMS, strict=True)
        if spec.level == level and department_name(spec.department, level) in departments[schema]
    }
    every = [1 for _id, _schema, _code, level in units for spec in ITEMS if spec.level == level]
    assert expected <= pairs()
    assert implemented == len(expected - before) == len(pairs() - before)
    assert len(expected) >= 0.95 * len(every)
    county = Tenant.objects.get(code="410105000000")
    food = Implementation.objects.get(tenant=county, item__name="食品经营许可")
    assert food.department_name == "市场监督管理局"
    assert food.code.startswith(food.department_credit_code)
    assert food.form_schema["properties"]["credit_code"]["title"] == "统一社会信用代码"
    Draft202012Validator.check_schema(food.form_schema)
    assert food.materials.count() == len(current_version(food.item).materials.all())
    assert ImplementationMaterial.objects.filter(
        implementation=food, as_form_section="申请表"
    ).exists()
    township = Tenant.objects.get(code="410105001000")
    homestead = Implementation.objects.get(tenant=township, item__name="农村宅基地用地审批")
    assert homestead.department_name == "党政综合便民服务中心"
    assert homestead.place == "经八路街道党政综合便民服务中心"

    # The guide page a citizen reads: the real basis, the materials, the form and its sample.
    page = client.get(f"/services/{food.code}", HTTP_HOST=host_of(county)).content.decode()
    for expected in (
        "《中华人民共和国食品安全法》第三十五条",
        "金水区政务服务中心",
        "食品经营许可证",
        "/static/catalog/forms/application-organisation.html",
        "/static/catalog/forms/application-organisation-sample.html",
    ):
        assert expected in page, expected

    # A second run finds everything in place: no duplicate items, guides or implementations.
    assert load_items(root) == items
    assert load_implementations(items) == 0
    assert GuideVersion.objects.filter(item__in=items).count() == guides
