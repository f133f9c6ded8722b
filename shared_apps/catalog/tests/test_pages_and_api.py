import json

from conftest import sign_in_with_second_factor
from shared_apps.catalog import queries
from shared_apps.catalog.models import Implementation
from shared_apps.catalog.tests.conftest import make_department
from tenants.models import Tenant
from tests.helpers import host_of


def test_guide_page_shows_every_element(client, make_item, implement, settings):
    item = make_item()
    county = Tenant.objects.get(code="410102000000")
    service = implement(item, county, promised_days=8)
    page = client.get(f"/services/{service.code}", HTTP_HOST=host_of(county))
    body = page.content.decode()
    assert page.status_code == 200
    for expected in (
        "食品经营许可",
        service.code,
        item.code,
        "《食品安全法》第三十五条",
        "有与经营食品相适应的场所",
        "20 个工作日",
        "8 个工作日",
        "申请书",
        "营业执照",
        "容缺后补",
        "12345",
        "投诉电话",
    ):
        assert expected in body, expected
    # The same record on another unit's host: not offered there.
    assert (
        client.get(
            f"/services/{service.code}", HTTP_HOST=host_of(Tenant.objects.get(code="410204000000"))
        ).status_code
        == 404
    )
    api = client.get(f"/api/v1/services/{service.code}", HTTP_HOST=host_of(county)).json()
    assert api["promised_days"] == 8 and api["statutory_days"] == 20 and len(api["materials"]) == 3


def test_portal_catalog_search_and_filters(client, make_item, implement, settings):
    food = make_item(themes=["创业"], keywords=["饭店"])
    make_item(name="结婚登记", item_type="07", themes=["婚姻"])
    implement(food, Tenant.objects.get(code="410102000000"))
    host = settings.BASE_DOMAIN
    assert "食品经营许可" in client.get("/services/?q=开饭店", HTTP_HOST=host).content.decode()
    by_theme = client.get("/services/?theme=婚姻", HTTP_HOST=host).content.decode()
    assert "结婚登记" in by_theme and "食品经营许可" not in by_theme
    by_level = client.get("/services/?level=4", HTTP_HOST=host).content.decode()
    assert "食品经营许可" in by_level and "结婚登记" not in by_level
    api = client.get("/api/v1/catalog/items?q=开饭店", HTTP_HOST=host).json()
    assert api["items"][0]["name"] == "食品经营许可" and api["count"] == 1


def test_unit_admins_manage_their_own_list_only(client, make_item, county_admin):
    item = make_item()
    county = Tenant.objects.get(code="410102000000")
    other = Tenant.objects.get(code="410204000000")
    department = make_department(county)
    version = queries.current_version(item)
    sign_in_with_second_factor(client, county_admin)
    body = {
        "item_code": item.code,
        "department_id": department.id,
        "promised_days": 10,
        "place": "中原区政务服务中心",
        "hours": "工作日",
        "enquiry_phone": "0371-1",
        "complaint_phone": "12345",
        "online_depth": 4,
        "material_ids": [m.id for m in version.materials.all()],
    }
    created = client.post(
        "/api/v1/services",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST=host_of(county),
    )
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    published = client.post(f"/api/v1/services/{code}/publish", HTTP_HOST=host_of(county))
    assert published.status_code == 200 and published.json()["status"] == "published"

    # Another unit's host: refused, whatever the ids sent.
    refused = client.post(
        "/api/v1/services",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST=host_of(other),
    )
    assert refused.status_code == 403
    assert (
        client.post(f"/api/v1/services/{code}/publish", HTTP_HOST=host_of(other)).status_code == 403
    )
    assert not Implementation.objects.filter(tenant=other).exists()
    # And the Django admin is the provincial administrators' only.
    admin = client.get("/admin/catalog/implementation/", HTTP_HOST=host_of(county))
    assert admin.status_code == 302 and "login" in admin["Location"]


def test_bad_implementation_gets_clear_errors(client, make_item, county_admin):
    item = make_item(statutory_days=20)
    county = Tenant.objects.get(code="410102000000")
    department = make_department(county)
    sign_in_with_second_factor(client, county_admin)
    body = {
        "item_code": item.code,
        "department_id": department.id,
        "promised_days": 30,
        "place": "x",
        "hours": "x",
        "enquiry_phone": "x",
        "complaint_phone": "x",
        "online_depth": 4,
        "material_ids": [999999],
    }
    response = client.post(
        "/api/v1/services",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST=host_of(county),
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "不得超过法定办结时限" in detail and "只能要求办事指南所列材料" in detail
    assert not Implementation.objects.filter(tenant=county).exists()


def test_provincial_admin_manages_the_catalog_in_the_admin(client, root, settings):
    from shared_apps.audit.models import AuditEntry
    from shared_apps.catalog.models import BasicItem

    sign_in_with_second_factor(client, root)
    host = settings.BASE_DOMAIN
    bad = client.post(
        "/admin/catalog/basicitem/add/",
        {
            "code": "41990000100",
            "name": "测试",
            "exercising_levels": "[4]",
            "themes": "[]",
            "keywords": "[]",
        },
        HTTP_HOST=host,
    )
    assert bad.status_code == 200 and "基本编码应为 12 位" in bad.content.decode()
    good = client.post(
        "/admin/catalog/basicitem/add/",
        {
            "code": "410100099000",
            "name": "测试事项",
            "exercising_levels": "[4]",
            "themes": "[]",
            "keywords": "[]",
        },
        HTTP_HOST=host,
    )
    assert good.status_code == 302
    item = BasicItem.objects.get(code="410100099000")
    assert (
        item.search_text
        and AuditEntry.objects.filter(action="catalog.save_item", target=item.code).exists()
    )


def test_unit_admin_page_adds_and_publishes_items(client, make_item, county_admin):
    item = make_item(statutory_days=20)
    county = Tenant.objects.get(code="410102000000")
    department = make_department(county)
    sign_in_with_second_factor(client, county_admin)
    host = host_of(county)
    form = {
        "item_code": item.code,
        "department_id": department.id,
        "promised_days": 25,
        "place": "中原区政务服务中心",
        "hours": "工作日",
        "enquiry_phone": "0371-1",
        "complaint_phone": "12345",
        "online_depth": 4,
    }
    refused = client.post("/services/manage", form, HTTP_HOST=host)
    assert refused.status_code == 200 and "不得超过法定办结时限" in refused.content.decode()
    assert (
        client.post("/services/manage", {**form, "promised_days": 10}, HTTP_HOST=host).status_code
        == 302
    )
    service = Implementation.objects.get(tenant=county, item=item)
    assert service.status == "draft"
    client.post("/services/manage", {"publish": service.pk}, HTTP_HOST=host)
    service.refresh_from_db()
    assert service.status == "published"
    other = host_of(Tenant.objects.get(code="410204000000"))
    assert client.get("/services/manage", HTTP_HOST=other).status_code == 403


def test_unit_admin_page_asks_visitors_to_sign_in(client, db):
    response = client.get(
        "/services/manage", HTTP_HOST=host_of(Tenant.objects.get(code="410102000000"))
    )
    assert response.status_code == 302 and "/accounts/sign-in" in response["Location"]
