"""Routing when the unit that implements an item has suspended its online services: the citizen is
told so and pointed to the unit above, not told that nobody implements the item."""

import pytest
from django.conf import settings

from shared_apps.catalog.routing import route
from tenants import actions
from tenants.hosts import host_map
from tenants.models import Tenant

TOWNSHIP, COUNTY, CITY = "410102001000", "410102000000", "410100000000"


@pytest.fixture
def township_item(make_item, implement):
    item = make_item(name="城乡居民医疗保险参保登记", item_type="20")
    implement(item, Tenant.objects.get(code=TOWNSHIP))
    yield item
    # The suspension below is rolled back with the test's transaction, which sends no NOTIFY.
    host_map.invalidate()


def test_a_suspended_unit_is_named_with_the_unit_above(township_item, root):
    actions.suspend_tenant(Tenant.objects.get(code=TOWNSHIP), actor=root, reason="系统维护")
    found = route(township_item.code, place=TOWNSHIP)
    assert found.implementation is None
    assert found.suspended.code == TOWNSHIP and found.turn_to.code == COUNTY
    assert "暂停" in found.reason and "中原区" in found.reason
    assert "尚无单位" not in found.reason


def test_the_unit_above_is_the_nearest_active_one(township_item, root):
    for code in (TOWNSHIP, COUNTY):
        actions.suspend_tenant(Tenant.objects.get(code=code), actor=root, reason="整改")
    found = route(township_item.code, place=TOWNSHIP)
    assert found.turn_to.code == CITY


def test_page_and_api_say_suspended(client, township_item, root):
    actions.suspend_tenant(Tenant.objects.get(code=TOWNSHIP), actor=root, reason="系统维护")
    page = client.get(
        f"/services/route?item={township_item.code}&place={TOWNSHIP}",
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    body = page.content.decode()
    county = Tenant.objects.get(code=COUNTY)
    assert page.status_code == 503 and "暂停" in body
    assert f"//{county.subdomain}.{settings.BASE_DOMAIN}/" in body and "中原区" in body
    api = client.get(
        f"/api/v1/route?item={township_item.code}&place={TOWNSHIP}",
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert api.status_code == 503 and "中原区" in api.json()["detail"]


def test_an_active_unit_above_that_has_it_is_still_chosen(township_item, implement, root):
    implement(township_item, Tenant.objects.get(code=COUNTY))
    actions.suspend_tenant(Tenant.objects.get(code=TOWNSHIP), actor=root, reason="系统维护")
    found = route(township_item.code, place=TOWNSHIP)
    assert found.implementation.tenant.code == COUNTY
