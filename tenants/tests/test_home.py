"""The home pages of the portal and of every unit (issue 9, item 1) and the language that holds
across subdomains (item 7)."""

import re
from html import unescape

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.catalog.models import BasicItem
from shared_apps.catalog.tests import conftest as catalog_fixtures
from tenants import actions, home
from tenants.hosts import host_map
from tenants.models import Tenant
from tests.helpers import host_of

PORTAL = settings.BASE_DOMAIN
# The catalog's fixtures, used here by name.
root, make_item, implement = (
    catalog_fixtures.root,
    catalog_fixtures.make_item,
    catalog_fixtures.implement,
)
make_department = catalog_fixtures.make_department


def _get(client, host, path="/"):
    response = client.get(path, HTTP_HOST=host)
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def _section(body: str, heading_id: str) -> str:
    """The HTML of the section a heading (by id) opens."""
    start = body.index(f'id="{heading_id}"')
    return body[start : body.index("</section>", start)]


def _theme_tile(body: str, label: str) -> str:
    """The text of a theme's tile (its label and count), without tags."""
    match = re.search(
        rf'<span class="theme-name">{label}</span>\s*<span class="count">([^<]*)<', body
    )
    assert match, f"no tile for {label}"
    return match.group(1)


@pytest.fixture
def county(db):
    return Tenant.objects.get(code="410102000000")  # 中原区


@pytest.fixture
def catalog(make_item, implement, county):
    """Three items: the marriage registration offered by three units, the birth registration by
    two (both in 中原区), a food licence by one (another county)."""
    marriage = make_item(name="结婚登记", item_type="07", themes=["婚姻"])
    birth = make_item(name="生育登记", item_type="07", themes=["生育", "户籍"])
    food = make_item(name="食品经营许可", themes=["准营"])
    kaifeng_county = Tenant.objects.get(code="410204000000")
    jinshui = Tenant.objects.get(code="410105000000")
    services = {
        "marriage": implement(marriage, county),
        "birth": implement(birth, county),
    }
    implement(marriage, kaifeng_county)
    implement(marriage, jinshui)
    implement(birth, jinshui)
    implement(food, kaifeng_county)
    return services


def test_portal_home_shows_search_themes_popular_departments_and_cities(client, catalog):
    make_department(Tenant.objects.get(code="410000000000"), name="省民政厅")
    body = _get(client, PORTAL)

    assert body.count("<h1") == 1
    assert "河南省网上政务服务平台" in body  # the site's name, with the province's own name
    # The search box comes first, with a label, and searches the provincial catalog.
    search = body.index('role="search"')
    assert search < body.index('id="themes-title"') < body.index('id="popular-title"')
    assert re.search(r'<form class="home-search" method="get" action="/services/"', body)
    assert '<label for="home-q">' in body and 'id="home-q" name="q"' in body

    themes = _section(body, "themes-title")
    assert "个人服务" in themes and "法人服务" in themes
    # Counted over the whole catalog (the browser tests commit items that later tests see).
    for theme, label in (("婚姻", "婚姻登记"), ("户籍", "户籍办理"), ("准营", "准营准办")):
        count = BasicItem.objects.filter(themes__contains=[theme]).count()
        assert count >= 1 and _theme_tile(themes, label) == f"{count} 项"
    if not BasicItem.objects.filter(themes__contains=["殡葬"]).exists():
        assert _theme_tile(themes, "殡葬服务") == "暂无"
    personal = themes[: themes.index('id="themes-organisation"')]
    assert "准营准办" not in personal and "婚姻登记" in personal

    popular = _section(body, "popular-title")
    names = re.findall(r'<a href="/services/items/\w+">([^<]+)</a>', popular)
    ours = [name for name in names if name in {"结婚登记", "生育登记", "食品经营许可"}]
    assert ours == ["结婚登记", "生育登记", "食品经营许可"]  # 3, 2 and 1 units publish them
    assert "3 个单位开展" in popular
    assert f"查看目录中全部 {BasicItem.objects.count()} 项服务" in popular

    assert "省民政厅" in _section(body, "departments-title")
    units = _section(body, "units-title")
    assert all(name in units for name in ("郑州市", "开封市", "济源市"))
    assert "中原区" not in units  # only the units directly below
    assert "/place?next=" in body  # where the citizen sets their place


def test_unit_home_shows_its_own_services_departments_and_units(client, catalog, county):
    make_department(county, name="中原区民政局")
    body = _get(client, host_of(county))

    assert body.count("<h1") == 1 and "中原区网上政务服务" in body
    assert re.search(r'<form class="home-search" method="get" action="/services/"', body)
    breadcrumb = body[
        body.index('class="breadcrumb"') : body.index("</nav>", body.index('class="breadcrumb"'))
    ]
    assert breadcrumb.index("河南省") < breadcrumb.index("郑州市") < breadcrumb.index("中原区")
    assert f"http://zhengzhou.{PORTAL}/" in breadcrumb

    themes = _section(body, "themes-title")
    assert _theme_tile(themes, "婚姻登记") == "1 项"
    assert _theme_tile(themes, "生育收养") == "1 项"
    assert _theme_tile(themes, "准营准办") == "暂无"  # published elsewhere, not here

    popular = _section(body, "popular-title")
    links = re.findall(r'<a href="/services/(\w{31})">([^<]+)</a>', popular)
    assert links == [
        (catalog["marriage"].code, "结婚登记"),
        (catalog["birth"].code, "生育登记"),
    ]
    assert "查看本单位全部 2 项服务" in popular

    assert "中原区民政局" in _section(body, "departments-title")
    units = _section(body, "units-title")
    assert "林山寨街道" in units and "建设路街道" in units


@pytest.mark.parametrize("on_portal", [True, False])
def test_a_theme_link_lists_that_themes_services(client, catalog, county, on_portal):
    host = PORTAL if on_portal else host_of(county)
    themes = _section(_get(client, host), "themes-title")
    [link] = re.findall(r'<a href="([^"]+)"><span class="theme-name">婚姻登记</span>', themes)
    listing = _get(client, host, link)
    assert "结婚登记" in listing and "生育登记" not in listing
    # The list's own filter offers the themes by their labels, this one chosen.
    assert '<option value="婚姻" selected>婚姻登记</option>' in listing
    assert '<optgroup label="法人服务"><option value="设立">企业开办</option>' in listing
    birth = _get(client, host, link.replace("%E5%A9%9A%E5%A7%BB", "%E7%94%9F%E8%82%B2"))
    assert "生育登记" in birth and "结婚登记" not in birth


@pytest.mark.parametrize("host", [PORTAL, "zhongyuan"])
def test_an_unknown_theme_is_a_clear_400(client, db, host):
    host = host if host == PORTAL else f"{host}.{PORTAL}"
    response = client.get("/services/?theme=不存在", HTTP_HOST=host)
    assert response.status_code == 400 and "未知的主题" in response.content.decode()


def test_english_pages_read_as_english(client, catalog, county):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    portal = _get(client, PORTAL)
    assert "<title>Henan Online Government Services</title>" in portal
    assert "Services by theme" in portal and "For organisations" in portal
    assert _theme_tile(portal, "Marriage") == "1 service"
    assert _theme_tile(portal, "Birth and adoption") == "1 service"
    assert "offered by 3 units" in portal and "Popular services" in portal
    unit = _get(client, host_of(county))
    assert "Zhongyuan online services" in unit and "Henan Online Government Services" in unit
    assert "Search the services of Zhongyuan" in unit and "中原区 · County" in unit
    assert "All 2 services of this unit" in unit


def test_the_language_chosen_on_the_portal_holds_on_every_subdomain(client, county):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, HTTP_HOST=PORTAL)
    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    # Set for the base domain, so the browser sends it to the portal and every unit's subdomain.
    assert cookie.value == "en" and cookie["domain"] == f".{PORTAL}"
    assert cookie["max-age"] >= 180 * 24 * 3600 and cookie["samesite"] == "Lax"
    assert settings.LANGUAGE_COOKIE_DOMAIN == settings.SESSION_COOKIE_DOMAIN
    # The test client sends its cookies to every host, as a browser does within that domain.
    assert "Services by theme" in _get(client, host_of(county))
    township = Tenant.objects.get(code="410102001000")
    assert "Services by theme" in _get(client, host_of(township))

    # Back to Chinese from a unit's subdomain: the portal follows.
    response = client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/"}, HTTP_HOST=host_of(county)
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["domain"] == f".{PORTAL}"
    assert "主题服务" in _get(client, PORTAL)


def test_a_suspended_lower_unit_is_marked_and_a_retired_one_left_out(client, county, root):
    actions.suspend_tenant(Tenant.objects.get(code="410102001000"), actor=root, reason="系统维护")
    Tenant.objects.filter(code="410102002000").update(status=Tenant.Status.RETIRED)
    host_map.invalidate()
    units = _section(_get(client, host_of(county)), "units-title")
    assert re.search(r"林山寨街道</a> <span class=\"status\">暂停服务</span>", units)
    assert "建设路街道" not in units


def _queries(client, host) -> list[str]:
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/", HTTP_HOST=host).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_units_home_page_takes_three_queries_whatever_it_lists(
    client,
    catalog,
    county,
    make_item,
    implement,
):
    _get(client, host_of(county))  # warm the host map and the province-wide counts
    assert len(_queries(client, host_of(county))) == 3
    for n in range(3):
        make_department(county, name=f"部门{n}")
        implement(make_item(name=f"事项{n}", themes=["就业"]), county)
    home.shared.clear()
    _get(client, host_of(county))
    assert len(_queries(client, host_of(county))) == 3


def test_the_portal_home_is_computed_once_then_served_without_queries(client, catalog):
    cold = _queries(client, PORTAL)
    # The province, the theme counts, the item total, the units publishing each item, the popular
    # items, the cities, the province's departments (with its search path).
    assert len(cold) == 7, cold
    assert _queries(client, PORTAL) == []
    # Another language is rendered from the same figures.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _queries(client, PORTAL) == []


def test_the_portal_figures_are_refreshed_after_the_cache_period(
    client,
    catalog,
    make_item,
    monkeypatch,
):
    def shown(n):
        return f"{n} 项" if n else "暂无"

    before = BasicItem.objects.filter(themes__contains=["殡葬"]).count()
    assert _theme_tile(_get(client, PORTAL), "殡葬服务") == shown(before)
    make_item(name="死亡医学证明办理", themes=["殡葬"])
    assert _theme_tile(_get(client, PORTAL), "殡葬服务") == shown(before)  # within the period
    later = home.monotonic() + home.CACHE_SECONDS + 1
    monkeypatch.setattr(home, "monotonic", lambda: later)
    assert _theme_tile(_get(client, PORTAL), "殡葬服务") == shown(before + 1)


def test_both_homes_link_to_the_published_case_statistics(client, catalog, county):
    portal = client.get("/", HTTP_HOST=PORTAL).content.decode()
    assert re.search(r'<a href="/statistics" id="statistics-link">办件公示</a>', portal)
    unit = client.get("/", HTTP_HOST=host_of(county)).content.decode()
    assert re.search(r'<a href="/statistics" id="statistics-link">办件公示</a>', unit)
    assert client.get("/statistics", HTTP_HOST=host_of(county)).status_code == 200
