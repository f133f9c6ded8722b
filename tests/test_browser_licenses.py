"""E-licenses in Chromium (issue 13), in 鼓楼区 (410204000000), where no other browser test writes:

1. a clerk delivers a citizen's approved case from the workbench, which issues an e-license;
2. the citizen finds it in the portal's wallet (我的证照) and downloads the signed PDF;
3. the check page the PDF's QR code points to says it is genuine and valid, and so does the check
   of the downloaded PDF uploaded to it;
4. a second application of the citizen uses the license instead of an upload (免提交): the clerk
   sees it verified in the case, and the wallet's use log names the case.
"""

import io

import pytest
from django.conf import settings

from tests import test_browser as shared  # skips this module too where Chromium is missing
from tests import test_browser_pages as pages
from tests.test_browser import PASSWORD, committed, shot, url
from tests.test_browser_case_journey import WAIT, _act, _as, _download, _fits, _pdf

browser = shared.browser
live_platform = shared.live_platform
axe_source = pages.axe_source

COUNTY = "410204000000"
ITEM_CODE = "410188303000"
ITEM_NAME = "小餐饮经营许可"
LICENSE_MATERIAL = "原小餐饮经营许可证"
CITIZEN_PHONE = "13312341301"
FORM_SCHEMA = {
    "type": "object",
    "required": ["shop_name"],
    "properties": {"shop_name": {"type": "string", "title": "店铺名称", "maxLength": 50}},
}


def _set_up():
    """An item of 鼓楼区 whose approval produces a license type that stands in for one of its own
    materials (the earlier license, on renewal); a citizen with an ID number and a password, an
    approved case of theirs waiting for delivery, and a window clerk."""
    from django.db import connection
    from django.test import Client

    from conftest import sign_in_with_second_factor
    from shared_apps.accounts import actions as accounts
    from shared_apps.accounts.identity import encrypt_id_number, id_number_digest, mask_id_number
    from shared_apps.accounts.models import Role, User
    from shared_apps.catalog import actions
    from shared_apps.catalog.models import GuideMaterial, OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from shared_apps.licenses import actions as licenses
    from tenant_apps.cases.tests import conftest as cases
    from tenants.models import Tenant
    from tests.helpers import make_id_number

    root = User.objects.create_superuser("licence-root", password=PASSWORD)
    county = Tenant.objects.get(code=COUNTY)
    item = actions.save_basic_item(
        actor=root, code=ITEM_CODE, name=ITEM_NAME, exercising_levels=[4]
    )
    version = actions.draft_version(
        item,
        actor=root,
        legal_basis="《河南省食品小经营店小作坊和食品摊贩管理条例》",
        conditions="有固定经营场所",
        process="申请、受理、审查、决定、送达",
        statutory_days=20,
        max_online_depth=OnlineDepth.HANDLING,
        materials=[
            {"name": "申请书"},
            {"name": LICENSE_MATERIAL, "necessity": GuideMaterial.Necessity.OPTIONAL},
        ],
    )
    actions.publish_version(version, actor=root)
    service = actions.implement_item(
        actor=root,
        tenant=county,
        department=make_department(county, "市场监督管理局"),
        item=item,
        promised_days=10,
        place="鼓楼区政务服务中心",
        hours="工作日",
        enquiry_phone="0371-23000000",
        complaint_phone="12345",
        online_depth=OnlineDepth.HANDLING,
        material_ids=[m.id for m in version.materials.all()],
        form_schema=FORM_SCHEMA,
    )
    connection.set_schema_to_public()
    service = actions.publish_implementation(service, actor=root, tenant=county)
    licenses.save_license_type(
        actor=root,
        code="BROWSER01",
        name="小餐饮经营许可证",
        issuing_level=4,
        fields_schema=FORM_SCHEMA,
        validity_years=3,
        stands_for=[LICENSE_MATERIAL],
        item_codes=[ITEM_CODE],
    )
    number = make_id_number(region="410204", sequence="131")
    citizen = User.objects.create_user(
        "licence-citizen",
        password=PASSWORD,
        phone=CITIZEN_PHONE,
        real_name="褚一",
        id_number_digest=id_number_digest(number),
        id_number_masked=mask_id_number(number),
        id_number_encrypted=encrypt_id_number(number),
    )
    case = cases.case_in("decided", service, county, citizen)
    case.form_data = {"shop_name": "褚记小吃"}
    case.save(update_fields=["form_data"])
    clerk = User.objects.create_user("licence-clerk", real_name="窗口丙")
    connection.set_schema_to_public()
    accounts.grant_role(actor=root, user=clerk, tenant=county, role=Role.WINDOW_CLERK)
    staff = Client()
    sign_in_with_second_factor(staff, clerk)
    person = Client()
    person.force_login(citizen)
    return {
        "county": county.subdomain,
        "service": service.code,
        "case": str(case.public_id),
        "clerk": staff.cookies[settings.SESSION_COOKIE_NAME].value,
        "citizen": person.cookies[settings.SESSION_COOKIE_NAME].value,
    }


@pytest.fixture(scope="module")
def world(live_platform, django_db_blocker):
    with django_db_blocker.unblock():
        return {"port": live_platform, **committed(_set_up)}


def _verify_pdf(body: bytes):
    from shared_apps.licenses import queries

    return queries.verify_pdf(body)


def test_a_delivered_case_issues_a_license_that_is_downloaded_checked_and_reused(
    db, live_platform, browser, world, django_db_blocker, axe_source
):
    from pypdf import PdfReader

    port, county = world["port"], world["county"]
    page = browser.new_page()
    page.set_default_timeout(WAIT)
    problems = []
    try:
        # 1. The clerk delivers the approved case: the license is issued.
        _as(browser, world["clerk"])
        page.goto(url(port, f"/workbench/cases/{world['case']}", county))
        page.select_option("#form-deliver select[name=method]", "electronic")
        _act(page, "deliver")

        # 2. The citizen finds it in the wallet and downloads the PDF.
        _as(browser, world["citizen"])
        page.goto(url(port, "/"))
        with page.expect_navigation():
            page.click("#my-licenses-link")
        card = page.locator("section[data-identifier]")
        assert card.count() == 1
        identifier = card.get_attribute("data-identifier")
        assert "小餐饮经营许可证" in card.inner_text() and "有效" in card.inner_text()
        shot(page, "licenses-1-wallet")
        problems += _fits(browser, axe_source, url(port, "/my/licenses/"))
        status, kind, body = _download(
            page, card.locator("a.license-download").get_attribute("href")
        )
        assert (status, kind) == (200, "application/pdf")
        with django_db_blocker.unblock():
            assert committed(lambda: _verify_pdf(body).genuine)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
        assert identifier in text.replace("\n", "")

        # 3. The address under the QR code: the public check page says genuine and valid.
        check = f"/licenses/check/{identifier}"
        assert check in text.replace("\n", "")
        browser.clear_cookies()
        page.goto(url(port, check))
        assert page.locator("#license-genuine").count() == 1
        assert page.locator("#license-status").get_attribute("data-status") == "valid"
        assert "褚一" not in page.inner_text("main")
        problems += _fits(browser, axe_source, url(port, check))
        # And the downloaded file itself, uploaded to the page.
        page.set_input_files(
            "#pdf", files=[{"name": "证照.pdf", "mimeType": "application/pdf", "buffer": body}]
        )
        with page.expect_navigation():
            page.click("#license-check-form button[type=submit]")
        assert page.locator("#license-genuine").count() == 1
        shot(page, "licenses-3-checked")

        # 4. A second application uses the license instead of an upload.
        _as(browser, world["citizen"])
        page.goto(url(port, f"/apply/{world['service']}", county))
        page.fill("[name=form-shop_name]", "褚记小吃")
        offer = page.locator(f".license-offer input[value='{identifier}']")
        assert offer.count() == 1
        offer.check()
        page.locator("#materials input[type=file]").first.set_input_files(
            files=[{"name": "申请书.pdf", "mimeType": "application/pdf", "buffer": _pdf("form")}]
        )
        shot(page, "licenses-4-apply")
        page.click("#apply-form button[value=submit]")
        page.wait_for_url(f"**://{county}.{settings.BASE_DOMAIN}:{port}/my/cases/*")
        second = page.url.rsplit("/", 1)[1]
        number = page.inner_text("#case-number").strip()
        assert identifier in page.inner_text("#case-materials")
        _as(browser, world["clerk"])
        page.goto(url(port, f"/workbench/cases/{second}", county))
        used = page.locator(".material-license")
        assert used.count() == 1 and used.get_attribute("data-genuine") == "1"
        assert identifier in used.inner_text()
        shot(page, "licenses-4-clerk")
        problems += _fits(browser, axe_source, url(port, f"/workbench/cases/{second}", county))
        # The use log in the wallet names the case.
        _as(browser, world["citizen"])
        page.goto(url(port, "/my/licenses/"))
        row = page.locator("tr[data-kind=reused]")
        assert row.count() == 1 and number in row.inner_text()
        assert problems == [], "\n".join(problems)
    finally:
        browser.clear_cookies()
        page.close()
