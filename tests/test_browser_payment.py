"""Paying a fee (issue 12), in Chromium, through the fake payment gateway as a process of its own
(tests/fakes/payment_gateway.py):

1. a citizen's case in 鼓楼区 (410204000000, which no other browser test writes to) is accepted
   and asks for a fee: the case page lists the payment order, and the reviewer's 开始审查 is
   refused while it is unpaid;
2. the citizen opens the order from the case page, presses 在线缴纳, confirms on the gateway's
   cashier page and comes back to the order, paid (the gateway's notification and the signed
   return both arrive; the order is paid once);
3. the case moves on: the reviewer starts the review;
4. the citizen downloads the receipt (a PDF with the slip number and amount) and the address
   under its QR code opens the check page, which says it is genuine.
"""

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests.servers import free_port
from tests.test_browser import PASSWORD, committed, shot, url
from tests.test_browser_case_journey import WAIT, _act, _as, _download, _state, _zh

browser = shared.browser
live_platform = shared.live_platform

COUNTY = "410204000000"
ITEM_CODE = "410188302000"
MERCHANT, KEY = "henan-gov-browser", "browser-payment-key-0123456789abcdef"
FEE = {
    "name": "证照工本费",
    "rule": {"per": "copies", "unit": "15.50", "max_units": 5},
    "legal_basis": "豫价费〔2010〕1号",
    "stage": "acceptance",
    "case_waits": True,
}


@pytest.fixture(scope="module")
def gateway():
    port = free_port()
    argv = [sys.executable, str(Path(__file__).parent / "fakes" / "payment_gateway.py"),
            str(port), MERCHANT, KEY]  # fmt: skip
    process = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    import socket

    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError("the fake payment gateway did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def _set_up():
    """A county item charging 15.50 yuan a copy on acceptance; a citizen's case of it, accepted
    (so its order exists); the citizen's and a reviewer's sessions."""
    from django.db import connection
    from django.test import Client

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.models import Role, User
    from shared_apps.catalog import actions
    from shared_apps.catalog.models import OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from shared_apps.payments.models import PaymentOrder
    from tenant_apps.cases import actions as cases
    from tenant_apps.cases.tests.conftest import uploads
    from tenants.models import Tenant

    root = User.objects.create_superuser("pay-journey-root", password=PASSWORD)
    county = Tenant.objects.get(code=COUNTY)
    item = actions.save_basic_item(
        actor=root, code=ITEM_CODE, name="机动车驾驶证补领", exercising_levels=[4]
    )
    version = actions.draft_version(
        item,
        actor=root,
        legal_basis="《道路交通安全法》第十九条",
        conditions="驾驶证遗失",
        process="申请、受理、审查、决定",
        statutory_days=20,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[{"name": "申请书"}],
        fee_items=[FEE],
    )
    actions.publish_version(version, actor=root)
    service = actions.implement_item(
        actor=root,
        tenant=county,
        department=make_department(county, "公安局交通管理大队"),
        item=item,
        promised_days=10,
        place="鼓楼区政务服务中心",
        hours="工作日",
        enquiry_phone="0371-22220000",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        form_schema={
            "type": "object",
            "required": ["copies"],
            "properties": {"copies": {"type": "integer", "title": "份数", "minimum": 1}},
        },
    )
    connection.set_schema_to_public()
    service = actions.publish_implementation(service, actor=root, tenant=county)
    citizen = User.objects.create_user(
        "pay-journey-citizen", password=PASSWORD, phone="13312340401", real_name="赵一"
    )
    clerk = User.objects.create_user("pay-journey-clerk", real_name="窗口丙")
    accounts.grant_role(actor=root, user=clerk, tenant=county, role=Role.WINDOW_CLERK)
    reviewer = User.objects.create_user("pay-journey-reviewer", real_name="审查丁")
    accounts.grant_role(actor=root, user=reviewer, tenant=county, role=Role.REVIEWER)

    connection.set_tenant(county)
    draft = cases.save_draft(actor=citizen, implementation=service, form_data={"copies": 2})
    case = cases.submit(draft, actor=citizen, materials=uploads(service, "申请书", case=draft))
    case = cases.accept(case, actor=clerk)
    connection.set_schema_to_public()
    order = PaymentOrder.objects.get(case_public_id=case.public_id)

    def session(user, staff):
        client = Client()
        if staff:
            sign_in_with_second_factor(client, user)
        else:
            client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return {
        "county": county.subdomain,
        "case": str(case.public_id),
        "number": case.number,
        "slip": order.slip_number,
        "citizen": session(citizen, False),
        "reviewer": session(reviewer, True),
    }


def _order_state(slip):
    from shared_apps.payments.models import Notification, PaymentOrder

    order = PaymentOrder.objects.get(slip_number=slip)
    return order.state, list(
        Notification.objects.filter(order=order).values_list("outcome", flat=True)
    )


def test_a_citizen_pays_the_fee_and_the_case_moves_on(
    db, live_platform, browser, gateway, django_db_blocker, settings
):
    from pypdf import PdfReader

    from tenant_apps.cases.models import State

    settings.PAYMENT_GATEWAY_URL, settings.PAYMENT_MERCHANT_ID = gateway, MERCHANT
    settings.PAYMENT_GATEWAY_KEY = KEY
    with django_db_blocker.unblock():
        world = committed(_set_up)
    port, county, slip = live_platform, world["county"], world["slip"]
    case_page = url(port, f"/workbench/cases/{world['case']}", county)
    page = browser.new_page()
    page.set_default_timeout(WAIT)
    try:
        # 1. The case asks for the fee; the review can't start while it is unpaid.
        _as(browser, world["citizen"])
        page.goto(url(port, f"/my/cases/{world['case']}", county))
        fees = page.inner_text("#fees")
        assert slip in fees and "31.00" in fees and "证照工本费" in fees
        shot(page, "payment-1-case-asks-for-fee")
        _as(browser, world["reviewer"])
        page.goto(case_page)
        with page.expect_navigation():
            page.click("button[data-intent=start_review]")
        assert slip in page.inner_text("#case-error")
        assert _state(page) == _zh(State.ACCEPTED.label)

        # 2. The citizen pays from the case page through the gateway.
        _as(browser, world["citizen"])
        page.goto(url(port, f"/my/cases/{world['case']}", county))
        with page.expect_navigation():
            page.click("#fees a.pay-link")
        assert page.inner_text("#order-amount") == "31.00"
        with page.expect_navigation():
            page.click("#pay")
        assert page.url.startswith(gateway) and page.inner_text("#amount") == "31.00"
        shot(page, "payment-2-gateway")
        with page.expect_navigation():
            page.click("#confirm")
        page.wait_for_url(f"**/pay/{slip}")
        assert page.inner_text("#order-state").startswith("已缴费")
        shot(page, "payment-2-paid")
        deadline = time.monotonic() + 20  # the notification comes from the gateway's thread
        while True:
            with django_db_blocker.unblock():
                state, outcomes = committed(lambda: _order_state(slip))
            if len(outcomes) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert state == "paid" and sorted(outcomes) == ["duplicate", "paid"], outcomes

        # 4. The receipt downloads; the address under its QR code says it is genuine.
        receipt = page.locator("#receipt")
        status, kind, body = _download(page, receipt.get_attribute("href"))
        assert (status, kind) == (200, "application/pdf")
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
        assert slip in text and "31.00" in text
        check = re.search(
            r"http://\S+/pay/" + slip + r"/check\?c=[0-9a-f]+", text.replace("\n", "")
        )
        assert check, text
        page.goto(check.group(0))
        assert "真实有效" in page.inner_text("#genuine")
        shot(page, "payment-4-receipt-genuine")

        # 3. The case moves on: the reviewer starts the review.
        _as(browser, world["reviewer"])
        page.goto(case_page)
        _act(page, "start_review")
        assert _state(page) == _zh(State.UNDER_REVIEW.label)
    finally:
        browser.clear_cookies()
        page.close()
