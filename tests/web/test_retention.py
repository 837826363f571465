"""The retention page over the simulated shop: controls, breakdowns, fragments, bad input."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tenure.analytics.retention import RetentionQuery, RetentionRunner
from tenure.config import Settings
from tenure.i18n import catalogue
from tenure.storage.warehouse import Warehouse
from tenure.web.pages import retention as page
from tests.web.shop import ANALYST, XSS, signed_in

FRAGMENT = {"HX-Request": "true", "HX-Target": page.TARGET}


def errors(html: str) -> list[str]:
    return re.findall(r'<p class="error">(.*?)</p>', html)


def test_the_default_page_shows_the_heatmap_day_n_and_cohort_table(
    client: TestClient, shop: Settings
) -> None:
    signed_in(client)
    response = client.get("/retention")
    assert response.status_code == 200
    html = response.text
    for testid in ("retention-form", "retention-heatmap", "retention-day-n", "retention-table"):
        assert f'data-testid="{testid}"' in html
    assert "Cohort period" in html and "Share of each cohort ordering again" in html
    assert html.count('<div class="chart" data-figure=') == 2  # heatmap and day-N curves
    assert errors(html) == []
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    # The table's cohorts are the runner's, with their sizes.
    with Warehouse(shop).reader() as con:
        result = RetentionRunner(RetentionQuery(days=(1, 7, 14, 30, 60)), shop.zone)(con)
    table = html[html.index('data-testid="retention-table"') :]
    assert table.count("<tr>") == len(result.cohorts) + 1
    biggest = max(result.cohorts, key=lambda c: c.size)
    assert f"<td>{biggest.size:,}</td>" in table


def test_an_analyst_reads_it_in_chinese(client: TestClient) -> None:
    signed_in(client, ANALYST)
    response = client.get("/retention?measure=revenue&period=month")
    assert response.status_code == 200
    assert 'lang="zh-CN"' in response.text
    assert "留存" in response.text and "批次周期" in response.text
    # The LTV chart's title, inside the figure's JSON (which escapes non-ASCII text).
    assert json.dumps("每位客户累计收入") in unescape(response.text)


def test_value_retention_by_month(client: TestClient) -> None:
    signed_in(client)
    html = client.get("/retention?period=month&periods=6&measure=revenue").text
    assert 'data-testid="retention-ltv"' in html and 'data-testid="retention-heatmap"' not in html
    assert "Cumulative revenue per customer" in html and "Revenue per cohort member" in html
    assert "$" in html[html.index('data-testid="retention-table"') :]
    assert "<th>+6</th>" in html and "<th>+7</th>" not in html


def test_recurring_event_cohorts_by_day(client: TestClient) -> None:
    signed_in(client)
    response = client.get(
        "/retention?period=day&periods=7&cohorts=recurring&activity=any_event&days=1,3"
    )
    assert response.status_code == 200 and errors(response.text) == []
    assert "Share of each cohort active again (events)" in response.text
    assert "Day 3" in response.text and "Day 7" not in response.text


def test_a_breakdown_lists_the_segments_and_shows_the_largest(client: TestClient) -> None:
    signed_in(client)
    html = client.get("/retention?breakdown=first_order_channel").text
    assert 'data-testid="retention-segments"' in html
    assert "By segment: First order&#39;s channel" in html
    links = re.findall(r'href="/retention\?[^"]*segment=([^"]+)"', html)
    assert links  # every segment but the one shown is a link
    shown = re.search(r"<h2>Segment: (.*?)</h2>", html)
    assert shown is not None and shown.group(1) not in links
    other = client.get(f"/retention?breakdown=first_order_channel&segment={links[0]}")
    assert other.status_code == 200
    assert re.search(r"<h2>Segment: (.*?)</h2>", other.text).group(1) != shown.group(1)  # type: ignore[union-attr]


def test_an_unknown_segment_says_so_and_shows_the_largest(client: TestClient) -> None:
    signed_in(client)
    response = client.get("/retention", params={"breakdown": "country", "segment": XSS})
    assert response.status_code == 200
    assert XSS not in response.text
    assert errors(response.text) == [
        "There is no segment “&lt;script&gt;alert(1)&lt;/script&gt;” in this breakdown; "
        "showing the largest one."
    ]
    assert 'data-testid="retention-heatmap"' in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=year", "Cohort period must be day, week or month."),
        ("periods=0", "Periods must be a whole number from 1 to 400."),
        ("periods=401", "Periods must be a whole number from 1 to 400."),
        ("periods=abc", "Periods must be a whole number from 1 to 400."),
        ("days=0,7", "Day-N columns: up to 12 whole numbers from 1 to 3660"),
        ("days=", "Day-N columns: up to 12 whole numbers from 1 to 3660"),
        ("days=1,x", "Day-N columns: up to 12 whole numbers from 1 to 3660"),
        ("breakdown=planet", "Pick a breakdown from the list."),
        ("measure=profit", "Measure must be customers retained or revenue."),
        ("cohorts=some", "Cohorts must be first time or recurring."),
        ("activity=dance", "Activity must be paid orders, any tracked event, or either."),
    ],
)
def test_bad_controls_get_a_message_not_a_500(client: TestClient, query: str, message: str) -> None:
    signed_in(client)
    response = client.get(f"/retention?{query}")
    assert response.status_code == 400
    assert any(e.startswith(message) for e in errors(response.text)), errors(response.text)
    assert 'data-testid="retention-form"' in response.text  # the controls stay usable


def test_a_typed_value_is_echoed_escaped(client: TestClient) -> None:
    signed_in(client)
    response = client.get("/retention", params={"days": XSS, "period": XSS})
    assert response.status_code == 400
    assert XSS not in response.text and "&lt;script&gt;" in response.text
    assert len(errors(response.text)) == 2


def test_htmx_swaps_only_the_result(client: TestClient) -> None:
    signed_in(client)
    response = client.get("/retention?period=month", headers=FRAGMENT)
    assert response.status_code == 200
    assert "<html" not in response.text and 'data-testid="retention-heatmap"' in response.text
    # A bad value in a fragment is a message htmx swaps in (htmx does not swap a 4xx).
    bad = client.get("/retention?periods=0", headers=FRAGMENT)
    assert bad.status_code == 200 and "<html" not in bad.text
    assert errors(bad.text) == ["Periods must be a whole number from 1 to 400."]
    # Going back in history asks for the whole page.
    whole = client.get("/retention", headers={**FRAGMENT, "HX-History-Restore-Request": "true"})
    assert "<html" in whole.text


def test_signed_out_goes_to_the_sign_in_page(client: TestClient) -> None:
    response = client.get("/retention", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_every_control_message_is_in_both_catalogues() -> None:
    """The page builds these keys from the control's name, which Babel cannot extract."""
    keys = {f"web.retention.invalid.{field}" for field in page.FIELDS}
    keys |= {
        f"web.retention.{group}.{value}" for group in ("unit", "period") for value in page.PERIODS
    }
    keys |= {f"web.retention.chart.heatmap.{value}" for value in page.ACTIVITIES}
    keys |= {f"web.retention.breakdown.{value}" for value in page.BREAKDOWNS}
    for locale in ("en", "zh_CN"):
        assert sorted(keys - set(catalogue(locale))) == [], locale
