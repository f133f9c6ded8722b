"""Routing that finds the office (issue 9, item 3): a township item asked for with a county code,
an ID number (which gives only the county) or a remembered place; suspended units among the
choices; places by name."""

from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from shared_apps.catalog.routing import route
from tenants import actions
from tenants.hosts import host_map
from tenants.models import Tenant
from tenants.places import PLACE_COOKIE
from tests.helpers import make_id_number

CITY, COUNTY = "410100000000", "410102000000"  # 郑州市, 中原区
LINSHANZHAI, JIANSHELU = "410102001000", "410102002000"  # its two townships
JINGBALU = "410105001000"  # a township of 金水区, another county
PORTAL = {"HTTP_HOST": settings.BASE_DOMAIN}


def unit(code):
    return Tenant.objects.get(code=code)


def streets() -> int:
    """How many live units have 街道 in their name (the sample province has five)."""
    return (
        Tenant.objects.filter(name__contains="街道").exclude(status=Tenant.Status.RETIRED).count()
    )


@pytest.fixture
def township_item(make_item, implement):
    """Exercised by counties and townships; only 林山寨街道 lists it (not 建设路街道, not 中原区)."""
    item = make_item(name="城乡居民医疗保险参保登记", item_type="20")
    implement(item, unit(LINSHANZHAI))
    yield item
    host_map.invalidate()  # suspensions are rolled back with the test, which notifies nobody


def chosen(found):
    return [c.unit.code for c in found.choices]


def test_a_county_code_gives_the_townships_that_have_it(township_item):
    found = route(township_item.code, place=COUNTY)
    assert found.implementation is None and chosen(found) == [LINSHANZHAI]
    assert found.choices[0].path == "河南省 › 郑州市 › 中原区 › 林山寨街道"
    assert "尚无单位" not in found.reason and "选择" in found.reason


def test_an_id_number_gives_its_countys_townships(township_item, implement):
    implement(township_item, unit(JIANSHELU))
    found = route(township_item.code, id_number=make_id_number(region="410102"))
    assert found.place_code == COUNTY and chosen(found) == [LINSHANZHAI, JIANSHELU]


def test_a_city_gives_the_townships_of_all_its_counties(township_item, implement):
    implement(township_item, unit(JINGBALU))
    assert chosen(route(township_item.code, place=CITY)) == [LINSHANZHAI, JINGBALU]


def test_the_remembered_place_within_the_county_is_used(township_item):
    found = route(township_item.code, place=COUNTY, remembered=LINSHANZHAI)
    assert found.implementation.tenant.code == LINSHANZHAI and found.by_remembered_place
    # Without a place or an ID number, the remembered place is the place.
    assert route(township_item.code, remembered=LINSHANZHAI).implementation.tenant.code == (
        LINSHANZHAI
    )


def test_a_remembered_place_that_does_not_settle_it_leaves_the_choice(township_item):
    # 建设路街道 lies in the county but doesn't have it; 经八路街道 lies in another county.
    for remembered in (JIANSHELU, JINGBALU):
        found = route(township_item.code, place=COUNTY, remembered=remembered)
        assert found.implementation is None and chosen(found) == [LINSHANZHAI]


def test_the_county_itself_is_chosen_when_it_has_the_item(township_item, implement):
    implement(township_item, unit(COUNTY))
    assert route(township_item.code, place=COUNTY).implementation.tenant.code == COUNTY


def test_a_suspended_township_is_shown_as_such_with_the_unit_above(township_item, root):
    actions.suspend_tenant(unit(LINSHANZHAI), actor=root, reason="系统维护")
    found = route(township_item.code, place=COUNTY)
    (choice,) = found.choices
    assert choice.suspended and choice.turn_to.code == COUNTY
    actions.suspend_tenant(unit(COUNTY), actor=root, reason="整改")
    assert route(township_item.code, place=COUNTY).choices[0].turn_to.code == CITY


def test_a_place_by_name(township_item):
    assert chosen(route(township_item.code, place="中原区")) == [LINSHANZHAI]
    assert chosen(route(township_item.code, place="郑州市中原区")) == [LINSHANZHAI]
    assert route(township_item.code, place="林山寨").implementation.tenant.code == LINSHANZHAI


def test_an_ambiguous_name_asks_which_place(township_item):
    found = route(township_item.code, place="街道")  # every township here is a 街道
    assert found.implementation is None and not found.choices
    assert len(found.places) == streets() >= 5 and found.places[0].path.startswith("河南省 › ")


def test_an_unknown_name_is_a_clear_error(township_item):
    with pytest.raises(ValidationError, match="没有叫"):
        route(township_item.code, place="无此地方")


def test_the_route_page_lists_the_townships(client, township_item, implement):
    implement(township_item, unit(JIANSHELU))
    response = client.get(f"/services/route?item={township_item.code}&place={COUNTY}", **PORTAL)
    body = response.content.decode()
    assert response.status_code == 200 and "共 2 项" in body and "第 1 / 1 页" in body
    linshanzhai = unit(LINSHANZHAI)
    assert f"http://{linshanzhai.subdomain}.{settings.BASE_DOMAIN}/services/" in body
    assert "河南省 › 郑州市 › 中原区 › 建设路街道" in body
    by_id = client.get(
        f"/services/route?item={township_item.code}&id_number={make_id_number(region='410102')}",
        **PORTAL,
    )
    assert by_id.status_code == 200 and "林山寨街道" in by_id.content.decode()


def test_the_route_page_uses_the_remembered_place(client, township_item):
    client.cookies[PLACE_COOKIE] = LINSHANZHAI
    response = client.get(f"/services/route?item={township_item.code}&place={COUNTY}", **PORTAL)
    township = unit(LINSHANZHAI)
    assert response.status_code == 302
    assert response["Location"].startswith(
        f"http://{township.subdomain}.{settings.BASE_DOMAIN}/services/"
    )
    # No place and no ID number: the remembered place.
    only_cookie = client.get(f"/services/route?item={township_item.code}", **PORTAL)
    assert only_cookie.status_code == 302


def test_the_route_page_shows_a_suspended_township(client, township_item, root):
    actions.suspend_tenant(unit(LINSHANZHAI), actor=root, reason="系统维护")
    body = client.get(
        f"/services/route?item={township_item.code}&place={COUNTY}", **PORTAL
    ).content.decode()
    county = unit(COUNTY)
    assert "暂停" in body and f"//{county.subdomain}.{settings.BASE_DOMAIN}/" in body
    assert "中原区" in body and "尚无单位" not in body


def test_the_route_page_asks_which_place(client, township_item):
    response = client.get(f"/services/route?item={township_item.code}&place=街道", **PORTAL)
    body = response.content.decode()
    assert response.status_code == 200 and f"共 {streets()} 项" in body
    assert f"place={LINSHANZHAI}" in body


def test_the_route_api_returns_the_choices(client, township_item, implement, root):
    implement(township_item, unit(JIANSHELU))
    actions.suspend_tenant(unit(JIANSHELU), actor=root, reason="系统维护")
    api = client.get(
        f"/api/v1/route?item={township_item.code}&place={COUNTY}&page_size=1", **PORTAL
    ).json()
    assert api["kind"] == "choose_unit" and api["implementation_code"] is None
    page = api["choices"]
    assert (page["count"], page["pages"], page["items"][0]["tenant_code"]) == (2, 2, LINSHANZHAI)
    second = client.get(
        f"/api/v1/route?item={township_item.code}&place=中原区&page_size=1&page=2", **PORTAL
    ).json()["choices"]["items"][0]
    assert second["tenant_code"] == JIANSHELU and second["suspended"]
    assert (second["turn_to_code"], second["turn_to_name"]) == (COUNTY, "中原区")
    by_id = client.get(
        f"/api/v1/route?item={township_item.code}&id_number={make_id_number(region='410102')}",
        **PORTAL,
    ).json()
    assert by_id["kind"] == "choose_unit" and by_id["choices"]["count"] == 2


def test_the_route_api_uses_the_remembered_place_and_asks_which_place(client, township_item):
    client.cookies[PLACE_COOKIE] = LINSHANZHAI
    api = client.get(f"/api/v1/route?item={township_item.code}&place={COUNTY}", **PORTAL).json()
    assert api["kind"] == "found" and api["tenant_code"] == LINSHANZHAI
    assert api["by_remembered_place"] is True
    ambiguous = client.get(f"/api/v1/route?item={township_item.code}&place=街道", **PORTAL).json()
    assert ambiguous["kind"] == "choose_place" and ambiguous["places"]["count"] == streets()


@pytest.mark.parametrize("place", ["中原\x00区", "中" * 51, "4101\x00"])
def test_bad_places_are_clear_errors(client, township_item, place):
    page = client.get(f"/services/route?item={township_item.code}&place={quote(place)}", **PORTAL)
    assert page.status_code == 400
    api = client.get(f"/api/v1/route?item={township_item.code}&place={quote(place)}", **PORTAL)
    # NUL is refused before the API (bad_request); the over-long name by the API's bounds.
    assert api.status_code in (400, 422) and api.json()["code"] in ("bad_request", "invalid")
