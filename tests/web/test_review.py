"""The weekly review page over the simulated shop: the shell with its week links, the review body
(loaded by htmx) in English and Chinese, the PDF download, refused weeks, escaped data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tenure.config import Settings
from tenure.reports.weekly.pdf import PdfRendererMissing, chromium
from tenure.segments import service as segments
from tenure.storage.database import Database
from tests.conftest import unavailable
from tests.web.shop import ANALYST, XSS, signed_in

LAST = "2024-08-19"  # the simulated data ends on Tuesday 2024-08-27


def test_the_page_opens_on_the_last_complete_week(client: TestClient) -> None:
    signed_in(client)
    page = client.get("/review")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert f'hx-get="/review/body?week={LAST}"' in page.text
    assert 'href="/review?week=2024-08-12"' in page.text  # the week before
    assert 'href="/review?week=2024-08-26"' in page.text  # the week after (partial)
    assert f'href="/review.pdf?week={LAST}"' in page.text
    assert "Weekly review" in page.text and "Aug 19, 2024" in page.text


def test_the_body_shows_every_section(client: TestClient) -> None:
    signed_in(client)
    body = client.get(f"/review/body?week={LAST}")
    assert body.status_code == 200
    for testid in ("weekly-review", "review-anomalies", "review-kpis", "review-retention",
                   "review-lifecycle", "review-campaigns", "review-offers", "review-movers"):  # fmt: skip
        assert f'data-testid="{testid}"' in body.text, testid
    assert "Key figures" in body.text and "net revenue" in body.text and "$" in body.text
    assert "<script" not in body.text
    assert "<html" not in body.text  # a fragment, for the htmx placeholder


def test_any_day_picks_its_week(client: TestClient) -> None:
    signed_in(client)
    page = client.get("/review?week=2024-06-13")
    assert page.status_code == 200 and 'hx-get="/review/body?week=2024-06-10"' in page.text


def test_an_operator_reading_chinese_gets_chinese(client: TestClient) -> None:
    signed_in(client, ANALYST)
    page = client.get("/review")
    assert page.status_code == 200 and "每周复盘" in page.text and "下载 PDF" in page.text
    body = client.get(f"/review/body?week={LAST}")
    assert (
        "核心指标" in body.text and "2024年8月19日" in body.text and "Key figures" not in body.text
    )


@pytest.mark.parametrize("week", ["notaday", "2024-02-30", "1800-01-01", "2999-01-01", "x" * 5000])
def test_a_bad_week_is_a_clear_message(client: TestClient, week: str) -> None:
    signed_in(client)
    for path in ("/review", "/review/body", "/review.pdf"):
        response = client.get(path, params={"week": week})
        assert response.status_code == 400, (path, response.status_code)
        assert "is not a day" in response.text and "YYYY-MM-DD" in response.text
    assert client.get("/review", params={"week": "<b>x</b>"}).text.count("<b>x</b>") == 0


def test_the_pdf_downloads(client: TestClient) -> None:
    try:
        chromium()
    except PdfRendererMissing:
        unavailable("chromium is not installed")
    signed_in(client, ANALYST)
    response = client.get(f"/review.pdf?week={LAST}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="weekly-review-{LAST}.pdf"'
    )


def test_a_missing_browser_is_said_on_the_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_CHROMIUM", "/nowhere/chromium")
    signed_in(client)
    response = client.get(f"/review.pdf?week={LAST}")
    assert response.status_code == 503 and "install Chromium" in response.text


def test_segment_names_are_escaped(client: TestClient, shop: Settings) -> None:
    database = Database(shop.sqlalchemy_url)

    def moving_segment(session):  # type: ignore[no-untyped-def]
        if "review-xss" in {s.key for s in segments.list_segments(session)}:
            return
        rule = {"field": "feature.orders", "op": "gte", "value": 2}
        segments.create_segment(session, "review-xss", rule, name=XSS)
        segments.apply_refresh(session, "review-xss", ["a", "b"], datetime(2024, 8, 18, tzinfo=UTC))
        segments.apply_refresh(
            session, "review-xss", ["a", "b", "c"], datetime(2024, 8, 21, tzinfo=UTC)
        )

    database.write(moving_segment)
    signed_in(client)
    body = client.get(f"/review/body?week={LAST}")
    assert XSS not in body.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in body.text
    assert "review-xss" in body.text


def test_signing_in_is_required(client: TestClient) -> None:
    assert client.get("/review", follow_redirects=False).status_code == 303
    assert client.get("/review.pdf", follow_redirects=False).status_code == 303
    assert client.get("/review/body", headers={"hx-request": "true"}).status_code == 401
