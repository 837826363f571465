"""The experiment pages: the list and the document form, one experiment's document, start / stop
and results (lift, interval, corrected p, chance to win, SRM, the verdict in the operator's
language), refused to analysts and without CSRF."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient
from markupsafe import escape

from tenure.config import Settings
from tenure.experiments.analysis import analyse
from tenure.experiments.service import documents
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.experiments.builders import experiment_doc, exposure_rows, write
from tests.web.shop import ANALYST, XSS, signed_in

YAML_DOC = """\
key: {key}
name: Gift with the first order
hypothesis: A small gift raises first-order conversion.
variants:
  - {{key: control, weight: 0.5}}
  - {{key: gift, weight: 0.5}}
traffic: 0.8
metrics: [conversion, revenue]
"""


def _create(client: TestClient, token: str, text: str) -> str:
    response = client.post(
        "/experiments", data={"csrf_token": token, "document": text}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_an_admin_creates_an_experiment_from_yaml_and_reads_it(client: TestClient) -> None:
    token = signed_in(client)
    location = _create(client, token, YAML_DOC.format(key="first-gift"))
    assert location == "/experiments/first-gift"

    listing = client.get("/experiments")
    assert listing.status_code == 200
    assert 'data-testid="experiment-list"' in listing.text
    assert "Gift with the first order" in listing.text and "80%" in listing.text
    assert 'data-testid="experiment-builder"' in listing.text
    assert "first-gift" not in client.get("/experiments?status=running").text

    page = client.get(location)
    assert page.status_code == 200
    assert "A small gift raises first-order conversion." in page.text
    assert 'data-testid="experiment-document"' in page.text
    assert "&#34;traffic&#34;: 0.8" in page.text
    assert 'data-testid="action-start"' in page.text
    assert 'hx-get="/experiments/first-gift/results"' in page.text

    empty = client.get(f"{location}/results")
    assert empty.status_code == 200
    assert 'data-testid="results-empty"' in empty.text
    assert "Nobody has been exposed to experiment" in empty.text


def test_an_analyst_reads_in_chinese_without_the_form(client: TestClient) -> None:
    token = signed_in(client)
    _create(client, token, YAML_DOC.format(key="read-only"))
    signed_in(client, ANALYST)
    listing = client.get("/experiments")
    assert listing.status_code == 200 and 'lang="zh-CN"' in listing.text
    assert "实验" in listing.text and "草稿" in listing.text
    assert 'data-testid="experiment-builder"' not in listing.text
    page = client.get("/experiments/read-only")
    assert page.status_code == 200 and "实验版本" in page.text
    assert 'data-testid="action-start"' not in page.text
    empty = client.get("/experiments/read-only/results")
    assert empty.status_code == 200 and 'data-testid="results-empty"' in empty.text
    assert client.get("/experiments?status=paused").status_code == 422


def test_an_invalid_document_names_the_path_with_a_400(client: TestClient) -> None:
    token = signed_in(client)
    bad = experiment_doc("bad-weights", name=XSS)
    bad["variants"] = [{"key": "control", "weight": 0.5}, {"key": "gift", "weight": 0.6}]
    response = client.post("/experiments", data={"csrf_token": token, "document": json.dumps(bad)})
    assert response.status_code == 400
    assert 'data-testid="builder-error"' in response.text and "$.variants" in response.text
    assert XSS not in response.text  # the document comes back in the textarea, escaped
    unknown = experiment_doc(
        "odd-event", metrics=[{"key": "taps", "kind": "conversion", "event": "Never Seen"}]
    )
    refused = client.post(
        "/experiments", data={"csrf_token": token, "document": json.dumps(unknown)}
    )
    assert refused.status_code == 400 and "Never Seen" in refused.text
    garbage = client.post("/experiments", data={"csrf_token": token, "document": "key: [oops"})
    assert garbage.status_code == 400
    assert client.get("/experiments/bad-weights").status_code == 404


def test_start_and_stop(client: TestClient) -> None:
    token = signed_in(client)
    location = _create(client, token, YAML_DOC.format(key="on-off"))
    started = client.post(f"{location}/start", data={"csrf_token": token}, follow_redirects=False)
    assert started.status_code == 303
    page = client.get(location)
    assert 'data-testid="experiment-status">running<' in page.text
    assert 'data-testid="action-stop"' in page.text
    stopped = client.post(f"{location}/stop", data={"csrf_token": token}, follow_redirects=False)
    assert stopped.status_code == 303
    assert 'data-testid="experiment-status">stopped<' in client.get(location).text
    again = client.post(f"{location}/stop", data={"csrf_token": token})
    assert again.status_code == 409 and 'data-testid="action-error"' in again.text
    assert client.post(f"{location}/pause", data={"csrf_token": token}).status_code == 422


def test_changes_are_refused_to_an_analyst_and_without_the_token(client: TestClient) -> None:
    token = signed_in(client)
    _create(client, token, YAML_DOC.format(key="guarded-test"))
    sneaky = {"document": YAML_DOC.format(key="sneaky-test")}
    assert client.post("/experiments", data=sneaky).status_code == 403
    assert client.post("/experiments/guarded-test/start").status_code == 403
    analyst_token = signed_in(client, ANALYST)
    refused = client.post("/experiments", data={**sneaky, "csrf_token": analyst_token})
    assert refused.status_code == 403 and "只有管理员可以修改此内容" in refused.text
    start = client.post("/experiments/guarded-test/start", data={"csrf_token": analyst_token})
    assert start.status_code == 403
    assert client.get("/experiments/sneaky-test").status_code == 404
    assert 'data-testid="experiment-status">草稿<' in client.get("/experiments/guarded-test").text


def test_unknown_and_odd_keys_are_an_escaped_404_page(client: TestClient) -> None:
    token = signed_in(client)
    odd = '<i>"odd"&key'
    page = client.get("/experiments/" + quote(odd, safe=""))
    assert page.status_code == 404 and 'data-testid="not-found"' in page.text
    assert odd not in page.text and str(escape(odd)) in page.text
    fragment = client.get("/experiments/" + quote(odd, safe="") + "/results")
    assert fragment.status_code == 404 and odd not in fragment.text
    action = client.post("/experiments/nope-nope/start", data={"csrf_token": token})
    assert action.status_code == 404 and "No experiment with key" in action.text


def test_results_and_the_verdict_in_english_and_chinese(client: TestClient, shop: Settings) -> None:
    """Exposures for the shop's customers in April 2024; their own orders are the outcomes."""
    database, warehouse = Database(shop.sqlalchemy_url), Warehouse(shop)
    key = "web-results"
    doc = experiment_doc(key, metrics=["conversion", "revenue"], guardrails=["refund_rate"])
    began = datetime(2024, 3, 31, tzinfo=UTC)
    database.write(lambda s: documents.create(s, doc, began))
    database.write(lambda s: documents.start(s, key, began))
    with warehouse.reader() as con:
        users = list(con.table("users").select("user_id").order_by("user_id").execute()["user_id"])
    variants = ["control" if i % 2 else "gift" for i in range(len(users))]
    seen = [began + timedelta(days=1, minutes=7 * i) for i in range(len(users))]
    write(warehouse, exposure_rows(key, users, variants, seen))

    row = database.read(lambda s: documents.row(s, key))
    expected = {
        locale: analyse(warehouse, documents.spec_of(row), row.status, row.phase_started_at,
                        row.stopped_at, locale, database)
        for locale in ("en", "zh-CN")
    }  # fmt: skip
    assert expected["en"].verdict != expected["zh-CN"].verdict

    signed_in(client)
    english = client.get(f"/experiments/{key}/results")
    assert english.status_code == 200
    assert 'data-testid="verdict"' in english.text
    assert str(escape(expected["en"].verdict)) in english.text
    assert 'data-testid="metric-conversion"' in english.text
    assert 'data-testid="metric-refund_rate"' in english.text and "guardrail" in english.text
    assert 'data-testid="srm"' in english.text and "SRM check" in english.text
    assert "p (corrected)" in english.text and "Chance to win" in english.text
    units = expected["en"].units
    assert f"gift: {units['gift']:,} units" in english.text

    signed_in(client, ANALYST)
    chinese = client.get(f"/experiments/{key}/results")
    assert chinese.status_code == 200
    assert str(escape(expected["zh-CN"].verdict)) in chinese.text
    assert "胜出概率" in chinese.text and "SRM 检验" in chinese.text
