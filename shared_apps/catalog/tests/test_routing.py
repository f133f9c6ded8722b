import pytest
from django.core.exceptions import ValidationError

from shared_apps.catalog.routing import route
from tenants.models import Tenant
from tests.helpers import make_id_number


def unit(code):
    return Tenant.objects.get(code=code)


@pytest.fixture
def items(make_item, implement):
    near = make_item(name="城乡居民医疗保险参保登记", item_type="20")
    implement(near, unit("410102001000"))  # a township (林山寨街道) has it
    implement(near, unit("410102000000"))  # and its county (中原区)
    provincial = make_item(name="建筑业企业资质核准", levels=(2,))
    implement(provincial, unit("410000000000"))
    nobody = make_item(name="没有单位实施的事项", item_type="20")
    return near, provincial, nobody


def test_the_township_that_has_it(items):
    near, _, _ = items
    assert route(near.code, place="410102001000").implementation.tenant.code == "410102001000"


def test_a_township_without_it_goes_to_its_county(items):
    near, _, _ = items
    # 建设路街道 is in the same county but doesn't list the item: up to 中原区.
    assert route(near.code, place="410102002000").implementation.tenant.code == "410102000000"


def test_only_the_province_has_it(items):
    _, provincial, _ = items
    found = route(provincial.code, place="410204001000")  # a township in 开封市
    assert found.implementation.tenant.code == "410000000000"


def test_nobody_has_it(items):
    _, _, nobody = items
    found = route(nobody.code, place="410102001000")
    assert found.implementation is None and "尚无单位" in found.reason


def test_id_number_gives_the_default_place(items):
    near, _, _ = items
    found = route(near.code, id_number=make_id_number(region="410102"))
    assert found.implementation.tenant.code == "410102000000"


def test_bad_place_is_a_clear_error(items):
    near, _, _ = items
    with pytest.raises(ValidationError, match="区划代码"):
        route(near.code, place="4101")


def test_routing_page_sends_the_citizen_to_the_units_subdomain(client, items, settings):
    near, _, _ = items
    response = client.get(
        f"/services/route?item={near.code}&place=410102002000", HTTP_HOST=settings.BASE_DOMAIN
    )
    assert response.status_code == 302
    county = unit("410102000000")
    assert response["Location"].startswith(
        f"http://{county.subdomain}.{settings.BASE_DOMAIN}/services/"
    )
    api = client.get(
        f"/api/v1/route?item={near.code}&place=410102002000", HTTP_HOST=settings.BASE_DOMAIN
    ).json()
    assert api["tenant_code"] == county.code
    missing = client.get(
        f"/api/v1/route?item={items[2].code}&place=410102002000", HTTP_HOST=settings.BASE_DOMAIN
    )
    assert missing.status_code == 404
