"""The campaign pages: the list and its builder, the calendar, a campaign's detail, lifecycle
and results against its holdout, in both languages, refused to analysts and without CSRF."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import pandas as pd
from fastapi.testclient import TestClient
from markupsafe import escape

from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import enter_treated
from tests.promotions.builders import stored
from tests.web.shop import ANALYST, XSS, signed_in


def _inbox_doc(key: str, name: str = "Inbox hello", **extra: object) -> dict[str, object]:
    """A campaign that sends on the in-app inbox only (no provider needed to start it)."""
    doc: dict[str, object] = {
        "key": key,
        "name": name,
        "holdout": 0.2,
        "steps": [
            {"id": "hello", "type": "send", "channel": "inbox", "content": {"text": "Hi"}},
        ],
    }
    doc.update(extra)
    return doc


def _create(client: TestClient, token: str, doc: dict[str, object] | str) -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    response = client.post(
        "/campaigns", data={"csrf_token": token, "document": text}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_the_list_shows_the_builder_to_an_admin_in_english(client: TestClient) -> None:
    token = signed_in(client)
    _create(client, token, _inbox_doc("listed-one", name="Listed one"))
    page = client.get("/campaigns")
    assert page.status_code == 200
    assert 'data-testid="campaign-list"' in page.text and "Listed one" in page.text
    assert "in-app inbox" in page.text and "draft" in page.text
    assert 'data-testid="builder"' in page.text
    for title in ("Welcome series", "Cart abandonment", "At-risk win-back", "Birthday care"):
        assert title in page.text
    assert 'name="offer"' in page.text  # the playbooks that give a coupon ask for the offer
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    filtered = client.get("/campaigns?status=finished")
    assert filtered.status_code == 200 and "Listed one" not in filtered.text


def test_an_analyst_reads_the_list_in_chinese_without_the_builder(client: TestClient) -> None:
    signed_in(client, ANALYST)
    page = client.get("/campaigns")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text and "营销活动" in page.text
    assert 'data-testid="builder"' not in page.text
    assert "只有管理员可以创建或启动营销活动" in page.text
    assert client.get("/campaigns?status=nonsense").status_code == 422
    assert client.get("/campaigns?offset=-1").status_code == 422


def test_an_admin_creates_a_campaign_from_a_playbook_and_reads_it(client: TestClient) -> None:
    token = signed_in(client)
    response = client.post(
        "/campaigns/playbook",
        data={"csrf_token": token, "playbook": "birthday", "key": "birthday-web"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/campaigns/birthday-web"

    page = client.get("/campaigns/birthday-web")
    assert page.status_code == 200
    assert "Birthday care" in page.text and 'data-testid="campaign-document"' in page.text
    assert "&#34;attribute&#34;: &#34;birthday&#34;" in page.text  # the pretty, escaped JSON
    assert 'data-testid="campaign-version">1<' in page.text
    assert 'data-testid="action-start"' in page.text
    assert 'hx-get="/campaigns/birthday-web/results"' in page.text

    results = client.get("/campaigns/birthday-web/results")
    assert results.status_code == 200
    assert 'data-testid="results-empty"' in results.text
    assert "Nobody has entered this campaign yet" in results.text


def test_a_playbook_takes_its_offer_from_the_form(client: TestClient, shop: Settings) -> None:
    database = Database(shop.sqlalchemy_url)
    offer = database.write(
        lambda s: (
            stored(
                s,
                kind="coupon",
                name="Welcome gift",
                benefit={"type": "amount_off", "amount_minor": 500},
            ).id
        )
    )
    token = signed_in(client)
    assert f'<option value="{offer}">' in client.get("/campaigns").text  # suggested
    response = client.post(
        "/campaigns/playbook",
        data={"csrf_token": token, "playbook": "welcome_series", "key": "welcome-web",
              "offer": offer},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and f"&#34;offer&#34;: &#34;{offer}&#34;" in page.text


def test_a_playbook_value_that_does_not_exist_is_shown_with_its_path(client: TestClient) -> None:
    token = signed_in(client)
    response = client.post(
        "/campaigns/playbook",
        data={"csrf_token": token, "playbook": "welcome_series", "offer": "NO-SUCH-OFFER"},
    )
    assert response.status_code == 400
    assert 'data-testid="builder-error"' in response.text
    assert "$.steps[3].offer" in response.text and "NO-SUCH-OFFER" in response.text
    missing = client.post(
        "/campaigns/playbook", data={"csrf_token": token, "playbook": "welcome_series"}
    )
    assert missing.status_code == 400 and "needs a value for offer" in missing.text
    unknown = client.post("/campaigns/playbook", data={"csrf_token": token, "playbook": "nope"})
    assert unknown.status_code == 400 and "no playbook" in unknown.text


def test_an_invalid_document_names_the_path_with_a_400(client: TestClient) -> None:
    token = signed_in(client)
    bad = _inbox_doc("bad-channel")
    bad["steps"] = [{"id": "x", "type": "send", "channel": "fax", "content": {"text": XSS}}]
    response = client.post("/campaigns", data={"csrf_token": token, "document": json.dumps(bad)})
    assert response.status_code == 400
    assert "$.steps[0].channel" in response.text
    assert XSS not in response.text and str(escape(json.dumps(bad))) in response.text
    for text in ("key: [unclosed", "", "- a list"):
        refused = client.post("/campaigns", data={"csrf_token": token, "document": text})
        assert refused.status_code == 400 and 'data-testid="builder-error"' in refused.text
    assert client.get("/campaigns/bad-channel").status_code == 404


def test_a_second_campaign_with_a_used_key_is_refused_on_the_page(client: TestClient) -> None:
    token = signed_in(client)
    _create(client, token, _inbox_doc("twice"))
    again = client.post(
        "/campaigns", data={"csrf_token": token, "document": json.dumps(_inbox_doc("twice"))}
    )
    assert again.status_code == 409 and "exists already" in again.text


def test_yaml_documents_and_the_lifecycle_buttons(client: TestClient) -> None:
    token = signed_in(client)
    yaml_doc = (
        "key: life-cycle\nname: Life cycle\nsteps:\n"
        "  - {id: note, type: send, channel: inbox, content: {text: Hello}}\n"
    )
    location = _create(client, token, yaml_doc)
    assert location == "/campaigns/life-cycle"
    for action, status in (
        ("start", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("finish", "finished"),
    ):
        response = client.post(
            f"{location}/{action}", data={"csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        page = client.get(location)
        assert f'data-testid="campaign-status">{status}<' in page.text
    refused = client.post(f"{location}/start", data={"csrf_token": token})
    assert refused.status_code == 409
    assert 'data-testid="action-error"' in refused.text and "cannot start" in refused.text
    assert client.post(f"{location}/explode", data={"csrf_token": token}).status_code == 422


def test_an_email_campaign_cannot_start_without_a_provider(client: TestClient) -> None:
    token = signed_in(client)
    doc = _inbox_doc("mail-only")
    doc["steps"] = [
        {"id": "m", "type": "send", "channel": "email", "content": {"subject": "S", "text": "T"}}
    ]
    location = _create(client, token, doc)
    refused = client.post(f"{location}/start", data={"csrf_token": token})
    assert refused.status_code == 409 and "TENURE_SMTP_URL" in refused.text
    assert 'data-testid="campaign-status">draft<' in client.get(location).text


def test_changes_are_refused_to_an_analyst_and_without_the_token(client: TestClient) -> None:
    admin_token = signed_in(client)
    _create(client, admin_token, _inbox_doc("guarded"))
    for path, data in (
        ("/campaigns", {"document": json.dumps(_inbox_doc("sneaky"))}),
        ("/campaigns/playbook", {"playbook": "birthday", "key": "sneaky"}),
        ("/campaigns/guarded/start", {}),
    ):
        assert client.post(path, data=data).status_code == 403  # no token
    analyst = TestClient(client.app)
    analyst_token = signed_in(analyst, ANALYST)
    for path, data in (
        ("/campaigns", {"document": json.dumps(_inbox_doc("sneaky"))}),
        ("/campaigns/playbook", {"playbook": "birthday", "key": "sneaky"}),
        ("/campaigns/guarded/start", {}),
    ):
        refused = analyst.post(path, data={**data, "csrf_token": analyst_token})
        assert refused.status_code == 403
        assert "只有管理员可以修改此内容" in refused.text
    assert client.get("/campaigns/sneaky").status_code == 404
    assert 'data-testid="campaign-status">draft<' in client.get("/campaigns/guarded").text
    assert 'data-testid="action-start"' not in analyst.get("/campaigns/guarded").text


def test_unknown_and_odd_keys_are_an_escaped_404_page(client: TestClient) -> None:
    token = signed_in(client)
    odd = '<b>"odd"&key'
    page = client.get("/campaigns/" + quote(odd, safe=""))
    assert page.status_code == 404 and 'data-testid="not-found"' in page.text
    assert odd not in page.text and str(escape(odd)) in page.text
    assert "No campaign with key" in page.text
    fragment = client.get("/campaigns/" + quote(odd, safe="") + "/results")
    assert fragment.status_code == 404 and odd not in fragment.text
    action = client.post("/campaigns/nope-nope/start", data={"csrf_token": token})
    assert action.status_code == 404 and 'data-testid="not-found"' in action.text
    signed_in(client, ANALYST)
    chinese = client.get("/campaigns/nope-nope")
    assert chinese.status_code == 404 and "未找到" in chinese.text


def test_names_are_escaped_everywhere(client: TestClient) -> None:
    token = signed_in(client)
    _create(client, token, _inbox_doc("xss-name", name=XSS))
    for path in ("/campaigns", "/campaigns/xss-name"):
        page = client.get(path)
        assert page.status_code == 200
        assert XSS not in page.text and str(escape(XSS)) in page.text


def test_results_compare_treatment_with_the_holdout(client: TestClient, shop: Settings) -> None:
    with Warehouse(shop).reader() as con:
        users = con.table("users").select("user_id").order_by("user_id").execute()["user_id"]
    truth = pd.DataFrame({"user_id": users, "treated": [i % 4 != 0 for i in range(len(users))]})
    at = datetime(2024, 4, 1, tzinfo=UTC)
    enter_treated(Database(shop.sqlalchemy_url), "holdout-read", truth, at, attribution_days=60)

    signed_in(client)
    fragment = client.get("/campaigns/holdout-read/results")
    assert fragment.status_code == 200
    assert 'data-testid="results-empty"' not in fragment.text
    assert 'data-testid="campaign-arms"' in fragment.text
    assert 'data-testid="lift-holdout"' in fragment.text
    assert "Lift over the holdout" in fragment.text and "95% interval" in fragment.text
    assert "Incremental revenue" in fragment.text and "pp" in fragment.text
    treated = int(truth["treated"].sum())
    assert f"<td>{treated:,}</td>" in fragment.text

    signed_in(client, ANALYST)
    chinese = client.get("/campaigns/holdout-read/results")
    assert "相对对照组的提升" in chinese.text and "增量收入" in chinese.text


def test_the_calendar_shows_holidays_and_planned_campaigns(client: TestClient) -> None:
    token = signed_in(client)
    eve = _inbox_doc(
        "singles-eve", name="Singles' Day eve", trigger={"type": "holiday", "holiday": "singles_day",
                                                         "offset_days": -1}
    )  # fmt: skip
    _create(client, token, eve)
    page = client.get("/campaigns/calendar?year=2027")
    assert page.status_code == 200
    assert 'data-testid="holiday-singles_day"' in page.text and "Singles" in page.text
    assert 'data-testid="planned-singles-eve"' in page.text
    assert "Nov 10, 2027" in page.text and "<h2>November 2027</h2>" in page.text
    assert client.get("/campaigns/calendar").status_code == 200
    assert client.get("/campaigns/calendar?year=1900").status_code == 422
    empty = client.get("/campaigns/calendar?year=2040")
    assert 'data-testid="calendar-empty"' in empty.text

    signed_in(client, ANALYST)
    chinese = client.get("/campaigns/calendar?year=2027")
    assert (
        chinese.status_code == 200
        and "双11" in chinese.text
        and "<h2>2027年11月</h2>" in chinese.text
    )
