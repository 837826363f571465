"""End to end in a real browser: sign in, every page in both languages (a screenshot of each under
test-artifacts/console/), charts drawn with no script error or CSP refusal, the language switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure.web.render import NAV
from tests.serving import running_server
from tests.web.browser import Watched, chromium
from tests.web.shop import ADMIN, PASSWORD, build_shop

pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("browser-shop")
    build_shop(home)
    with running_server(home, TENURE_INBOX_FLUSH_SECONDS="0") as url:
        yield url


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
    assert watched.problems == []
    page.context.close()
