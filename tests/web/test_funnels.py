"""The funnels and paths page over the simulated shop: building, exporting drop-outs, paths."""

from __future__ import annotations

import csv
import io
import json
import re
from bisect import bisect_right
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tenure.analytics.funnels import FunnelQuery, funnel_runner
from tenure.config import Settings
from tenure.i18n import catalogue
from tenure.storage.warehouse import Warehouse
from tenure.web.pages import funnels as page
from tests.web.shop import ANALYST, XSS, signed_in

MAIN = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
BUILDER = {"HX-Request": "true", "HX-Target": page.BUILDER}
PATHS = {"HX-Request": "true", "HX-Target": page.PATHS}


def errors(html: str) -> list[str]:
    return re.findall(r'<p class="error">(.*?)</p>', html)


def chosen_steps(html: str) -> list[str]:
    """The event selected in each step's picker."""
    pickers = re.findall(r'<select name="step"[^>]*>(.*?)</select>', html, re.S)
    return [re.search(r'<option value="([^"]*)" selected>', p).group(1) for p in pickers]  # type: ignore[union-attr]


def users_per_step(html: str) -> list[int]:
    table = html[html.index('data-testid="funnel-table"') :]
    return [int(n.replace(",", "")) for n in re.findall(r"</td>\s*<td>([\d,]+)</td>", table)]


def test_the_default_funnel_is_the_purchase_funnel(client: TestClient, shop: Settings) -> None:
    signed_in(client)
    response = client.get("/funnels")
    assert response.status_code == 200
    html = response.text
    assert chosen_steps(html) == list(MAIN)
    assert 'data-testid="funnel-chart"' in html and "Funnel within 7 days" in html
    with Warehouse(shop).reader() as con:
        result = funnel_runner(FunnelQuery(steps=MAIN), shop.zone)(con)
    assert users_per_step(html) == [s.users for s in result.overall.steps]
    for step in result.overall.steps[:-1]:
        assert f'data-testid="dropped-csv-{step.step}"' in html
    # Each step leads to the paths tab, starting from it.
    assert '<a href="/funnels/paths">Paths</a>' in html
    assert '<a href="/funnels/paths?start=Checkout%20Started"' in html


def test_an_analyst_reads_it_in_chinese(client: TestClient) -> None:
    signed_in(client, ANALYST)
    response = client.get("/funnels")
    assert response.status_code == 200
    assert 'lang="zh-CN"' in response.text
    assert "构建漏斗" in response.text and "各步骤用户数" in response.text
    assert json.dumps("7 天内的漏斗") in unescape(response.text)  # the chart's title
    paths = client.get("/funnels/paths", headers=PATHS)
    assert "热门路径" in paths.text and json.dumps("会话在 Session Started 之后的去向") in unescape(
        paths.text
    )


def test_mode_and_window_change_the_counts(client: TestClient, shop: Settings) -> None:
    signed_in(client)
    steps = MAIN[:3]
    response = client.get("/funnels", params={"step": steps, "window": "1", "mode": "strict"})
    assert response.status_code == 200
    with Warehouse(shop).reader() as con:
        query = FunnelQuery(steps=steps, mode="strict", window=timedelta(days=1))
        result = funnel_runner(query, shop.zone)(con)
    assert users_per_step(response.text) == [s.users for s in result.overall.steps]
    assert "Strict: each step is the person" in response.text


def test_adding_and_removing_steps(client: TestClient) -> None:
    signed_in(client)
    two = {"step": ["Product Viewed", "Order Completed"], "window": "3", "mode": "ordered"}
    added = client.get("/funnels", params={**two, "add": "1"}, follow_redirects=False)
    # A plain form answers with the funnel's own address, which a reload does not change again.
    assert added.status_code == 303
    asked = parse_qs(urlsplit(added.headers["location"]).query)
    assert asked["step"][:2] == two["step"] and len(asked["step"]) == 3
    assert asked["window"] == ["3"] and "add" not in asked
    assert len(chosen_steps(client.get(added.headers["location"]).text)) == 3
    removed = client.get("/funnels", params={**two, "step": MAIN, "remove": "1"})
    assert chosen_steps(removed.text) == [MAIN[0], *MAIN[2:]]
    # With htmx the builder comes back alone, and the address bar gets the funnel's address.
    swapped = client.get("/funnels", params={**two, "add": "1"}, headers=BUILDER)
    assert swapped.status_code == 200 and "<html" not in swapped.text
    assert len(chosen_steps(swapped.text)) == 3
    assert swapped.headers["hx-push-url"].startswith("/funnels?step=Product+Viewed&step=")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"step": ["Nope", "Order Completed"]}, "The warehouse has no event “Nope”."),
        ({"step": ["Product Viewed"]}, "A funnel has 2 to 30 steps."),
        ({"step": ["Product Viewed", ""]}, "Pick an event for every step."),
        ({"step": MAIN, "window": "0"}, "The window must be a whole number of days from 1 to 400."),
        ({"step": MAIN, "window": "week"}, "The window must be a whole number of days"),
        ({"step": MAIN, "mode": "sideways"}, "Mode must be ordered, strict or any order."),
        ({"step": MAIN, "remove": "9"}, "There is no such step to remove."),
        (
            {"step": ["Product Viewed", "Product Viewed"], "mode": "unordered"},
            "The query cannot be answered: `steps` unordered steps must be different events.",
        ),
    ],
)
def test_bad_funnels_get_a_message_not_a_500(
    client: TestClient, params: dict[str, object], message: str
) -> None:
    signed_in(client)
    response = client.get("/funnels", params=params)
    assert response.status_code == 400
    assert any(e.startswith(message) for e in errors(response.text)), errors(response.text)
    assert 'data-testid="funnel-form"' in response.text


def test_an_unknown_event_is_escaped_and_kept_in_its_picker(client: TestClient) -> None:
    signed_in(client)
    response = client.get("/funnels", params={"step": [XSS, "Order Completed"]})
    assert response.status_code == 400
    assert XSS not in response.text
    assert errors(response.text) == [
        "The warehouse has no event “&lt;script&gt;alert(1)&lt;/script&gt;”."
    ]
    assert chosen_steps(response.text)[0] == "&lt;script&gt;alert(1)&lt;/script&gt;"


def _dropped_by_pandas(shop: Settings, first: str, second: str, window: timedelta) -> set[str]:
    """People with a `first` event and no `second` strictly after one of them within the window."""
    with Warehouse(shop).reader() as con:
        events = con.table("events").execute()
    events = events[events.type.isin(["track", "page", "screen"])].copy()
    events["person"] = events.user_id.fillna(events.anonymous_id)
    dropped = set()
    for person, rows in events.groupby("person"):
        starts = sorted(rows.ts[rows.name == first])
        ends = sorted(rows.ts[rows.name == second])
        if not starts:
            continue
        if not any(
            (i := bisect_right(ends, start)) < len(ends) and ends[i] <= start + window
            for start in starts
        ):
            dropped.add(str(person))
    return dropped


def test_the_drop_out_export_matches_pandas(client: TestClient, shop: Settings) -> None:
    signed_in(client)
    steps = ["Product Viewed", "Product Added"]
    response = client.get(
        "/funnels/dropped.csv", params={"step": steps, "window": "1", "dropped_at": "1"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="funnel-dropped-after-step-1.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["user_id", "anonymous_id", "reached_at"]
    people = {r["user_id"] or r["anonymous_id"] for r in rows}
    assert len(people) == len(rows) > 0
    assert people == _dropped_by_pandas(shop, steps[0], steps[1], timedelta(days=1))
    assert all(pd.Timestamp(r["reached_at"]).tzinfo is not None for r in rows)
    # The count on the page is the export's.
    page_html = client.get("/funnels", params={"step": steps, "window": "1"}).text
    assert f"{len(rows):,}" in page_html[page_html.index('data-testid="funnel-table"') :]


def test_an_analyst_can_export_too(client: TestClient) -> None:
    signed_in(client, ANALYST)
    response = client.get("/funnels/dropped.csv", params={"step": MAIN, "dropped_at": "3"})
    assert response.status_code == 200 and response.text.startswith("user_id,")


@pytest.mark.parametrize("at", ["0", "4", "x", ""])
def test_a_bad_export_step_shows_the_page_with_a_message(client: TestClient, at: str) -> None:
    signed_in(client)
    response = client.get("/funnels/dropped.csv", params={"step": MAIN, "dropped_at": at})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert errors(response.text) == [
        "Pick the step to export from 1 to 3: the last step has no one who dropped after it."
    ]
    assert 'data-testid="funnel-chart"' in response.text  # the funnel itself is fine


def test_an_export_of_a_bad_funnel_shows_the_message(client: TestClient) -> None:
    signed_in(client)
    response = client.get(
        "/funnels/dropped.csv", params={"step": ["Nope", "Order Completed"], "dropped_at": "1"}
    )
    assert response.status_code == 400
    assert errors(response.text) == ["The warehouse has no event “Nope”."]


def test_csv_cells_never_run_as_formulas() -> None:
    text = page.csv_text(
        ("id", "note"),
        [
            ('=HYPERLINK("http://x")', "+1"),
            ("-2", "@SUM(A1)"),
            ("\tx", "\rx"),
            ('a,"b"', None),
            ("plain", "2024-01-01T00:00:00+00:00"),
        ],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["id", "note"],
        ['\'=HYPERLINK("http://x")', "'+1"],
        ["'-2", "'@SUM(A1)"],
        ["'\tx", "'\rx"],
        ['a,"b"', ""],
        ["plain", "2024-01-01T00:00:00+00:00"],
    ]
    assert text.split("\r\n")[4] == '"a,""b""",'


def test_the_paths_tab_starts_from_session_start(client: TestClient) -> None:
    signed_in(client)
    response = client.get("/funnels/paths")
    assert response.status_code == 200 and "<html" in response.text
    html = response.text
    assert '<option value="Session Started" selected>' in html
    assert 'name="steps" min="1" max="20" value="4"' in html
    assert "Where sessions go after Session Started" in html and html.count('class="chart"') == 1
    assert '<a href="/funnels">Funnel</a>' in html
    # What was asked stays in the form.
    asked = client.get("/funnels/paths?start=Product+Added&steps=2&top=3&direction=before").text
    assert '<option value="Product Added" selected>' in asked
    assert '<option value="before" selected>' in asked and 'value="3"' in asked


def test_paths_show_the_sankey_and_top_paths(client: TestClient) -> None:
    signed_in(client)
    response = client.get("/funnels/paths?start=Product+Viewed&steps=3&top=5", headers=PATHS)
    assert response.status_code == 200 and "<html" not in response.text
    assert "Where sessions go after Product Viewed" in response.text
    table = response.text[response.text.index('data-testid="top-paths"') :]
    assert table.count("<tr>") == 1 + 5
    before = client.get("/funnels/paths?start=Order+Completed&direction=before", headers=PATHS)
    assert "Where sessions came from before Order Completed" in before.text
    edges = client.get("/funnels/paths?start=", headers=PATHS)
    assert "Where sessions go from their start" in edges.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=Nope", "The warehouse has no event “Nope”."),
        ("steps=0", "Steps must be a whole number from 1 to 20."),
        ("steps=21", "Steps must be a whole number from 1 to 20."),
        ("top=1000", "Top paths must be a whole number from 1 to 50."),
        ("direction=sideways", "Direction must be after or before."),
    ],
)
def test_bad_paths_get_a_message(client: TestClient, query: str, message: str) -> None:
    signed_in(client)
    swapped = client.get(f"/funnels/paths?{query}", headers=PATHS)
    assert swapped.status_code == 200  # htmx swaps it in
    assert errors(swapped.text) == [message]
    assert client.get(f"/funnels/paths?{query}").status_code == 400


def test_signed_out_goes_to_the_sign_in_page(client: TestClient) -> None:
    for path in ("/funnels", "/funnels/dropped.csv?dropped_at=1", "/funnels/paths"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    partial = client.get("/funnels/paths", headers=PATHS, follow_redirects=False)
    assert partial.status_code == 401 and partial.headers["hx-redirect"].startswith("/login")


def test_every_built_message_is_in_both_catalogues() -> None:
    """Keys the page builds from a control's name (Babel cannot extract them)."""
    keys = {f"web.funnels.invalid.{f}" for f in page.FUNNEL_FIELDS}
    keys |= {f"web.funnels.invalid.path_{f}" for f in page.PATH_FIELDS}
    keys |= {f"web.funnels.mode.{m}" for m in page.MODES}
    keys |= {f"web.funnels.mode_note.{m}" for m in page.MODES}
    keys |= {f"web.funnels.direction.{d}" for d in page.DIRECTIONS}
    keys |= {f"web.funnels.paths_chart.{k}" for k in ("after", "before")}
    keys |= {f"web.funnels.paths_chart.session_{k}" for k in ("after", "before")}
    for locale in ("en", "zh_CN"):
        assert sorted(keys - set(catalogue(locale))) == [], locale
