"""Places by name or code, the place picker (`/place`) and the remembered place (`gov_place`)."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test import RequestFactory

from tenants.context_processors import place as place_context
from tenants.hosts import host_map
from tenants.models import Tenant
from tenants.places import PLACE_COOKIE, find_places, safe_next

PORTAL = {"HTTP_HOST": settings.BASE_DOMAIN}


def codes(found):
    return [p.code for p in found]


@pytest.fixture
def chengguan(db):
    """Two townships called 城关镇, in two counties (Henan has many)."""
    for code, county, subdomain in (
        ("410102003000", "410102000000", "chengguan-zhongyuan"),
        ("410204002000", "410204000000", "chengguan-gulou"),
    ):
        Tenant.objects.create(
            code=code,
            name="城关镇",
            level="township",
            parent=Tenant.objects.get(code=county),
            schema_name=f"t_{code}",
            subdomain=subdomain,
        )
    host_map.invalidate()
    yield
    host_map.invalidate()  # the rows go with the test's transaction, which notifies nobody


@pytest.mark.parametrize(
    "text, code",
    [
        ("金水区", "410105000000"),
        ("郑州市金水区", "410105000000"),
        ("河南省郑州市金水区", "410105000000"),
        ("河南省 › 郑州市 › 金水区", "410105000000"),
        ("金水", "410105000000"),
        ("林山寨", "410102001000"),
        ("林山寨街道", "410102001000"),
        ("中原区林山寨", "410102001000"),
        ("410105", "410105000000"),
        ("410102001000", "410102001000"),
    ],
)
def test_a_place_by_name_or_code(db, text, code):
    assert codes(find_places(text)) == [code]


def test_what_names_no_unit_finds_nothing(db):
    assert find_places("开封市林山寨") == []  # 林山寨 lies in 郑州市
    assert find_places("999999") == [] and find_places("4101") == []
    assert find_places("  ") == []


def test_a_shared_name_gives_every_unit_with_its_path(chengguan):
    found = find_places("城关镇")
    assert codes(found) == ["410102003000", "410204002000"]
    assert [p.path for p in found] == [
        "河南省 › 郑州市 › 中原区 › 城关镇",
        "河南省 › 开封市 › 鼓楼区 › 城关镇",
    ]
    # The unit above settles it.
    assert codes(find_places("鼓楼区城关镇")) == ["410204002000"]
    assert codes(find_places("开封市城关")) == ["410204002000"]


def test_a_retired_unit_is_no_place(db):
    Tenant.objects.filter(code="410105001000").update(status=Tenant.Status.RETIRED)
    host_map.invalidate()
    try:
        assert find_places("经八路街道") == []
    finally:
        host_map.invalidate()


@pytest.mark.parametrize("text", ["金水\x00区", "金" * 51])
def test_nul_and_over_long_names_are_refused_clearly(db, text):
    with pytest.raises(ValidationError, match="名称或区划代码"):
        find_places(text)


@pytest.mark.parametrize(
    "target, allowed",
    [
        ("/services/?q=1", True),
        (f"http://{settings.BASE_DOMAIN}/services/", True),
        (f"http://zhongyuan.{settings.BASE_DOMAIN}:8000/services/x", True),
        ("https://evil.example/", False),
        (f"https://evil.example/{settings.BASE_DOMAIN}", False),
        (f"http://{settings.BASE_DOMAIN}.evil.example/", False),
        (f"http://evil{settings.BASE_DOMAIN}/", False),
        (f"http://evil.example@{settings.BASE_DOMAIN}/", False),
        ("//evil.example/", False),
        ("/\\evil.example/", False),
        ("\\\\evil.example", False),
        ("javascript:alert(1)", False),
        ("services/", False),
        ("/ok\nLocation: http://evil.example/", False),
        ("/" + "a" * 2001, False),
    ],
)
def test_next_stays_on_the_platform(target, allowed):
    assert (safe_next(target) == target) is allowed
    if not allowed:
        assert safe_next(target) is None


def test_the_picker_drills_down_from_the_province(client, db):
    top = client.get("/place", **PORTAL).content.decode()
    assert "河南省" in top and 'data-code="410000000000"' in top
    province = client.get("/place?code=410000000000&next=/services/", **PORTAL).content.decode()
    assert 'data-code="410100000000"' in province and 'data-code="410200000000"' in province
    # Drilling down keeps where to return to.
    assert "code=410100000000&amp;next=%2Fservices%2F" in province
    county = client.get("/place?code=410102000000", **PORTAL).content.decode()
    assert "林山寨街道" in county and "建设路街道" in county
    assert 'data-code="410105000000"' not in county  # 金水区 is not below 中原区
    assert "河南省</a> › <a" in county  # the trail back up
    assert client.get("/place?code=419999000000", **PORTAL).status_code == 400


def test_the_picker_finds_by_name(client, chengguan):
    page = client.get("/place?q=城关镇", **PORTAL).content.decode()
    assert (
        "河南省 › 郑州市 › 中原区 › 城关镇" in page and "河南省 › 开封市 › 鼓楼区 › 城关镇" in page
    )
    assert "没有叫这个名称的地方" in client.get("/place?q=无此地", **PORTAL).content.decode()


@pytest.mark.parametrize("bad", ["q=金水%00区", "q=" + "金" * 60, "next=/%00", "code=41%00"])
def test_the_picker_refuses_bad_input_clearly(client, db, bad):
    response = client.get(f"/place?{bad}", **PORTAL)
    assert response.status_code == 400 and "<html" in response.content.decode()


def test_using_a_place_sets_the_cookie_for_every_subdomain_and_returns(client, db):
    back = f"http://zhongyuan.{settings.BASE_DOMAIN}/services/"
    response = client.post("/place", {"code": "410102001000", "next": back}, **PORTAL)
    assert response.status_code == 302 and response["Location"] == back
    cookie = response.cookies[PLACE_COOKIE]
    assert cookie.value == "410102001000"
    assert cookie["domain"] == f".{settings.BASE_DOMAIN}" and cookie["path"] == "/"
    assert cookie["samesite"] == "Lax" and int(cookie["max-age"]) == 365 * 24 * 3600
    page = client.get("/place", **PORTAL).content.decode()
    assert "林山寨街道" in page.split('id="current-place"')[1].split("</div>")[0]


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", f"http://{settings.BASE_DOMAIN}.evil.example/"],
)
def test_using_a_place_never_redirects_off_the_platform(client, db, target):
    response = client.post("/place", {"code": "410105000000", "next": target}, **PORTAL)
    assert response.status_code == 302
    assert response["Location"] == "/place?code=410105000000"


def test_an_unknown_or_bad_place_is_not_remembered(client, db):
    for code in ("419999000000", "4101", "x" * 5000, "41010\x00000000"):
        response = client.post("/place", {"code": code}, **PORTAL)
        assert response.status_code == 400 and PLACE_COOKIE not in response.cookies


def test_forgetting_the_place(client, db):
    client.cookies[PLACE_COOKIE] = "410105000000"
    response = client.post("/place", {"forget": "1", "next": "/services/"}, **PORTAL)
    assert response["Location"] == "/services/"
    assert response.cookies[PLACE_COOKIE].value == ""


@pytest.mark.parametrize(
    "cookie, name",
    [("410105000000", "金水区"), ("419999000000", None), ("abc", None), ("", None)],
)
def test_current_place_in_every_template(db, cookie, name):
    request = RequestFactory().get("/", HTTP_COOKIE=f"{PLACE_COOKIE}={cookie}")
    current = place_context(request)["current_place"]
    assert (current.name if current else None) == name
    rendered = Template("{{ current_place.name|default:'-' }}").render(
        Context(place_context(request))
    )
    assert rendered == (name or "-")


def test_places_api_pages_with_totals(client, chengguan):
    found = client.get("/api/v1/places?q=城关镇&page_size=1", **PORTAL).json()
    assert (found["count"], found["pages"], found["page"], found["page_size"]) == (2, 2, 1, 1)
    assert found["items"][0]["path"] == "河南省 › 郑州市 › 中原区 › 城关镇"
    second = client.get("/api/v1/places?q=城关镇&page_size=1&page=2", **PORTAL).json()
    assert second["items"][0]["code"] == "410204002000"
    children = client.get("/api/v1/places/410102000000/children", **PORTAL).json()
    assert [c["name"] for c in children["items"]] == ["林山寨街道", "建设路街道", "城关镇"]
    assert children["count"] == 3
    assert client.get("/api/v1/places/419999000000/children", **PORTAL).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["q=金水%00区", "q=" + "金" * 51, "q=金水&page_size=101", "q=金水&page=0", "q=金水&page=x"],
)
def test_places_api_refuses_bad_input(client, db, query):
    response = client.get(f"/api/v1/places?{query}", **PORTAL)
    expected = (400, "bad_request") if "%00" in query else (422, "invalid")
    assert (response.status_code, response.json()["code"]) == expected
