"""Under the Content-Security-Policy, in Chromium: the API documentation renders from the
platform's own swagger-ui files, and the language switcher works without any script."""

from django.conf import settings

from tests.test_browser import browser, live_platform, url  # noqa: F401 (fixtures; skips without Chromium)


def _watch(page) -> list[str]:
    problems = []
    # Chromium reports what the policy blocks as console errors starting "Refused to".
    page.on("console", lambda m: problems.append(m.text) if "Refused" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request",
        lambda r: (
            problems.append(f"external request {r.url}")
            if settings.BASE_DOMAIN not in r.url
            else None
        ),
    )
    return problems


def test_api_documentation_renders_under_the_policy(db, live_platform, browser):  # noqa: F811
    port, context = live_platform, browser
    page = context.new_page()
    problems = _watch(page)
    response = page.goto(url(port, "/api/v1/docs"))
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    page.wait_for_selector(".opblock", timeout=15_000)  # the operations, from openapi.json
    assert problems == []
    page.close()


def test_language_switch_works_without_any_script(db, live_platform, browser):  # noqa: F811
    port, context = live_platform, browser
    page = context.new_page()
    problems = _watch(page)
    page.goto(url(port, "/services/?q=户口"))
    assert page.locator("script").count() == 0
    with page.expect_navigation():
        page.click("#language-form button")
    assert page.inner_text(".site-name") == "Henan Online Government Services"
    assert page.locator("html").get_attribute("lang") == "en"
    assert "q=" in page.url  # back on the same page
    with page.expect_navigation():
        page.click("#language-form button")
    assert page.inner_text(".site-name") == "河南省网上政务服务平台"
    assert problems == []
    page.close()
