"""A bad rating and its rectification (issue 14), in Chromium, through the pages: a citizen rates a
delivered case 非常不满意 on the case page, with a reason and a comment; the county's administrator
finds the task on the workbench (without the rater), verifies and rectifies with a report back; the
citizen reads the report on the case page and confirms it.

The county is 鼓楼区 (410204000000, 开封市): no other browser test writes there (the pages sweep only
routes an item to it). The case is brought to delivery by the case actions; the case journey's
browser test covers those steps through the pages.
"""

import pytest
from django.conf import settings

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests.test_browser import committed, shot, url

browser = shared.browser
live_platform = shared.live_platform

COUNTY = "410204000000"
COMMENT = "窗口让我跑了三趟，材料一次没说清"
FINDINGS = "已电话联系申请人，情况属实：窗口未一次性告知"
REPORT = "已对窗口人员进行一次性告知制度培训，并向您致歉。"
WAIT = 30_000  # ms


def _set_up():
    from django.test import Client

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, User
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import publish_service, submitted_case
    from tenants.models import Tenant

    county = Tenant.objects.get(code=COUNTY)
    root = User.objects.create_superuser("rating-journey-root")
    service = publish_service(root, county)
    citizen = User.objects.create_user("rating-journey-citizen", real_name="宋一")
    staff = {}
    for name, role in (
        ("clerk", Role.WINDOW_CLERK),
        ("reviewer", Role.REVIEWER),
        ("approver", Role.APPROVER),
        ("admin", Role.TENANT_ADMIN),
    ):
        staff[name] = User.objects.create_user(f"rating-journey-{name}")
        accounts.grant_role(actor=root, user=staff[name], tenant=county, role=role)
    case = submitted_case(service, county, citizen)
    case = actions.accept(case, actor=staff["clerk"])
    case = actions.start_review(case, actor=staff["reviewer"])
    case = actions.decide(
        case, actor=staff["approver"], decision="approved", reasons="", legal_basis="《行政许可法》"
    )
    case = actions.deliver(case, actor=staff["clerk"], method="electronic")

    def session(user, second_factor):
        client = Client()
        if second_factor:
            sign_in_with_second_factor(client, user)
        else:
            client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return {
        "county": county.subdomain,
        "case": str(case.public_id),
        "citizen": session(citizen, False),
        "admin": session(staff["admin"], True),
        "citizen_username": citizen.username,
    }


def _as(browser, session: str) -> None:
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


@pytest.fixture(scope="module")
def journey(live_platform, django_db_blocker):
    with django_db_blocker.unblock():
        return {"port": live_platform, **committed(_set_up)}


def test_a_very_dissatisfied_rating_is_rectified_and_reported_back(
    db, live_platform, browser, journey
):
    port, county = journey["port"], journey["county"]
    case_page = url(port, f"/my/cases/{journey['case']}", county)
    page = browser.new_page()
    page.set_default_timeout(WAIT)
    try:
        # 1. The citizen rates the delivered case 非常不满意.
        _as(browser, journey["citizen"])
        page.goto(case_page)
        assert page.inner_text("#rating-title") == "服务评价"
        page.check("#rating-level-5")
        page.check("#rating-reason-many_visits")
        page.fill("#rating-comment", COMMENT)
        with page.expect_navigation():
            page.click("#rating-submit")
        assert page.inner_text("#my-rating-level") == "非常不满意"
        assert page.locator("#rating-form").count() == 0
        assert "单位正在核实您的评价" in page.inner_text("#rectification-pending")
        shot(page, "rating-given")

        # 2. The county's administrator finds the task, without the rater, and verifies.
        _as(browser, journey["admin"])
        page.goto(url(port, "/workbench/ratings", county))
        row = page.locator("#rectifications tbody tr").filter(has_text="非常不满意").first
        with page.expect_navigation():
            row.locator("a").click()
        assert COMMENT in page.inner_text("#rectification-facts")
        assert page.inner_text("#rectification-step") == "待核实"
        assert journey["citizen_username"] not in page.content()
        page.fill("#id-findings", FINDINGS)
        with page.expect_navigation():
            page.click("#verify-form button[type=submit]")
        assert page.inner_text("#rectification-step") == "待整改反馈"
        # 3. It rectifies and reports back.
        page.fill("#id-measures", "窗口一次性告知培训")
        page.fill("#id-report", REPORT)
        with page.expect_navigation():
            page.click("#report-form button[type=submit]")
        assert page.inner_text("#rectification-step") == "已反馈"
        shot(page, "rating-rectified")

        # 4. The citizen reads the report back and confirms it.
        _as(browser, journey["citizen"])
        page.goto(case_page)
        assert page.inner_text("#report-back-text") == REPORT
        page.check("#answer-form input[value=yes]")
        with page.expect_navigation():
            page.click("#answer-submit")
        assert page.inner_text("#answer-given") == "您已确认问题已解决。"
        shot(page, "rating-confirmed")
    finally:
        page.close()
