"""Lists page with their totals, on pages and in both APIs; nothing is cut off silently (issue 9,
item 2)."""

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Tenant
from tests.helpers import host_of

PORTAL = {"HTTP_HOST": settings.BASE_DOMAIN}
COUNTY = "410102000000"


@pytest.fixture
def many_items(make_item):
    """23 licences (type 01), named against their code order, and one other item."""
    licences = [make_item(name=f"许可事项{99 - n:02d}", item_type="01") for n in range(23)]
    return licences, make_item(name="结婚登记", item_type="07")


def rows(body: str) -> list[str]:
    return re.findall(r'<a href="/services/items/(\w+)">', body)


def test_the_catalog_page_pages_with_its_total_and_keeps_the_filters(client, many_items):
    licences, _marriage = many_items
    first = client.get("/services/?type=01", **PORTAL).content.decode()
    assert "共 23 项" in first and "第 1 / 2 页" in first
    assert rows(first) == [i.code for i in licences[:20]]
    assert "?type=01&amp;page=2" in first
    second = client.get("/services/?type=01&page=2", **PORTAL).content.decode()
    assert rows(second) == [i.code for i in licences[20:]] and "第 2 / 2 页" in second
    assert "?type=01&amp;page=1" in second


@pytest.mark.parametrize("page, shown", [("99", 2), ("-1", 2), ("abc", 1), ("9" * 50, 2)])
def test_a_page_number_that_is_not_one_shows_a_page_never_an_error(client, many_items, page, shown):
    response = client.get(f"/services/?type=01&page={page}", **PORTAL)
    assert response.status_code == 200 and f"第 {shown} / 2 页" in response.content.decode()


def test_an_absurd_page_number_is_a_clear_400(client, db):
    response = client.get("/services/?page=" + "9" * 5000, **PORTAL)
    assert response.status_code == 400 and "过长" in response.content.decode()


def test_the_catalog_page_sorts_by_name_or_relevance(client, many_items):
    licences, marriage = many_items
    by_name = client.get("/services/?type=01&sort=name", **PORTAL).content.decode()
    assert rows(by_name) == [i.code for i in reversed(licences)][:20]
    assert "sort=name&amp;page=2" in by_name
    # With a query, the best match comes first (and the total counts every match).
    searched = client.get("/services/?q=结婚登记", **PORTAL).content.decode()
    shown = rows(searched)
    assert shown[0] == marriage.code and f"共 {len(shown)} 项" in searched
    assert client.get("/services/?sort=price", **PORTAL).status_code == 400
    assert client.get("/services/?q=" + "许" * 101, **PORTAL).status_code == 400


def test_the_catalog_api_pages_with_totals(client, many_items):
    licences, _marriage = many_items
    url = "/api/v1/catalog/items?item_type=01&page_size=10"
    page = client.get(f"{url}&page=3", **PORTAL).json()
    assert (page["count"], page["page"], page["page_size"], page["pages"]) == (23, 3, 10, 3)
    assert [i["code"] for i in page["items"]] == [i.code for i in licences[20:]]
    past = client.get(f"{url}&page=4", **PORTAL).json()
    assert past["items"] == [] and past["count"] == 23
    by_name = client.get("/api/v1/catalog/items?item_type=01&sort=name&page_size=100", **PORTAL)
    assert [i["code"] for i in by_name.json()["items"]] == [i.code for i in reversed(licences)]


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "page_size=0", "page_size=101", "page=10001", "sort=price"]
)
def test_the_catalog_api_refuses_pages_it_cannot_give(client, db, query):
    response = client.get(f"/api/v1/catalog/items?{query}", **PORTAL)
    assert response.status_code == 422 and response.json()["code"] == "invalid"


def test_a_units_list_pages_on_its_page_and_in_its_api(client, make_item, implement):
    county = Tenant.objects.get(code=COUNTY)
    first, second = make_item(name="甲事项"), make_item(name="乙事项")
    for item in (first, second):
        implement(item, county)
    page = client.get("/services/", HTTP_HOST=host_of(county)).content.decode()
    assert "共 2 项" in page and "甲事项" in page and "乙事项" in page
    api = client.get("/api/v1/services?page_size=1", HTTP_HOST=host_of(county)).json()
    assert (api["count"], api["pages"], api["items"][0]["item_code"]) == (2, 2, first.code)
    other = client.get("/api/v1/services?page_size=1&page=2", HTTP_HOST=host_of(county)).json()
    assert other["items"][0]["item_code"] == second.code
    departments = client.get("/api/v1/departments", HTTP_HOST=host_of(county)).json()
    assert departments["count"] == len(departments["items"]) == 2


def test_the_units_api_pages_with_totals(client, db):
    townships = list(
        Tenant.objects.filter(level="township")
        .exclude(status=Tenant.Status.RETIRED)
        .order_by("code")
        .values_list("code", flat=True)
    )
    assert len(townships) >= 5  # the sample province's
    seen = []
    for number in range(1, len(townships) // 2 + 2):
        page = client.get(f"/api/v1/tenants?level=township&page_size=2&page={number}", **PORTAL)
        body = page.json()
        assert (body["count"], body["pages"]) == (len(townships), (len(townships) + 1) // 2)
        seen += [u["code"] for u in body["items"]]
    assert seen == townships  # every unit once, none cut off


def test_a_search_pages_with_its_total_from_one_statement(client, many_items):
    """A search scores every match to order them, so its page and its total come from one
    statement (a window count); the pages and totals are those of counting apart."""
    licences, _marriage = many_items
    codes = {i.code for i in licences}
    url = "/api/v1/catalog/items?q=许可事项&page_size=10"
    client.get(url, **PORTAL)  # the vocabulary, loaded once per process
    with CaptureQueriesContext(connection) as statements:
        first = client.get(url, **PORTAL).json()
    # The vocabulary's freshness check, whether anything matches, then page and total together
    # (the rate limiter's statements aside).
    on_items = [q["sql"] for q in statements if "catalog_basicitem" in q["sql"]]
    assert len(on_items) == 3 and "OVER ()" in on_items[-1] and "LIMIT 10" in on_items[-1]
    pages = [first] + [client.get(f"{url}&page={n}", **PORTAL).json() for n in (2, 3)]
    assert [(p["count"], p["pages"]) for p in pages] == [(23, 3)] * 3
    assert [len(p["items"]) for p in pages] == [10, 10, 3]
    assert {i["code"] for p in pages for i in p["items"]} == codes
    past = client.get(f"{url}&page=4", **PORTAL).json()
    assert past["items"] == [] and past["count"] == 23 and past["pages"] == 3
    nothing = client.get("/api/v1/catalog/items?q=zzqqxx", **PORTAL).json()
    assert (nothing["count"], nothing["items"], nothing["pages"]) == (0, [], 1)


@pytest.mark.parametrize("page, shown", [("2", 2), ("99", 2), ("abc", 1), ("0", 1)])
def test_a_search_page_pages_and_clamps_like_any_list(client, many_items, page, shown):
    licences, _marriage = many_items
    body = client.get(f"/services/?q=许可事项&page={page}", **PORTAL).content.decode()
    assert "共 23 项" in body and f"第 {shown} / 2 页" in body
    assert len(rows(body)) == (20 if shown == 1 else 3)
    assert set(rows(body)) <= {i.code for i in licences}
