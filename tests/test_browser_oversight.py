"""Oversight in Chromium (issue 11 item 6): a provincial supervisor opens /oversight/ on the
portal, drills down province → 开封市 → 鼓楼区, sees a red case there, opens its ledger history
and issues a supervision order (督办) with a deadline; then 鼓楼区's administrator finds the order
on the county's subdomain and acknowledges it.

The case goes red through the real steps: a citizen submits it, a window clerk accepts it (its
clock runs), the deadline job (`mark_deadlines`, run as of two months later) marks it red and the
supervision relay copies the events into the ledger. Only the catalog and the people are set up
directly. 开封市 (and 鼓楼区): no other browser test commits anything there.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import translation

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests import test_browser_pages as pages
from tests.test_browser import committed, shot, url
from tests.test_browser_case_journey import WAIT, _as, _fits

browser = shared.browser
live_platform = shared.live_platform
axe_source = pages.axe_source

PROVINCE, CITY, COUNTY = "410000000000", "410200000000", "410204000000"
ITEM_CODE = "410288302000"
REQUIRED_ACTION = "三个工作日内办结并书面说明超期原因"


def _set_up():
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, StaffMembership, User
    from shared_apps.catalog import actions as catalog
    from shared_apps.catalog.models import OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from shared_apps.supervision import relay
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import uploads
    from tenants.models import Tenant

    root = User.objects.create_superuser("oversight-root")
    county = Tenant.objects.get(code=COUNTY)
    item = catalog.save_basic_item(
        actor=root, code=ITEM_CODE, name="占用城市道路审批", exercising_levels=[4]
    )
    version = catalog.draft_version(
        item,
        actor=root,
        legal_basis="《城市道路管理条例》第三十一条",
        conditions="占用期限和范围符合规定",
        process="申请、受理、审查、决定",
        statutory_days=20,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[{"name": "占道申请书"}],
    )
    catalog.publish_version(version, actor=root)
    service = catalog.implement_item(
        actor=root,
        tenant=county,
        department=make_department(county, "城市管理局"),
        item=item,
        promised_days=5,
        place="鼓楼区政务服务中心",
        hours="工作日",
        enquiry_phone="0371-23900000",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
    )
    connection.set_schema_to_public()
    catalog.publish_implementation(service, actor=root, tenant=county)

    citizen = User.objects.create_user("oversight-citizen", phone="13312340501", real_name="洛一")
    clerk = User.objects.create_user("oversight-clerk", real_name="窗口丙")
    accounts.grant_role(actor=root, user=clerk, tenant=county, role=Role.WINDOW_CLERK)
    supervisor = User.objects.create_user("oversight-province", real_name="督查丁")
    held = accounts.grant_role(
        actor=root, user=supervisor, tenant=Tenant.objects.get(code=PROVINCE), role=Role.SUPERVISOR
    )
    StaffMembership.objects.filter(pk=held.pk).update(covers_subtree=True)
    admin = User.objects.create_user("oversight-county-admin", real_name="管理戊")
    accounts.grant_role(actor=root, user=admin, tenant=county, role=Role.TENANT_ADMIN)

    # The case: submitted, accepted, and red as of two months on (the deadline job's run).
    connection.set_tenant(county)
    draft = actions.save_draft(actor=citizen, implementation=service, form_data={})
    case = actions.submit(
        draft, actor=citizen, materials=uploads(service, "占道申请书", case=draft)
    )
    case = actions.accept(case, actor=clerk)
    marked = actions.mark_deadlines(at=timezone.now() + timedelta(days=60))
    assert marked["red"] >= 1, marked
    connection.set_schema_to_public()
    while relay.relay():
        pass

    def session(user):
        client = Client()
        sign_in_with_second_factor(client, user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return {
        "county": county.subdomain,
        "case": str(case.public_id),
        "number": case.number,
        "supervisor": session(supervisor),
        "admin": session(admin),
    }


def _zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


@pytest.fixture(scope="module")
def world(live_platform, django_db_blocker):
    with django_db_blocker.unblock():
        return {"port": live_platform, **committed(_set_up)}


def test_a_supervisor_drills_down_to_a_red_case_and_issues_a_supervision_order(
    db, live_platform, browser, world, axe_source
):
    from shared_apps.supervision.models import SupervisionOrder

    port, case = world["port"], world["case"]
    page = browser.new_page()
    page.set_default_timeout(WAIT)
    problems = []
    try:
        # The province at a glance, from the portal; 开封市 carries a red warning.
        _as(browser, world["supervisor"])
        page.goto(url(port, "/oversight/"))
        city_row = page.locator(f"#units tr[data-unit='{CITY}']")
        assert city_row.get_attribute("data-warning") == "red"
        assert "河南省" in page.inner_text("h1")
        shot(page, "oversight-1-province")
        problems += _fits(browser, axe_source, page.url)
        with page.expect_navigation():
            city_row.locator("a").first.click()
        assert "开封市" in page.inner_text("h1")
        county_row = page.locator(f"#units tr[data-unit='{COUNTY}']")
        assert county_row.get_attribute("data-warning") == "red"
        with page.expect_navigation():
            county_row.locator("a").first.click()
        assert "鼓楼区" in page.inner_text("h1")
        # Its red case, from the ledger, with the path back up.
        assert page.inner_text("#oversight-path").startswith("河南省 › 开封市 › 鼓楼区 › ")
        red = page.locator(f"#red-cases tr[data-case='{case}']")
        assert world["number"] in red.inner_text()
        shot(page, "oversight-2-county")
        problems += _fits(browser, axe_source, page.url)
        with page.expect_navigation():
            red.locator("a").first.click()
        assert page.inner_text("#case-number") == world["number"]
        assert page.inner_text("#case-flag") == "红牌"
        assert "deadline.red" in page.inner_text("#case-history")
        problems += _fits(browser, axe_source, page.url)

        # 督办: from the case, with a deadline in working days.
        form = page.locator("form.issue-order")
        assert world["number"] in form.locator("textarea[name=reason]").input_value()
        form.locator("textarea[name=required_action]").fill(REQUIRED_ACTION)
        form.locator("input[name=working_days]").fill("3")
        shot(page, "oversight-3-issue")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert page.inner_text("#order-state") == _zh(SupervisionOrder.State.ISSUED.label)
        assert page.inner_text("#order-action") == REQUIRED_ACTION
        assert page.inner_text("#order-case") == world["number"]
        order_id = page.url.rsplit("/", 1)[1]
        deadline = page.inner_text("#order-deadline")
        problems += _fits(browser, axe_source, page.url)

        # 鼓楼区's administrator finds it on the county's subdomain and acknowledges it.
        _as(browser, world["admin"])
        page.goto(url(port, "/oversight/orders", world["county"]))
        row = page.locator(f"#orders tr[data-order='{order_id}']")
        assert deadline in row.inner_text() and "河南省" in row.inner_text()
        with page.expect_navigation():
            row.locator("a").first.click()
        assert page.inner_text("#order-action") == REQUIRED_ACTION
        assert page.locator("button[data-intent=close]").count() == 0
        with page.expect_navigation():
            page.click("button[data-intent=acknowledge]")
        assert page.inner_text("#order-state") == _zh(SupervisionOrder.State.ACKNOWLEDGED.label)
        shot(page, "oversight-4-acknowledged")
        problems += _fits(browser, axe_source, page.url)
        assert problems == [], "\n".join(problems)
    finally:
        browser.clear_cookies()
        page.close()
