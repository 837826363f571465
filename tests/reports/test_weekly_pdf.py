"""The review as a PDF through headless Chromium (required in CI), and a clear error without it."""

from __future__ import annotations

import re

import pytest

from tenure.reports.weekly.pdf import PdfRendererMissing, chromium, html_to_pdf
from tenure.reports.weekly.render import render_html
from tests.conftest import unavailable
from tests.reports.test_weekly_render import empty, full


@pytest.fixture
def browser() -> str:
    try:
        return chromium()
    except PdfRendererMissing:
        unavailable("chromium is not installed (apt install chromium fonts-noto-cjk)")
        raise


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_review_prints_to_a_pdf(browser: str, locale: str) -> None:
    pdf = html_to_pdf(render_html(full(), locale))
    assert pdf.startswith(b"%PDF") and pages(pdf) >= 1
    assert pdf.rstrip().endswith(b"%%EOF")


def test_an_empty_review_prints_too(browser: str) -> None:
    assert pages(html_to_pdf(render_html(empty(), "en"))) >= 1


def test_a_missing_browser_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_CHROMIUM", "/nowhere/chromium")
    with pytest.raises(PdfRendererMissing) as caught:
        html_to_pdf("<p>x</p>")
    assert caught.value.code == "pdf_renderer_missing" and caught.value.status == 503
    assert (
        "install Chromium" in caught.value.message and "/nowhere/chromium" in caught.value.message
    )
    monkeypatch.delenv("TENURE_CHROMIUM")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(PdfRendererMissing) as caught:
        chromium()
    assert "chromium, chromium-browser, google-chrome" in caught.value.message
