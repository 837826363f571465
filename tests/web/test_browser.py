"""End to end in a real browser: sign in, every page in both languages (a screenshot of each under
test-artifacts/console/), charts drawn with no script error or CSP refusal, the language switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure.config import Settings
from tenure.recommend.service import train_and_store
from tenure.storage.warehouse import Warehouse
from tenure.web.render import NAV
from tests.serving import running_server
from tests.web.browser import Watched, chromium
from tests.web.shop import ADMIN, PASSWORD, build_shop, held_referral

pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    home: Path = tmp_path_factory.mktemp("browser-shop")
    settings = build_shop(home)
    # A recommendation model, so the customer 360 and the Recommendations page show lists.
    train_and_store(settings, Warehouse(settings))
    with running_server(home, TENURE_INBOX_FLUSH_SECONDS="0") as url:
        yield url, settings


@pytest.fixture(scope="module")
def console(served: tuple[str, Settings]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _sign_in(browser: Any, url: str, username: str = ADMIN) -> Watched:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(f"{url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return watched


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_page_in_both_languages(console: str, browser: Any, locale: str) -> None:
    watched = _sign_in(browser, console)
    page = watched.page
    page.click(f"[data-testid=locale-{locale}]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if locale == "zh_CN" else "en")
    for name, href in NAV:
        response = page.goto(f"{console}{href}")
        assert response is not None and response.status == 200, (name, response and response.status)
        page.wait_for_load_state("networkidle")
        charts = page.locator("div.chart")
        for i in range(charts.count()):  # every embedded figure was drawn by plotly.js
            charts.nth(i).locator(".js-plotly-plot").wait_for(timeout=15_000)
        assert page.locator("nav.main a.active").count() == 1, name
        shot = watched.screenshot(locale, name)
        assert shot.stat().st_size > 5_000
    page.goto(f"{console}/account")
    page.wait_for_load_state("networkidle")
    watched.screenshot(locale, "account")
    assert watched.problems == []
    page.context.close()


def test_an_admin_builds_a_segment_and_approves_a_referral(
    served: tuple[str, Settings], browser: Any
) -> None:
    url, settings = served
    referral_id = held_referral(settings)
    watched = _sign_in(browser, url)
    page = watched.page
    page.goto(f"{url}/segments")
    rows = page.locator("[data-testid=builder-rows] tr:has(input[name=field])")
    rows.first.locator("input[name=field]").fill("feature.orders")
    rows.first.locator("select[name=op]").select_option("gte")
    rows.first.locator("input[name=value]").fill("2")
    count = page.locator("[data-testid=preview-count]")
    count.wait_for(timeout=15_000)  # the live count, fetched by htmx as the rule is typed
    live = int(count.inner_text().replace(",", ""))
    assert live > 0
    page.fill("input[name=key]", "repeat-buyers")
    page.fill("input[name=name]", "Repeat buyers")
    watched.screenshot("en", "segment-builder")
    page.click("[data-testid=save-segment]")
    page.wait_for_url(f"{url}/segments/repeat-buyers")
    assert "Repeat buyers" in page.content() and f"{live:,}" in page.content()
    watched.screenshot("en", "segment-saved")

    page.goto(f"{url}/referrals")
    row = page.locator(f'[data-referral="{referral_id}"]')
    row.locator("input[name=note]").fill("checked by phone")
    row.locator("[data-testid=approve]").click()
    page.wait_for_url(f"{url}/referrals?done=approved*")
    assert page.locator("[data-testid=flash]").is_visible()
    assert page.locator(f'[data-referral="{referral_id}"]').count() == 0
    watched.screenshot("en", "referral-approved")

    # Rejecting asks first: dismissed, nothing happens; accepted, the referral leaves the queue.
    other = held_referral(settings)
    page.goto(f"{url}/referrals")
    reject = page.locator(f'[data-referral="{other}"] [data-testid=reject]')
    page.once("dialog", lambda dialog: dialog.dismiss())
    reject.click()
    page.wait_for_timeout(300)
    assert page.locator(f'[data-referral="{other}"]').count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    reject.click()
    page.wait_for_url(f"{url}/referrals?done=rejected*")
    assert page.locator(f'[data-referral="{other}"]').count() == 0
    assert watched.problems == []
    page.context.close()


def test_controls_swap_the_result_in_place_with_its_charts(console: str, browser: Any) -> None:
    """htmx swaps the retention and paths results in (figures ride in data attributes, which htmx
    keeps) and the address follows, so a reload shows the same view."""
    watched = _sign_in(browser, console)
    page = watched.page
    for path, form, field, value, result in (
        ("/retention", "retention-form", "period", "month", "#retention-result"),
        ("/funnels/paths", "paths-form", "start", "Product Viewed", "#paths-result"),
    ):
        page.goto(f"{console}{path}")
        page.select_option(f"[data-testid={form}] select[name={field}]", value)
        with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
            page.click(f"[data-testid={form}] button[type=submit]")
        page.locator(f"{result} div.chart .js-plotly-plot").first.wait_for(timeout=15_000)
        assert f"{field}=" in page.url
    assert watched.problems == []
    page.context.close()
