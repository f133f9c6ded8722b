"""并联审批 in Chromium: two departments of a county each open their task from the 会签/并联审批
queue and record their opinion on the task page; the lead department then finds the case moved on
to its review, with both opinions on the case page. The case is accepted through the actions (the
acceptance page is tested in test_browser_case_journey.py)."""

import pytest
from django.conf import settings

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests.test_browser import committed, shot, url

browser = shared.browser
live_platform = shared.live_platform

# 金水区, the browser tests' unit, whose committed services and staff no other test counts.
COUNTY = "410105000000"
ITEM_CODE = "410177301000"
DEPARTMENTS = ("自然资源和规划分局", "生态环境分局")
WAIT = 30_000


def _set_up():
    from django.db import connection
    from django.test import Client

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, User
    from shared_apps.catalog import actions as catalog
    from shared_apps.catalog.models import OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from tenant_apps.cases import actions
    from tenant_apps.cases.tests.conftest import FORM, GOOD_FORM, uploads
    from tenants.models import Tenant

    root = User.objects.create_superuser("parallel-root")
    county = Tenant.objects.get(code=COUNTY)
    item = catalog.save_basic_item(
        actor=root, code=ITEM_CODE, name="建设工程规划许可", exercising_levels=[4]
    )
    version = catalog.draft_version(
        item,
        actor=root,
        legal_basis="《城乡规划法》第四十条",
        conditions="符合控制性详细规划",
        process="申请、受理、并联审查、决定",
        statutory_days=20,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[{"name": "申请书"}],
    )
    catalog.publish_version(version, actor=root)
    service = catalog.implement_item(
        actor=root,
        tenant=county,
        department=make_department(county, "住房和城乡建设局"),
        item=item,
        promised_days=10,
        place="政务服务中心",
        hours="工作日",
        enquiry_phone="0371-68000000",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        form_schema=FORM,
    )
    connection.set_schema_to_public()
    service = catalog.publish_implementation(service, actor=root, tenant=county)
    departments = [make_department(county, name) for name in DEPARTMENTS]
    connection.set_schema_to_public()
    catalog.set_parallel_review(
        service,
        actor=root,
        tenant=county,
        rule="stop_at_refusal",
        departments=[
            {"tenant": county, "department_id": d.pk, "department_name": d.name, "days": 5}
            for d in departments
        ],
    )
    citizen = User.objects.create_user("parallel-citizen", real_name="上一")
    clerk = User.objects.create_user("parallel-clerk")
    accounts.grant_role(actor=root, user=clerk, tenant=county, role=Role.WINDOW_CLERK)
    approver = User.objects.create_user("parallel-approver")
    accounts.grant_role(actor=root, user=approver, tenant=county, role=Role.APPROVER)
    reviewers = []
    for department in departments:
        reviewer = User.objects.create_user(f"parallel-reviewer-{department.pk}")
        accounts.grant_role(
            actor=root, user=reviewer, tenant=county, role=Role.REVIEWER, department=department
        )
        reviewers.append(reviewer)
    connection.set_tenant(county)
    draft = actions.save_draft(actor=citizen, implementation=service, form_data=GOOD_FORM)
    case = actions.submit(draft, actor=citizen, materials=uploads(service, "申请书", case=draft))
    case = actions.accept(case, actor=clerk)

    def session(user):
        client = Client()
        sign_in_with_second_factor(client, user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return {
        "county": county.subdomain,
        "case": str(case.public_id),
        "number": case.number,
        "reviewers": [session(r) for r in reviewers],
        "approver": session(approver),
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
def world(live_platform, django_db_blocker):
    with django_db_blocker.unblock():
        return {"port": live_platform, **committed(_set_up)}


def test_two_departments_give_their_opinions_and_the_case_moves_on(db, world, browser):
    port, county = world["port"], world["county"]
    page = browser.new_page()
    page.set_default_timeout(WAIT)
    try:
        for session, opinion in zip(
            world["reviewers"], ("符合规划条件", "环评已批复"), strict=True
        ):
            _as(browser, session)
            page.goto(url(port, "/workbench/", county))
            with page.expect_navigation():
                page.click("#task-queue")
            rows = page.locator("#tasks tbody tr[data-task]")
            assert rows.count() == 1 and world["number"] in rows.inner_text()
            with page.expect_navigation():
                rows.locator("a").click()
            assert page.inner_text("#task-state").strip() == "待处理"
            page.check("input[name=decision][value=approved]")
            page.fill("textarea[name=opinion]", opinion)
            with page.expect_navigation():
                page.click("#form-opinion button[type=submit]")
            assert "已记录本部门意见" in page.inner_text("#messages")
            assert page.inner_text("#task-opinion").strip() == opinion
            shot(page, f"parallel-task-{opinion}")

        _as(browser, world["approver"])
        page.goto(url(port, f"/workbench/cases/{world['case']}", county))
        assert page.inner_text("#case-state").strip() == "审查中"
        tasks = page.locator("#tasks tbody tr")
        assert tasks.count() == 2
        assert [tasks.nth(i).get_attribute("data-state") for i in range(2)] == ["approved"] * 2
        assert "符合规划条件" in page.inner_text("#tasks")
        assert page.locator("#form-decide").count() == 1  # the lead department decides now
        shot(page, "parallel-case-joined")
    finally:
        page.close()
