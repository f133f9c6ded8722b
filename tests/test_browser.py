"""In a real browser (Debian's Chromium, driven by Playwright): sign-up, one sign-in valid on
another subdomain, sign-in, and a staff member's second-factor sign-in.

The platform runs in a threaded WSGI server inside the test process, on the test database. Its
request threads have their own connections: what the browser writes is committed (with fresh
identifiers, so other tests are not affected), and set-up the server must see is committed too.
"""

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from tests.helpers import current_totp, make_id_number

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "正确的马电池订书钉"
SCREENSHOTS = (
    Path(os.environ.get("BROWSER_SCREENSHOTS", tempfile.gettempdir())) / "govplatform-browser"
)

if CHROMIUM is None and os.environ.get("REQUIRE_BROWSER") != "1":
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium); CI sets REQUIRE_BROWSER=1",
        allow_module_level=True,
    )


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def committed(work):
    """Run work on a connection of its own, outside the test's transaction, and commit it."""
    from django.db import connection

    result, failure = [], []

    def run():
        try:
            result.append(work())
        except Exception as error:  # re-raised in the test's thread
            failure.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


@pytest.fixture(scope="module")
def live_platform(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
        server.set_app(StaticFilesHandler(WSGIHandler()))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "REQUIRE_BROWSER=1 but no chromium on this machine"
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make here
    # are synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            locale="zh-CN",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                # Chromium's own default is English, which the platform would honour.
                "--accept-lang=zh-CN",
            ],
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def url(port: int, path: str, subdomain: str = "") -> str:
    host = f"{subdomain}.{settings.BASE_DOMAIN}" if subdomain else settings.BASE_DOMAIN
    return f"http://{host}:{port}{path}"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_sign_up_and_single_sign_on_across_subdomains(db, live_platform, browser):
    page = browser.new_page()
    number = make_id_number(region="410105", sequence="901")
    page.goto(url(live_platform, "/accounts/sign-up"))
    assert "注册账号" in page.content()
    page.fill("#id_real_name", "周八")
    page.fill("#id_id_number", number)
    page.fill("#id_phone", "13312340001")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/me")
    assert page.inner_text("#real-name") == "周八"
    assert page.inner_text("#id-number") == number[:3] + "*" * 11 + number[-4:]
    shot(page, "1-signed-up")

    # The same sign-in, on a county's subdomain.
    page.goto(url(live_platform, "/accounts/me", "jinshui"))
    assert page.inner_text("#real-name") == "周八"

    page.click("text=退出登录")
    page.goto(url(live_platform, "/accounts/sign-in", "zhengzhou"))
    page.fill("#id_username", "13312340001")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/me")
    assert page.inner_text("#real-name") == "周八"
    shot(page, "2-signed-in")
    page.close()


def test_staff_sign_in_with_a_second_factor(db, live_platform, browser):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from shared_apps.accounts import actions
    from shared_apps.accounts.models import Role, User
    from tenants.models import Tenant

    def create_staff():
        root = User.objects.create_superuser("browser-root", password=PASSWORD)
        staff = User.objects.create_user(
            "browser-admin", password=PASSWORD, phone="13312340002", real_name="吴九"
        )
        tenant = Tenant.objects.get(code="410102000000")
        actions.grant_role(actor=root, user=staff, tenant=tenant, role=Role.TENANT_ADMIN)
        # The granting administrator hands over a one-time enrolment link.
        return staff, actions.issue_enrolment_link(actor=root, user=staff, tenant=tenant)

    staff, code = committed(create_staff)
    page = browser.new_page()
    # The password alone shows no secret.
    page.goto(url(live_platform, "/accounts/sign-in?next=/staff", "zhongyuan"))
    page.fill("#id_username", "13312340002")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/second-factor**")
    assert page.locator("#needs-enrolment").count() == 1 and page.locator("svg").count() == 0

    page.goto(url(live_platform, f"/accounts/enrol/{code}", "zhongyuan"))
    page.click("#start-enrolment")
    assert page.locator("svg").count() >= 1  # the enrolment QR code, shown this once
    shot(page, "3-enrol-second-factor")
    assert TOTPDevice.objects.filter(user=staff, confirmed=False).exists()
    page.fill("#id_code", current_totp(staff))
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/me")
    page.goto(url(live_platform, "/staff", "zhongyuan"))
    assert "工作人员与角色" in page.content() and "吴九" in page.content()
    shot(page, "4-staff-page")
    page.close()


def test_find_a_service_read_its_guide_and_reach_the_right_unit(db, live_platform, browser):
    from shared_apps.accounts.models import User
    from shared_apps.catalog import actions
    from shared_apps.catalog.models import OnlineDepth
    from shared_apps.catalog.tests.conftest import make_department
    from tenants.models import Tenant

    def publish_a_service():
        root = User.objects.create_superuser("browser-catalog-root", password=PASSWORD)
        item = actions.save_basic_item(
            actor=root,
            code="412090001000",
            name="城乡居民医疗保险参保登记",
            exercising_levels=[4],
            keywords=["医保", "交医保"],
            themes=["医疗"],
        )
        version = actions.draft_version(
            item,
            actor=root,
            legal_basis="《社会保险法》",
            conditions="本县户籍居民",
            process="申请、受理、办结",
            statutory_days=5,
            materials=[{"name": "居民身份证"}],
            max_online_depth=OnlineDepth.HANDLING,
        )
        actions.publish_version(version, actor=root)
        county = Tenant.objects.get(code="410105000000")
        service = actions.implement_item(
            actor=root,
            tenant=county,
            department=make_department(county, "医疗保障局"),
            item=item,
            promised_days=3,
            place="金水区政务服务中心",
            hours="工作日",
            enquiry_phone="0371-66666666",
            complaint_phone="12345",
            online_depth=OnlineDepth.HANDLING,
            material_ids=[m.id for m in version.materials.all()],
        )
        actions.publish_implementation(service, actor=root, tenant=county)
        return county.subdomain

    county_subdomain = committed(publish_a_service)
    page = browser.new_page()
    page.goto(url(live_platform, "/services/"))
    page.fill("input[name=q]", "交医保")
    page.click("#catalog-search button[type=submit]")
    page.click("text=城乡居民医疗保险参保登记")
    page.fill(
        "input[name=place]", "410105001000"
    )  # a sub-district of 金水区, which has no own listing
    page.click("#route-form button[type=submit]")
    page.wait_for_url(f"**://{county_subdomain}.{settings.BASE_DOMAIN}:*/services/*")
    assert page.inner_text("#guide-title") == "城乡居民医疗保险参保登记"
    assert "3 个工作日" in page.inner_text("#promised-days")
    assert "居民身份证" in page.inner_text("#materials")
    shot(page, "5-guide-after-routing")
    page.close()
