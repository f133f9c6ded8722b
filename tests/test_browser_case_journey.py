"""The whole journey of one application (issue 10), in Chromium, every step through the pages:

1. a citizen signs in on the portal, finds the item with the catalog's search box, presses 在线申请
   and is routed to the county that implements it, fills the form, uploads a PDF per material and
   submits;
2. a window clerk on the county's subdomain accepts it from the queue (the acceptance notice is
   there);
3. a reviewer starts the review and asks for a correction;
4. the citizen reads what is asked, uploads a corrected file and resubmits;
5. the reviewer, who also holds the approver's role, approves; the clerk delivers electronically;
6. the citizen sees the decision, downloads it (a PDF with the case number), finds every step in
   the portal's inbox and the case in the portal's "my cases".
And a second citizen can open neither the case page nor its documents.

Only the catalog and the people are set up directly. The browser holds one person's session at a
time (the cookie is the base domain's, as after signing in); the staff sign in with their second
factor (conftest.sign_in_with_second_factor).
"""

import io
import re

import pytest
from django.conf import settings
from django.utils import translation

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests import test_browser_pages as pages
from tests.test_browser import PASSWORD, committed, shot, url

browser = shared.browser
live_platform = shared.live_platform
axe_source = pages.axe_source

# 济源市, a county-level city under the province: no other browser test commits anything there.
COUNTY = "419001000000"
TOWNSHIP = "419001001000"  # 沁园街道, which has no listing of its own
ITEM_CODE = "410188301000"
ITEM_NAME = "户外招牌设置审批"
KEYWORD = "挂招牌"
CITIZEN_PHONE = "13312340301"
FORM_SCHEMA = {
    "type": "object",
    "required": ["shop_name", "kind", "area"],
    "properties": {
        "shop_name": {"type": "string", "title": "店铺名称", "maxLength": 50},
        "kind": {"type": "string", "title": "招牌类型", "enum": ["平面招牌", "立体招牌"]},
        "area": {"type": "number", "title": "招牌面积（平方米）", "minimum": 0.1},
    },
}
CORRECTION = "设置效果图缺少尺寸标注，请重新上传"
WAIT = 30_000  # ms: a page on a loaded machine (Playwright's default, made explicit)


def _pdf(text: str) -> bytes:
    """A small real PDF (one page holding `text`)."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    document.drawString(72, 720, text)
    document.save()
    return buffer.getvalue()


def _set_up():
    """The catalog (an item exercised at county level, implemented by 济源市 with a form and two
    materials) and the people: a citizen with a password, another citizen, a window clerk, and one
    person who is both reviewer and approver (both staff signed in with a second factor)."""
    from django.test import Client

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, User
    from shared_apps.catalog import actions
    from shared_apps.catalog.models import OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from tenants.models import Tenant

    root = User.objects.create_superuser("journey-root", password=PASSWORD)
    county = Tenant.objects.get(code=COUNTY)
    item = actions.save_basic_item(
        actor=root,
        code=ITEM_CODE,
        name=ITEM_NAME,
        exercising_levels=[4],
        keywords=[KEYWORD, "招牌"],
        themes=["开办企业"],
    )
    version = actions.draft_version(
        item,
        actor=root,
        legal_basis="《城市市容和环境卫生管理条例》第十一条",
        conditions="设置位置符合户外广告设施设置规划",
        process="申请、受理、审查、决定、送达",
        statutory_days=20,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[{"name": "设置申请书"}, {"name": "设置效果图"}],
    )
    actions.publish_version(version, actor=root)
    service = actions.implement_item(
        actor=root,
        tenant=county,
        department=make_department(county, "城市管理局"),
        item=item,
        promised_days=10,
        place="济源市民之家",
        hours="工作日",
        enquiry_phone="0391-6600000",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        form_schema=FORM_SCHEMA,
    )
    actions.publish_implementation(service, actor=root, tenant=county)

    User.objects.create_user(
        "journey-citizen",
        password=PASSWORD,
        phone=CITIZEN_PHONE,
        real_name="秦一",
    )
    other = User.objects.create_user("journey-other", phone="13312340302", real_name="秦二")
    clerk = User.objects.create_user("journey-clerk", real_name="窗口甲")
    accounts.grant_role(actor=root, user=clerk, tenant=county, role=Role.WINDOW_CLERK)
    reviewer = User.objects.create_user("journey-reviewer", real_name="审查乙")
    accounts.grant_role(actor=root, user=reviewer, tenant=county, role=Role.REVIEWER)
    accounts.grant_role(actor=root, user=reviewer, tenant=county, role=Role.APPROVER)

    def session(user, staff=True):
        client = Client()
        if staff:
            sign_in_with_second_factor(client, user)
        else:
            client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return {
        "county": county.subdomain,
        "service": service.code,
        "clerk": session(clerk),
        "reviewer": session(reviewer),
        "other": session(other, staff=False),
    }


def _relay_notices():
    from tenant_apps.cases import notices

    return notices.relay()


def _zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


def _as(browser, session: str) -> None:
    """The browser now holds this person's session only."""
    browser.clear_cookies()
    browser.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session,
                "domain": settings.SESSION_COOKIE_DOMAIN,
                "path": "/",
            }
        ]
    )


def _act(page, intent: str) -> None:
    """Press the workbench's button for `intent` and wait for the case page it leads back to."""
    with page.expect_navigation(timeout=WAIT):
        page.click(f"button[data-intent={intent}]")
    errors = page.locator("#case-error")
    assert errors.count() == 0, errors.inner_text()


FETCH = """async (address) => {
  const reply = await fetch(address, {credentials: "same-origin", cache: "no-store"});
  const body = new Uint8Array(await reply.arrayBuffer());
  return {status: reply.status, type: reply.headers.get("content-type"), body: Array.from(body)};
}"""


def _download(page, address: str) -> tuple[int, str, bytes]:
    """Fetch `address` as the page's own script would, with its cookies (Playwright's request API
    does not resolve `*.localhost`, Chromium does): status, content type and body."""
    reply = page.evaluate(FETCH, address)
    return reply["status"], reply["type"], bytes(reply["body"])


def _state(page) -> str:
    return page.inner_text("#case-state").strip()


@pytest.fixture(scope="module")
def journey(live_platform, django_db_blocker):
    with django_db_blocker.unblock():
        return {"port": live_platform, **committed(_set_up)}


def _fits(browser, axe_source: str, address: str) -> list[str]:
    """The sweep's checks (axe, one h1 and one main, nothing wider than a phone) of a page in a
    state the sweep does not reach, on a phone, in a page of its own (axe is loaded there only)."""
    checker = browser.new_page()
    try:
        checker.add_init_script(script=axe_source)
        return pages._check(checker, address, "phone", folder="journey")
    finally:
        checker.close()


def test_a_citizen_applies_and_the_county_handles_it_to_the_end(
    db, live_platform, browser, journey, django_db_blocker, axe_source
):
    from pypdf import PdfReader

    from tenant_apps.cases.models import Decision, Delivery, State

    port, county = journey["port"], journey["county"]
    page = browser.new_page()
    page.set_default_timeout(WAIT)
    problems = []
    try:
        # 1. The citizen signs in on the portal and finds the item with the search box.
        browser.clear_cookies()
        page.goto(url(port, "/accounts/sign-in"))
        page.fill("#id_username", CITIZEN_PHONE)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/accounts/me")
        citizen = next(
            c["value"] for c in browser.cookies() if c["name"] == settings.SESSION_COOKIE_NAME
        )
        page.goto(url(port, "/services/"))
        page.fill("#catalog-search input[name=q]", KEYWORD)
        with page.expect_navigation():
            page.click("#catalog-search button[type=submit]")
        with page.expect_navigation():
            page.click(f"a:text-is('{ITEM_NAME}')")
        assert page.inner_text("h1") == ITEM_NAME
        # 在线申请, for a township of the county: straight to the county's application form.
        page.fill("#route-place", TOWNSHIP)
        assert page.inner_text("#route-apply") == "在线申请"
        page.click("#route-apply")
        page.wait_for_url(
            f"**://{county}.{settings.BASE_DOMAIN}:{port}/apply/{journey['service']}**"
        )
        assert ITEM_NAME in page.inner_text("h1")

        page.fill("[name=form-shop_name]", "秦记烩面馆")
        page.select_option("[name=form-kind]", "立体招牌")
        page.fill("[name=form-area]", "2.5")
        uploads = page.locator("#materials input[type=file]")
        assert uploads.count() == 2
        for index in range(uploads.count()):
            uploads.nth(index).set_input_files(
                files=[
                    {
                        "name": f"材料{index + 1}.pdf",
                        "mimeType": "application/pdf",
                        "buffer": _pdf(f"material {index + 1}"),
                    }
                ]
            )
        shot(page, "journey-1-apply")
        page.click("#apply-form button[value=submit]")
        page.wait_for_url(f"**://{county}.{settings.BASE_DOMAIN}:{port}/my/cases/*")
        case_id = page.url.rsplit("/", 1)[1]
        number = page.inner_text("#case-number").strip()
        # 办件编号: the implementation code (the item's code in it), the day and a sequence.
        assert re.fullmatch(r"[0-9A-Z]+\d{12}", number) and ITEM_CODE in number, number
        assert _state(page) == _zh(State.SUBMITTED.label)
        shot(page, "journey-1-submitted")
        case_page = url(port, f"/workbench/cases/{case_id}", county)

        # 2. The window clerk accepts it from the queue.
        _as(browser, journey["clerk"])
        page.goto(url(port, "/workbench/?queue=to_accept", county))
        with page.expect_navigation():
            page.click(f"#cases tr[data-case='{case_id}'] a")
        assert page.inner_text("#case-number") == number
        _act(page, "accept")
        assert _state(page) == _zh(State.ACCEPTED.label)
        notice = page.locator("#documents + ul a[href*='acceptance-notice']")
        assert notice.count() == 1
        status, kind, body = _download(page, notice.get_attribute("href"))
        assert (status, kind) == (200, "application/pdf")
        assert number in PdfReader(io.BytesIO(body)).pages[0].extract_text()
        shot(page, "journey-2-accepted")

        # 3. The reviewer starts the review and asks for a correction.
        _as(browser, journey["reviewer"])
        page.goto(case_page)
        _act(page, "start_review")
        assert _state(page) == _zh(State.UNDER_REVIEW.label)
        page.fill("#form-request_corrections textarea[name=items]", CORRECTION)
        _act(page, "request_corrections")
        assert _state(page) == _zh(State.CORRECTIONS_REQUESTED.label)
        shot(page, "journey-3-corrections-asked")

        # 4. The citizen reads what is asked, uploads a corrected file and resubmits.
        _as(browser, citizen)
        page.goto(url(port, f"/my/cases/{case_id}", county))
        assert CORRECTION in page.inner_text("#corrections")
        assert page.input_value("[name=form-shop_name]") == "秦记烩面馆"  # what was filed stays
        page.locator("#resubmit-form input[type=file]").nth(1).set_input_files(
            files=[
                {
                    "name": "设置效果图（已标注尺寸）.pdf",
                    "mimeType": "application/pdf",
                    "buffer": _pdf("corrected"),
                }
            ]
        )
        shot(page, "journey-4-correcting")
        with page.expect_navigation():
            page.click("#resubmit-form button[value=resubmit]")
        assert page.locator("#form-errors").count() == 0
        assert _state(page) == _zh(State.UNDER_REVIEW.label)
        assert page.locator("#corrections").count() == 0
        assert "设置效果图（已标注尺寸）.pdf" in page.inner_text("#case-materials")

        # 5. The reviewer (also the approver) approves; the clerk delivers electronically.
        _as(browser, journey["reviewer"])
        page.goto(case_page)
        page.select_option("#form-decide select[name=decision]", Decision.APPROVED.value)
        page.fill("#form-decide textarea[name=reasons]", "设置位置与规格符合规划要求")
        page.fill(
            "#form-decide textarea[name=legal_basis]", "《城市市容和环境卫生管理条例》第十一条"
        )
        _act(page, "decide")
        assert _state(page) == _zh(State.DECIDED.label)
        _as(browser, journey["clerk"])
        page.goto(case_page)
        page.select_option("#form-deliver select[name=method]", Delivery.ELECTRONIC.value)
        _act(page, "deliver")
        assert _state(page) == _zh(State.DELIVERED.label)
        shot(page, "journey-5-delivered")
        problems += _fits(browser, axe_source, case_page)

        # 6. The citizen sees the result and downloads the decision.
        _as(browser, citizen)
        mine = url(port, f"/my/cases/{case_id}", county)
        page.goto(mine)
        assert _state(page) == _zh(State.DELIVERED.label)
        assert page.inner_text("#decision-value") == _zh(Decision.APPROVED.label)
        assert "设置位置与规格符合规划要求" in page.inner_text("#decision")
        link = page.locator("#documents a[data-kind=decision]")
        decision_address = url(port, link.get_attribute("href"), county)
        # Fetched by the page itself (clicked, Chromium would show it in its PDF viewer, whose
        # page is all a response's body then gives).
        status, kind, body = _download(page, decision_address)
        assert (status, kind) == (200, "application/pdf")
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
        assert number in text
        shot(page, "journey-6-decided")
        problems += _fits(browser, axe_source, mine)

        # Every step the citizen must know of is in the portal's inbox, once the relay has run.
        with django_db_blocker.unblock():
            committed(_relay_notices)
            committed(_relay_notices)  # run again (the scheduler does): nothing twice
        page.goto(url(port, "/accounts/me"))
        inbox = page.inner_text("#notices")
        from shared_apps.notifications.kinds import KINDS

        for kind in (
            "case_submitted",
            "case_accepted",
            "case_corrections_requested",
            "case_decided",
            "case_delivered",
        ):
            assert _zh(KINDS[kind].title) % {"number": number} in inbox, kind
        assert CORRECTION in inbox
        assert page.locator("#notices li", has_text=number).count() == 5
        shot(page, "journey-6-inbox")
        # The portal's "my cases" lists it with its state, linking to the county's page.
        page.goto(url(port, "/my/cases"))
        row = page.locator("#my-cases tbody tr", has_text=number)
        assert row.count() == 1 and _zh(State.DELIVERED.label) in row.inner_text()
        with page.expect_navigation():
            row.locator("a").first.click()
        assert page.url == mine

        problems += _fits(browser, axe_source, url(port, "/my/cases"))
        problems += _fits(browser, axe_source, url(port, "/accounts/me"))
        assert problems == [], "\n".join(problems)

        # Another citizen's browser can open neither the case page nor its decision.
        _as(browser, journey["other"])
        assert page.goto(mine).status == 404
        assert _download(page, decision_address)[0] == 404
        assert page.goto(url(port, "/my/cases")).status == 200
        assert number not in page.inner_text("main")
    finally:
        browser.clear_cookies()
        page.close()
