"""Every page as people use it, in Chromium: on a phone (390 px) and a desktop (1280 px).

A sweep follows the same-origin links of the provincial portal's home and a county's home (depth
2, at most MAX_PAGES pages, so pages added later are covered without listing them), plus the pages
no link reaches anonymously (a guide, a failed routing, the error pages, a staff member's pages).
On each page, at both widths: axe-core (the npm package pinned in tests/browser/package.json)
finds no serious or critical violation of WCAG 2.1 AA, there is one h1 and one <main>, nothing is
wider than a phone's screen, no table cell is squeezed under two characters, and a screenshot is
saved under $BROWSER_SCREENSHOTS (CI keeps them as artefacts). Then the elderly-friendly mode and
the keyboard: Tab reaches the search box and the main links, each with a visible focus ring.
"""

import hashlib
import os
import re
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
from django.conf import settings

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests.test_browser import PASSWORD, SCREENSHOTS, committed, url

# The browser tests' fixtures: a live server on the test database, and Chromium.
browser = shared.browser
live_platform = shared.live_platform

AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
MAX_PAGES = 40
MAX_DEPTH = 2
# 金水区 of the sample province: the browser tests' unit, whose committed services and staff no
# other test counts.
COUNTY = "410105000000"
ITEM_CODE = "410199001000"
# Not pages of the platform's own design: the Django admin and the API's documentation.
NOT_SWEPT = re.compile(r"^/(admin|api|static)/")

LAYOUT = """() => {
  const root = document.documentElement;
  const hidden = (element) => {
    for (let node = element; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden" || style.clip !== "auto") return true;
    }
    return false;
  };
  const narrow = [];
  for (const cell of document.querySelectorAll("th, td")) {
    const text = cell.innerText.trim();
    if (!text || hidden(cell)) continue;
    const style = getComputedStyle(cell);
    const width = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (width < 2 * parseFloat(style.fontSize) - 0.5) narrow.push(`${text.slice(0, 12)}: ${Math.round(width)} px`);
  }
  const wide = [];
  if (root.scrollWidth > window.innerWidth) {
    for (const element of document.body.querySelectorAll("*")) {
      const right = element.getBoundingClientRect().right;
      if (right > window.innerWidth + 1 && !hidden(element)) {
        wide.push(`${element.tagName.toLowerCase()}.${element.className} ends at ${Math.round(right)} px`);
        if (wide.length === 3) break;
      }
    }
  }
  return {
    scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, wide, narrow,
    h1: document.querySelectorAll("h1").length, main: document.querySelectorAll("main").length,
  };
}"""

AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = (
            "axe-core is not installed: run `npm ci` in tests/browser (.ci/run does it; "
            "Debian: apt-get install npm)"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


def _publish_a_service_and_a_staff_member():
    """A guide with fees, a window and materials in the county, and its administrator signed in
    with a second factor (the session cookie's value)."""
    from django.test import Client

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, User
    from shared_apps.catalog import actions
    from shared_apps.catalog.models import GuideMaterial, OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from tenants.models import Tenant

    root = User.objects.create_superuser("sweep-root", password=PASSWORD)
    county = Tenant.objects.get(code=COUNTY)
    item = actions.save_basic_item(
        actor=root,
        code=ITEM_CODE,
        name="小餐饮经营许可证核发",
        exercising_levels=[4],
        keywords=["小餐馆"],
        themes=["开办企业"],
    )
    version = actions.draft_version(
        item,
        actor=root,
        legal_basis="《河南省食品小作坊、小经营店和食品摊贩管理条例》第十三条",
        conditions="有与经营的食品品种、数量相适应的经营场所\n有符合要求的食品安全管理制度",
        process="申请、受理、现场核查、决定、发证",
        statutory_days=15,
        fees=[{"item": "证照工本费", "rate": "不收费", "basis": "豫财综〔2017〕21号"}],
        result_name="小餐饮经营许可证",
        in_person_visits=1,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[
            {"name": "小餐饮经营许可申请表", "blank_form_url": "https://example.gov.cn/form.docx"},
            {"name": "营业执照", "source": GuideMaterial.Source.GOVERNMENT},
            {"name": "经营场所平面布局图", "copies": 1, "necessity": GuideMaterial.Necessity.LATER},
        ],
    )
    actions.publish_version(version, actor=root)
    service = actions.implement_item(
        actor=root,
        tenant=county,
        department=make_department(county, "市场监督管理局"),
        item=item,
        promised_days=5,
        place="金水区政务服务中心（经三路 32 号）",
        window="二楼 12 号窗口",
        hours="工作日 9:00–12:00、13:30–17:00",
        enquiry_phone="0371-67180000",
        complaint_phone="12345",
        online_depth=OnlineDepth.PRE_REVIEW,
        material_ids=[m.id for m in version.materials.all()],
        form_schema={
            "type": "object",
            "required": ["shop_name", "kind"],
            "properties": {
                "shop_name": {"type": "string", "title": "店铺名称", "maxLength": 50},
                "kind": {"type": "string", "title": "经营类别", "enum": ["热食类", "冷食类"]},
                "area": {"type": "number", "title": "经营面积（平方米）", "minimum": 1},
                "opening": {"type": "string", "title": "开业日期", "format": "date"},
                "scope": {"type": "string", "title": "经营范围", "maxLength": 500},
                "chain": {"type": "boolean", "title": "连锁经营"},
            },
        },
    )
    actions.publish_implementation(service, actor=root, tenant=county)
    admin = User.objects.create_user(
        "sweep-admin", password=PASSWORD, phone="13312340090", real_name="郑十"
    )
    accounts.grant_role(actor=root, user=admin, tenant=county, role=Role.TENANT_ADMIN)
    # Also a window clerk: the workbench shows the hall window and the forms to accept a case.
    accounts.grant_role(actor=root, user=admin, tenant=county, role=Role.WINDOW_CLERK)
    own = _a_case_asking_for_corrections(root, county, service, admin)
    citizen = User.objects.create_user("sweep-citizen", phone="13312340091", real_name="冯十一")
    queued = _a_submitted_case(county, service, citizen)
    client = sign_in_with_second_factor(Client(), admin)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return county.subdomain, service.code, session, own, queued


def _uploaded(cases, draft, service, applicant) -> list[dict]:
    """Every guide material of the draft, uploaded as the applicant's page does."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
    materials = []
    for row in service.materials.select_related("guide_material"):
        file = cases.attach_file(
            draft,
            actor=applicant,
            material_id=row.guide_material_id,
            upload=SimpleUploadedFile(f"{row.guide_material.name}.pdf", pdf),
        )
        materials.append(
            {
                "material_id": row.guide_material_id,
                "kind": "upload",
                "file_id": str(file.public_id),
                "sha256": file.sha256,
            }
        )
    return materials


def _a_submitted_case(county, service, citizen) -> str:
    """A citizen's application in the county's queue, for the workbench's pages."""
    from django.db import connection

    from tenant_apps.cases import actions as cases

    connection.set_tenant(county)
    try:
        draft = cases.save_draft(
            actor=citizen,
            implementation=service,
            form_data={"shop_name": "冯记面馆", "kind": "热食类", "area": 40},
        )
        materials = _uploaded(cases, draft, service, citizen)
        return str(cases.submit(draft, actor=citizen, materials=materials).public_id)
    finally:
        connection.set_schema_to_public()


def _a_case_asking_for_corrections(root, county, service, applicant) -> str:
    """The staff member's own application (citizen pages are swept signed in), with corrections
    asked, so that the case page shows every section."""
    from django.db import connection

    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, User
    from tenant_apps.cases import actions as cases

    clerk = User.objects.create_user("sweep-clerk")
    accounts.grant_role(actor=root, user=clerk, tenant=county, role=Role.WINDOW_CLERK)
    connection.set_tenant(county)
    try:
        draft = cases.save_draft(
            actor=applicant,
            implementation=service,
            form_data={"shop_name": "老郑小吃", "kind": "热食类", "area": 30},
        )
        materials = _uploaded(cases, draft, service, applicant)
        case = cases.submit(draft, actor=applicant, materials=materials)
        cases.request_corrections(
            case, actor=clerk, items=["营业执照复印件不清晰，请重新上传", "申请表缺少签名"]
        )
        return str(case.public_id)
    finally:
        connection.set_schema_to_public()


@pytest.fixture(scope="module")
def site(live_platform, django_db_blocker):
    with django_db_blocker.unblock():
        subdomain, service_code, session, case, queued = committed(
            _publish_a_service_and_a_staff_member
        )
    return {
        "port": live_platform,
        "county": subdomain,
        "service": service_code,
        "session": session,
        "case": case,
        "queued": queued,
    }


def _same_origin_links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        address = urldefrag(href)[0]
        parts = urlsplit(address)
        if f"{parts.scheme}://{parts.netloc}" == origin and not NOT_SWEPT.match(parts.path):
            found.append(address)
    return found


@pytest.fixture(scope="module")
def pages(site, browser, django_db_blocker):
    """The anonymous pages to check (crawled from the two homes) and the staff member's."""
    with django_db_blocker.unblock():  # the server's threads use the database
        return _crawl(site, browser)


def _crawl(site, browser):
    port, county = site["port"], site["county"]
    # Pages no anonymous link reaches (or not within two clicks), always checked.
    unlinked = [
        url(port, "/services/"),
        url(port, "/services/?q=小餐馆"),
        url(port, f"/services/items/{ITEM_CODE}"),
        url(port, f"/services/route?item={ITEM_CODE}&place=410204000000"),
        url(port, "/services/?level=99"),  # the 400 page
        url(port, "/no-such-page"),
        url(port, "/services/", county),
        url(port, f"/services/{site['service']}", county),
        url(port, "/accounts/enrol/no-such-link", county),
        url(port, "/verify/41010520261129000?c=0123456789abcdef", county),  # a wrong check code
        url(port, "/statistics"),  # 办件公示
        url(port, "/statistics", county),
    ]
    staff = [
        url(port, "/accounts/me", county),
        url(port, "/staff", county),
        url(port, "/services/manage", county),
        url(port, "/workbench/", county),
        url(port, "/workbench/?queue=all", county),
        url(port, f"/workbench/cases/{site['queued']}", county),
        # Corrections asked: the window clerk's resubmission form with its file inputs.
        url(port, f"/workbench/cases/{site['case']}", county),
        url(port, "/workbench/window", county),
        # The citizen's pages (the staff member applies for something too).
        url(port, f"/apply/{site['service']}", county),
        url(port, "/my/cases", county),
        url(port, f"/my/cases/{site['case']}", county),
        url(port, "/my/cases"),
    ]
    anonymous = dict.fromkeys(unlinked)
    page = browser.new_page()
    problems = []
    homes = [url(port, "/"), url(port, "/", county)]
    for number, start in enumerate(homes):
        # Each home gets its share of what is left of the budget.
        budget = len(anonymous) + (MAX_PAGES - len(staff) - len(anonymous)) // (len(homes) - number)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
        queue, seen = deque([(start, 0)]), {start}
        while queue and len(anonymous) < budget:
            address, depth = queue.popleft()
            response = page.goto(address)
            if response.status != 200:
                problems.append(f"{address}: {response.status}")
                continue
            anonymous[address] = None
            if depth == MAX_DEPTH:
                continue
            for link in _same_origin_links(page, origin):
                if link not in seen:
                    seen.add(link)
                    queue.append((link, depth + 1))
    page.close()
    assert problems == [], "links to pages that fail:\n" + "\n".join(problems)
    return {"anonymous": list(anonymous), "staff": staff}


def _slug(address: str) -> str:
    """A file name for the page's screenshot: ASCII, with a short digest when the address held
    more (Chinese search words)."""
    parts = urlsplit(address)
    host = parts.hostname.removesuffix(settings.BASE_DOMAIN).strip(".") or "portal"
    path = unquote(f"{parts.path}?{parts.query}")
    slug = re.sub(r"[^0-9A-Za-z]+", "-", path).strip("-") or "home"
    if not path.isascii():
        slug += "-" + hashlib.sha1(path.encode()).hexdigest()[:6]
    return f"{host}-{slug}"[:120]


def _check(
    page, address: str, width: str, expected_status: int = 200, folder: str = "pages"
) -> list[str]:
    page.set_viewport_size(WIDTHS[width])
    response = page.goto(address)
    found = []
    if response.status != expected_status:
        found.append(f"status {response.status}")
    layout = page.evaluate(LAYOUT)
    if layout["scrollWidth"] > layout["innerWidth"]:
        found.append(
            f"{layout['scrollWidth']} px wide in a {layout['innerWidth']} px window: "
            + "; ".join(layout["wide"])
        )
    found += [f"table cell under two characters wide: {cell}" for cell in layout["narrow"]]
    if layout["h1"] != 1 or layout["main"] != 1:
        found.append(f"{layout['h1']} h1 and {layout['main']} main (one of each wanted)")
    found += page.evaluate(AXE_RUN)
    shots = SCREENSHOTS / folder / width
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{_slug(address)}.png"), full_page=True)
    return [f"{address} at {width} width: {problem}" for problem in found]


def _expected_status(address: str) -> int:
    if "no-such-page" in address:
        return 404
    if "level=99" in address:
        return 400
    if "/services/route" in address:
        return 404  # no unit of that county implements the item
    if "/verify/" in address:
        return 404  # a wrong check code
    return 200


def _sweep(browser, site, pages, axe_source, width: str) -> list[str]:
    page = browser.new_page()
    page.add_init_script(script=axe_source)
    problems = []
    for address in pages["anonymous"]:
        problems += _check(page, address, width, _expected_status(address))
    browser.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": site["session"],
                "domain": settings.SESSION_COOKIE_DOMAIN,
                "path": "/",
            }
        ]
    )
    try:
        for address in pages["staff"]:
            problems += _check(page, address, width)
    finally:
        browser.clear_cookies()
        page.close()
    return problems


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_is_accessible_and_fits(db, browser, site, pages, axe_source, width):
    assert len(pages["anonymous"]) >= 12, pages  # the crawl found the pages it should
    problems = _sweep(browser, site, pages, axe_source, width)
    assert problems == [], "\n".join(problems)


def test_elderly_mode_is_switched_on_every_page_and_kept_across_units(
    db,
    browser,
    site,
    axe_source,
):
    port, county = site["port"], site["county"]
    page = browser.new_page()
    page.add_init_script(script=axe_source)
    page.set_viewport_size(WIDTHS["phone"])
    guide = url(port, f"/services/{site['service']}", county)
    page.goto(guide)
    normal_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert page.locator("html.elderly").count() == 0
    with page.expect_navigation():
        page.click("#elderly-form button")
    assert page.url == guide  # back on the same page
    assert page.locator("html.elderly").count() == 1
    elderly_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert elderly_size >= 20 > normal_size
    toggle = page.locator("#elderly-form button")
    assert toggle.inner_text() == "返回标准版" and toggle.bounding_box()["height"] >= 48
    # Secondary blocks (codes, legal basis) give way; the key facts and how to apply stay.
    assert not page.locator("#guide .secondary").first.is_visible()
    assert page.locator("#key-facts").is_visible() and page.locator("#apply-online").is_visible()
    assert _check(page, guide, "phone", folder="elderly") == []
    # The cookie is the base domain's: the portal and other units show it too, without JavaScript.
    page.goto(url(port, "/services/?q=小餐馆"))
    assert page.locator("html.elderly").count() == 1
    assert _check(page, page.url, "desktop", folder="elderly") == []
    with page.expect_navigation():
        page.click("#elderly-form button")
    assert page.locator("html.elderly").count() == 0
    assert urlsplit(page.url).path == "/services/" and "q=" in page.url
    page.close()


def test_english_pages_read_as_english_on_a_phone(db, browser, site, axe_source):
    port, county = site["port"], site["county"]
    page = browser.new_page()
    page.add_init_script(script=axe_source)
    page.set_viewport_size(WIDTHS["phone"])
    guide = url(port, f"/services/{site['service']}", county)
    page.goto(guide)
    with page.expect_navigation():
        page.click("#language-form button")
    assert page.url == guide
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.inner_text(".site-name") == "Henan Online Government Services"
    assert page.inner_text("#apply-online h2") == "Apply online"
    assert _check(page, guide, "phone", folder="english") == []
    # The choice holds on the portal too (a cookie for the base domain).
    assert _check(page, url(port, "/services/?q=小餐馆"), "phone", folder="english") == []
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.click("#language-form button")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.close()


FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return {
    tag: element.tagName.toLowerCase(), name: element.getAttribute("name"),
    text: (element.innerText || "").trim().slice(0, 30), href: element.getAttribute("href"),
    ring: outline || style.boxShadow !== "none",
    visible: element.getBoundingClientRect().top >= 0 && element.getBoundingClientRect().height > 0,
  };
}"""


def _tab_through(page, presses: int) -> list[dict]:
    """Where each press of Tab lands, until the end of the page (focus back on the body)."""
    stops = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_RING)
        if stop["tag"] == "body":
            break
        stops.append(stop)
    return stops


def test_keyboard_reaches_search_and_main_links_with_a_visible_focus(db, browser, site):
    port, county = site["port"], site["county"]
    page = browser.new_page()
    page.set_viewport_size(WIDTHS["desktop"])
    page.goto(url(port, "/services/?q=小餐馆"))
    stops = _tab_through(page, 25)
    # The first stop is the skip link, shown while focused; Enter moves to the main content.
    assert stops[0]["href"] == "#main" and stops[0]["visible"]
    assert [s for s in stops if not (s["ring"] and s["visible"])] == []
    assert any(s["tag"] == "input" and s["name"] == "q" for s in stops)
    assert any(s["text"] == "小餐饮经营许可证核发" for s in stops), stops
    page.goto(url(port, "/services/", county))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    stops = _tab_through(page, 10)
    assert stops[0]["name"] == "q"  # from the main content, the search box comes first
    assert any(s["text"] == "小餐饮经营许可证核发" and s["ring"] for s in stops), stops
    page.close()
