"""Playwright driving Debian's chromium (/usr/bin/chromium) against a real `tenure serve`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import unavailable

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "console"


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium browser (fails in CI when chromium or Playwright is missing)."""
    if not CHROMIUM.exists():
        unavailable("chromium is not installed: `make browser` (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (the dev extra)")
    with sync_playwright() as driver:
        # Root in a container has no user namespaces for chromium's sandbox.
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page whose script errors and failed requests (a CSP refusal among them) are kept."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console: {message.text}")
                if message.type == "error"
                else None
            ),
        )

    def screenshot(self, locale: str, name: str) -> Path:
        path = ARTIFACTS / locale / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path
