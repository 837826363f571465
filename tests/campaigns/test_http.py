"""Campaigns over HTTP: documents and states (admin), contacts and the inbox (server), and
the signed links in messages (no key): pixel, click redirect, one-click unsubscribe."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from tenure.campaigns.channels.email import SmtpSender
from tenure.campaigns.dispatch import Dispatcher
from tenure.campaigns.models import Decision
from tenure.campaigns.router_tracking import PIXEL
from tenure.campaigns.service import links as campaign_links
from tenure.campaigns.service.links import Links
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import NOW, add_users, campaign_doc, reachable, start
from tests.campaigns.smtp_sink import SmtpSink
from tests.serving import keyed_client

PROBLEM = "application/problem+json"


@pytest.fixture
def shop(settings: Settings) -> Settings:
    """The shop is in Shanghai: NOW (10:00 there) is outside the default quiet hours."""
    return settings.model_copy(update={"timezone": "Asia/Shanghai"})


@pytest.fixture
def api(shop: Settings, database: Database) -> dict[str, Any]:
    """A client and one key per scope."""
    return keyed_client(shop, database)


def _call(
    api: dict[str, Any], method: str, path: str, scope: str | None = "admin", **kw: Any
) -> Any:
    headers = {**(api["h"][scope] if scope else {}), **kw.pop("headers", {})}
    return api["client"].request(method, path, headers=headers, **kw)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), (
        response.text
    )
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def inbox_doc(key: str = "news", **overrides: Any) -> dict[str, Any]:
    """A one-step in-app message to everyone (no provider needed to start it)."""
    doc: dict[str, Any] = {
        "key": key, "name": "News", "holdout": 0.0, "global_control": False,
        "steps": [{
            "id": "note", "type": "send", "channel": "inbox",
            "content": {"title": {"en": "New in", "zh-CN": "新品"},
                        "text": "Hello {{ user.first_name }}", "url": "https://shop.example/new"},
        }],
    }  # fmt: skip
    doc.update(overrides)
    return doc


def _decisions(database: Database, action: str) -> list[Decision]:
    stmt = select(Decision).where(Decision.action == action).order_by(Decision.id)
    return database.read(lambda s: list(s.scalars(stmt)))


def _engine(shop: Settings, database: Database, warehouse: Warehouse, **senders: Any) -> Dispatcher:
    """The engine with the installation's own signed links, as `tenure worker` builds it."""
    return Dispatcher(shop, database, warehouse, senders, campaign_links.links(shop), "w1")


def _path(shop: Settings, url: str) -> str:
    assert url.startswith(shop.public_url), url
    return url.removeprefix(shop.public_url.rstrip("/"))


# ---- scopes --------------------------------------------------------------------------------


ADMIN_CALLS = [
    ("GET", "/v1/campaigns"),
    ("POST", "/v1/campaigns"),
    ("GET", "/v1/campaigns/welcome"),
    ("PUT", "/v1/campaigns/welcome"),
    ("POST", "/v1/campaigns/welcome/start"),
    ("POST", "/v1/campaigns/validate"),
    ("GET", "/v1/campaigns/welcome/preview?user_id=u000"),
    ("GET", "/v1/campaigns/welcome/results"),
    ("GET", "/v1/campaigns/users/u000/history"),
    ("GET", "/v1/campaigns/policy"),
    ("PUT", "/v1/campaigns/policy"),
]
SERVER_CALLS = [
    ("GET", "/v1/contacts/u000"),
    ("PUT", "/v1/contacts/u000"),
    ("GET", "/v1/inbox/u000"),
    ("POST", "/v1/inbox/u000/m1/read"),
]


class TestScopes:
    def test_without_a_key_every_keyed_endpoint_is_401(self, api: dict[str, Any]) -> None:
        for method, path in ADMIN_CALLS + SERVER_CALLS:
            _problem(_call(api, method, path, None, json={}), 401, "missing_api_key")

    def test_a_write_key_gets_403_on_admin_and_server_endpoints(self, api: dict[str, Any]) -> None:
        for method, path in ADMIN_CALLS + SERVER_CALLS:
            _problem(_call(api, method, path, "write", json={}), 403, "scope_required")

    def test_a_server_key_cannot_administer_campaigns(self, api: dict[str, Any]) -> None:
        for method, path in ADMIN_CALLS:
            _problem(_call(api, method, path, "server", json={}), 403, "scope_required")


# ---- documents and versions ------------------------------------------------------------------


class TestDocuments:
    def test_create_get_and_a_stale_update_is_a_409(self, api: dict[str, Any]) -> None:
        created = _call(api, "POST", "/v1/campaigns", json=campaign_doc())
        body = _ok(created, 201)
        assert created.headers["Location"] == "/v1/campaigns/welcome"
        assert created.headers["ETag"] == '"1"'
        assert {k: body[k] for k in ("key", "name", "status", "version", "priority", "trigger")} == {
            "key": "welcome", "name": "Welcome", "status": "draft", "version": 1,
            "priority": 50, "trigger": "once",
        }  # fmt: skip
        assert body["started_at"] is None and body["created_at"].endswith(("Z", "+00:00"))
        assert body["document"]["steps"][0]["content"]["subject"]["zh-CN"].startswith("你好")

        shown = _ok(_call(api, "GET", "/v1/campaigns/welcome"))
        assert shown == body

        renamed = campaign_doc(name="Welcome v2")
        updated = _call(api, "PUT", "/v1/campaigns/welcome", json=renamed,
                        headers={"If-Match": '"1"'})  # fmt: skip
        assert (_ok(updated)["version"], _ok(updated)["name"]) == (2, "Welcome v2")
        assert updated.headers["ETag"] == '"2"'

        stale = _call(api, "PUT", "/v1/campaigns/welcome", json=renamed, headers={"If-Match": "1"})
        problem = _problem(stale, 409, "campaign_version_conflict")
        assert (problem["current"], problem["expected"]) == (2, 1)
        by_query = _call(api, "PUT", "/v1/campaigns/welcome?expected_version=1", json=renamed)
        _problem(by_query, 409, "campaign_version_conflict")
        assert _ok(_call(api, "GET", "/v1/campaigns/welcome"))["version"] == 2

    def test_an_update_without_a_version_saves_and_a_malformed_if_match_is_422(
        self, api: dict[str, Any]
    ) -> None:
        _ok(_call(api, "POST", "/v1/campaigns", json=campaign_doc()), 201)
        assert _ok(_call(api, "PUT", "/v1/campaigns/welcome", json=campaign_doc()))["version"] == 2
        weak = _call(api, "PUT", "/v1/campaigns/welcome", json=campaign_doc(),
                     headers={"If-Match": 'W/"2"'})  # fmt: skip
        assert _ok(weak)["version"] == 3
        bad = _call(api, "PUT", "/v1/campaigns/welcome", json=campaign_doc(),
                    headers={"If-Match": "*"})  # fmt: skip
        _problem(bad, 422, "validation_error")

    def test_a_used_key_and_an_unknown_key(self, api: dict[str, Any]) -> None:
        _ok(_call(api, "POST", "/v1/campaigns", json=campaign_doc()), 201)
        _problem(_call(api, "POST", "/v1/campaigns", json=campaign_doc()), 409, "campaign_exists")
        missing = _call(api, "GET", "/v1/campaigns/nope")
        assert _problem(missing, 404, "campaign_not_found")["key"] == "nope"
        _problem(_call(api, "PUT", "/v1/campaigns/nope", json=campaign_doc("nope")), 404,
                 "campaign_not_found")  # fmt: skip

    def test_the_key_cannot_change_in_an_update(self, api: dict[str, Any]) -> None:
        _ok(_call(api, "POST", "/v1/campaigns", json=campaign_doc()), 201)
        moved = _call(api, "PUT", "/v1/campaigns/welcome", json=campaign_doc("other"))
        assert _problem(moved, 400, "campaign_invalid")["path"] == "$.key"

    def test_an_invalid_document_names_its_path(self, api: dict[str, Any]) -> None:
        doc = campaign_doc()
        doc["steps"][0]["channel"] = "fax"
        for path in ("/v1/campaigns", "/v1/campaigns/validate"):
            problem = _problem(_call(api, "POST", path, json=doc), 400, "campaign_invalid")
            assert problem["path"] == "$.steps[0].channel"
            assert "$.steps[0].channel" in problem["detail"]
        assert _ok(_call(api, "GET", "/v1/campaigns")) == []

    def test_a_template_syntax_error_names_its_line(self, api: dict[str, Any]) -> None:
        doc = campaign_doc()
        doc["steps"][0]["content"]["text"] = {"en": "Hello\n{{ user.first_name }}\n{% if %}"}
        for path in ("/v1/campaigns", "/v1/campaigns/validate"):
            problem = _problem(_call(api, "POST", path, json=doc), 400, "campaign_template_invalid")
            assert (problem["path"], problem["line"]) == ("$.steps[0].content.text.en", 3)

    def test_a_valid_document_validates_without_being_saved(self, api: dict[str, Any]) -> None:
        assert _ok(_call(api, "POST", "/v1/campaigns/validate", json=campaign_doc())) == {
            "valid": True
        }
        assert _ok(_call(api, "GET", "/v1/campaigns")) == []

    def test_a_segment_that_does_not_exist_is_named(self, api: dict[str, Any]) -> None:
        doc = campaign_doc(audience={"segment": "ghosts"})
        for path in ("/v1/campaigns/validate", "/v1/campaigns"):
            problem = _problem(_call(api, "POST", path, json=doc), 400, "campaign_invalid")
            assert problem["path"] == "$.audience.segment"

    def test_a_body_that_is_not_an_object_is_422(self, api: dict[str, Any]) -> None:
        _problem(_call(api, "POST", "/v1/campaigns", json=["a"]), 422, "validation_error")

    def test_the_listing_filters_by_status(self, api: dict[str, Any]) -> None:
        _ok(_call(api, "POST", "/v1/campaigns", json=inbox_doc("a")), 201)
        _ok(_call(api, "POST", "/v1/campaigns", json=inbox_doc("b")), 201)
        _ok(_call(api, "POST", "/v1/campaigns/b/start"))
        assert sorted(c["key"] for c in _ok(_call(api, "GET", "/v1/campaigns"))) == ["a", "b"]
        active = _ok(_call(api, "GET", "/v1/campaigns?status=active"))
        assert [(c["key"], c["status"]) for c in active] == [("b", "active")]
        assert "document" not in active[0]
        _problem(_call(api, "GET", "/v1/campaigns?status=gone"), 422, "validation_error")


# ---- states ----------------------------------------------------------------------------------


class TestStates:
    def test_start_pause_resume_finish_and_the_wrong_moves_are_409(
        self, api: dict[str, Any]
    ) -> None:
        _ok(_call(api, "POST", "/v1/campaigns", json=inbox_doc()), 201)
        _problem(_call(api, "POST", "/v1/campaigns/news/pause"), 409, "campaign_state_conflict")
        started = _ok(_call(api, "POST", "/v1/campaigns/news/start"))
        assert started["status"] == "active" and started["started_at"] is not None
        conflict = _problem(
            _call(api, "POST", "/v1/campaigns/news/resume"), 409, "campaign_state_conflict"
        )
        assert (conflict["state"], conflict["action"]) == ("active", "resume")
        assert _ok(_call(api, "POST", "/v1/campaigns/news/pause"))["status"] == "paused"
        _problem(_call(api, "POST", "/v1/campaigns/news/start"), 409, "campaign_state_conflict")
        assert _ok(_call(api, "POST", "/v1/campaigns/news/resume"))["status"] == "active"
        assert _ok(_call(api, "POST", "/v1/campaigns/news/finish"))["status"] == "finished"
        _problem(_call(api, "POST", "/v1/campaigns/news/finish"), 409, "campaign_state_conflict")
        changed = _call(api, "PUT", "/v1/campaigns/news", json=inbox_doc())
        _problem(changed, 409, "campaign_state_conflict")
        _problem(_call(api, "POST", "/v1/campaigns/nope/start"), 404, "campaign_not_found")

    def test_an_email_campaign_does_not_start_without_an_smtp_provider(
        self, api: dict[str, Any]
    ) -> None:
        _ok(_call(api, "POST", "/v1/campaigns", json=campaign_doc()), 201)
        refused = _call(api, "POST", "/v1/campaigns/welcome/start")
        assert _problem(refused, 409, "campaign_channel_unconfigured")["channel"] == "email"
        assert _ok(_call(api, "GET", "/v1/campaigns/welcome"))["status"] == "draft"


# ---- policy --------------------------------------------------------------------------------


class TestPolicy:
    def test_the_policy_is_not_read_as_a_campaign_key_and_saves(self, api: dict[str, Any]) -> None:
        defaults = _ok(_call(api, "GET", "/v1/campaigns/policy"))
        assert defaults["quiet_hours"] == {"start": "21:00:00", "end": "09:00:00"}
        saved = _ok(_call(api, "PUT", "/v1/campaigns/policy", json={
            "caps": [{"count": 3, "days": 1}], "quiet_hours": None, "control_share": 0.1,
        }))  # fmt: skip
        assert saved == _ok(_call(api, "GET", "/v1/campaigns/policy"))
        assert (saved["quiet_hours"], saved["control_share"]) == (None, 0.1)
        bad = _call(api, "PUT", "/v1/campaigns/policy", json={"control_share": 0.9})
        assert _problem(bad, 400, "campaign_invalid")["path"] == "$.control_share"


# ---- contacts and consent ------------------------------------------------------------------


class TestContacts:
    def test_a_contact_round_trips_with_a_chinese_locale_and_consent(
        self, api: dict[str, Any]
    ) -> None:
        body = {
            "email": "xiaoming@example.cn", "phone": "+86 138 0000 0001", "locale": "zh-CN",
            "timezone": "Asia/Shanghai", "consent": {"email": "opted_in", "sms": "opted_out"},
            "source": "signup_form",
        }  # fmt: skip
        saved = _ok(_call(api, "PUT", "/v1/contacts/小明", "server", json=body))
        shown = _ok(_call(api, "GET", "/v1/contacts/小明", "server"))
        assert saved == shown
        assert {k: shown[k] for k in ("user_id", "email", "phone", "locale", "timezone")} == {
            "user_id": "小明", "email": "xiaoming@example.cn", "phone": "+86 138 0000 0001",
            "locale": "zh-CN", "timezone": "Asia/Shanghai",
        }  # fmt: skip
        consent = {c: (v["status"], v["source"]) for c, v in shown["consent"].items()}
        assert consent == {
            "email": ("opted_in", "signup_form"),
            "sms": ("opted_out", "signup_form"),
        }

    def test_only_the_fields_sent_change_and_null_clears_one(self, api: dict[str, Any]) -> None:
        _ok(_call(api, "PUT", "/v1/contacts/u1", "server",
                  json={"email": "a@example.com", "locale": "en"}))  # fmt: skip
        _ok(_call(api, "PUT", "/v1/contacts/u1", "server", json={"push_token": "tok-1"}))
        after = _ok(_call(api, "PUT", "/v1/contacts/u1", "server", json={"locale": None,
                    "consent": {"push": "opted_in"}, "source": "app"}))  # fmt: skip
        assert (after["email"], after["push_token"], after["locale"]) == (
            "a@example.com", "tok-1", None,
        )  # fmt: skip
        assert after["consent"]["push"]["status"] == "opted_in"

    @pytest.mark.parametrize(
        "body",
        [
            {"timezone": "Mars/Olympus"},
            {"timezone": "localtime"},
            {"timezone": "asia/shanghai"},
            {"consent": {"email": "opted_in"}},
            {"consent": {"fax": "opted_in"}, "source": "form"},
            {"consent": {"email": "maybe"}, "source": "form"},
            {"email": "not-an-address"},
            {"locale": "zh CN"},
            {"source": "x" * 65, "consent": {"email": "opted_in"}},
            {"nickname": "Ann"},
        ],
    )
    def test_malformed_contacts_are_422(self, api: dict[str, Any], body: dict[str, Any]) -> None:
        _problem(_call(api, "PUT", "/v1/contacts/u1", "server", json=body), 422, "validation_error")
        _problem(_call(api, "GET", "/v1/contacts/u1", "server"), 404, "contact_not_found")

    def test_an_unknown_contact_is_404(self, api: dict[str, Any]) -> None:
        missing = _call(api, "GET", "/v1/contacts/nobody", "server")
        assert _problem(missing, 404, "contact_not_found")["user_id"] == "nobody"


# ---- engine-backed: inbox, history, preview, results ---------------------------------------


@pytest.fixture
def delivered(shop: Settings, database: Database, warehouse: Warehouse) -> None:
    """u000 (Ann) and u001 (小明) got the `news` in-app message at NOW."""
    add_users(warehouse, ["u000", "u001"])
    start(database, inbox_doc())
    assert _engine(shop, database, warehouse).run_once(NOW).sent == 2


class TestInbox:
    def test_the_inbox_lists_and_reading_counts_as_the_open_once(
        self, api: dict[str, Any], database: Database, delivered: None
    ) -> None:
        items = _ok(_call(api, "GET", "/v1/inbox/u000", "server"))
        assert [(i["campaign_key"], i["title"], i["body"], i["read_at"]) for i in items] == [
            ("news", "New in", "Hello Ann", None)
        ]
        item = items[0]
        assert item["url"].startswith(api["client"].app.state.settings.public_url)

        path = f"/v1/inbox/u000/{item['id']}/read"
        first = _ok(_call(api, "POST", path, "server"))
        again = _ok(_call(api, "POST", path, "server"))
        assert first["read_at"] is not None and again["read_at"] == first["read_at"]
        assert _ok(_call(api, "GET", "/v1/inbox/u000", "server"))[0]["read_at"] == first["read_at"]
        opened = _decisions(database, "opened")
        assert [(d.user_id, d.message_id, d.reason) for d in opened] == [
            ("u000", item["id"], "inbox")
        ]

    def test_another_users_or_an_unknown_message_is_404(
        self, api: dict[str, Any], delivered: None
    ) -> None:
        item = _ok(_call(api, "GET", "/v1/inbox/u000", "server"))[0]
        other = _call(api, "POST", f"/v1/inbox/u001/{item['id']}/read", "server")
        assert _problem(other, 404, "inbox_message_not_found")["user_id"] == "u001"
        _problem(_call(api, "POST", "/v1/inbox/u000/nope/read", "server"), 404,
                 "inbox_message_not_found")  # fmt: skip
        assert _ok(_call(api, "GET", "/v1/inbox/nobody", "server")) == []

    def test_the_limit_is_bounded(self, api: dict[str, Any]) -> None:
        for limit in (0, 201):
            _problem(_call(api, "GET", f"/v1/inbox/u000?limit={limit}", "server"), 422,
                     "validation_error")  # fmt: skip


class TestHistoryPreviewResults:
    def test_a_users_history_lists_enrolments_and_decisions(
        self, api: dict[str, Any], delivered: None
    ) -> None:
        found = _ok(_call(api, "GET", "/v1/campaigns/users/u000/history"))
        assert found["user_id"] == "u000"
        assert [(e["campaign_key"], e["version"], e["arm"]) for e in found["enrollments"]] == [
            ("news", 1, "treatment")
        ]
        assert found["enrollments"][0]["entered_at"].startswith("2026-06-01T02:00:00")
        actions = {d["action"] for d in found["decisions"]}
        assert {"sent", "completed"} <= actions
        assert all(d["campaign_key"] == "news" for d in found["decisions"])
        empty = _ok(_call(api, "GET", "/v1/campaigns/users/nobody/history"))
        assert (empty["enrollments"], empty["decisions"]) == ([], [])

    def test_a_preview_renders_every_send_step_in_the_users_language(
        self, api: dict[str, Any], shop: Settings, database: Database, warehouse: Warehouse
    ) -> None:
        add_users(warehouse, ["u000", "u001"])
        reachable(database, ["u001"], locale="zh-CN")
        _ok(_call(api, "POST", "/v1/campaigns", json=campaign_doc()), 201)

        steps = _ok(_call(api, "GET", "/v1/campaigns/welcome/preview?user_id=u001"))
        assert [(s["step_id"], s["channel"], s["to"], s["locale"]) for s in steps] == [
            ("hello", "email", "u001@example.com", "zh-CN")
        ]
        assert (steps[0]["subject"], steps[0]["text"]) == ("你好 小明", "欢迎，小明！")
        assert steps[0]["unsubscribe_url"].startswith(f"{shop.public_url}/v1/t/unsubscribe/")
        assert _decisions(database, "queued") == []

        unknown = _call(api, "GET", "/v1/campaigns/welcome/preview?user_id=ghost")
        assert _problem(unknown, 404, "campaign_user_unknown")["user_id"] == "ghost"
        _problem(_call(api, "GET", "/v1/campaigns/nope/preview?user_id=u001"), 404,
                 "campaign_not_found")  # fmt: skip

    def test_results_count_the_messages_per_step(
        self, api: dict[str, Any], delivered: None
    ) -> None:
        found = _ok(_call(api, "GET", "/v1/campaigns/news/results"))
        assert (found["key"], found["status"]) == ("news", "active")
        assert {a["arm"]: a["users"] for a in found["arms"]}["treatment"] == 2
        assert [(s["step_id"], s["messages"].get("sent")) for s in found["steps"]] == [("note", 2)]
        _problem(_call(api, "GET", "/v1/campaigns/nope/results"), 404, "campaign_not_found")


# ---- signed links --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """The links in the e-mail u000 received, as paths on the app."""

    pixel: str
    click: str
    unsubscribe: str


@pytest.fixture
def mail(shop: Settings, database: Database, warehouse: Warehouse) -> Mail:
    """u000 got the welcome e-mail through a real SMTP server; its links are signed with the
    installation's key."""
    add_users(warehouse, ["u000"])
    reachable(database, ["u000"])
    start(database, campaign_doc())
    with SmtpSink() as sink:
        sender = SmtpSender(sink.url, "shop@example.com")
        try:
            assert _engine(shop, database, warehouse, email=sender).run_once(NOW).sent == 1
        finally:
            sender.close()
        message: EmailMessage = sink.messages[0]
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    click = re.search(r'href="([^"]+)"', html)
    pixel = re.search(r'<img src="([^"]+)"', html)
    assert click and pixel, html
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return Mail(_path(shop, pixel.group(1)), _path(shop, click.group(1)), _path(shop, unsubscribe))


def _retarget(token: str, target: str) -> str:
    """The token with its target changed and its old signature kept."""
    body, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["u"] = target
    raw = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


class TestPixel:
    def test_a_valid_pixel_records_one_open_however_often_it_loads(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        for _ in range(2):
            response = api["client"].get(mail.pixel)
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/gif"
            assert response.headers["cache-control"] == "no-store"
            assert response.content.startswith(b"GIF89a") and len(response.content) == 43
        assert [d.user_id for d in _decisions(database, "opened")] == ["u000"]

    def test_a_forged_or_misused_token_records_nothing_and_still_answers_the_gif(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        token = mail.pixel.rsplit("/", 1)[1]
        body, mac = token.split(".")
        forged = Links(b"x" * 32, "http://t.example").pixel("whatever").rsplit("/", 1)[1]
        wrong_purpose = mail.click.rsplit("/", 1)[1]
        for bad in (f"{body}.{mac[::-1]}", forged, wrong_purpose, "garbage", "a.b"):
            response = api["client"].get(f"/v1/t/open/{bad}")
            assert (response.status_code, response.content) == (200, PIXEL)
            assert response.headers["content-type"] == "image/gif"
        assert _decisions(database, "opened") == []


class TestClick:
    def test_a_signed_click_redirects_and_records_the_click_and_the_open(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        response = api["client"].get(mail.click, follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == "https://shop.example/new"
        assert response.headers["cache-control"] == "no-store"
        clicked = _decisions(database, "clicked")
        assert [(d.user_id, d.reason) for d in clicked] == [("u000", "https://shop.example/new")]
        assert [d.reason for d in _decisions(database, "opened")] == ["click"]

    def test_a_tampered_target_is_a_400_and_never_a_redirect(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        token = mail.click.rsplit("/", 1)[1]
        evil = _retarget(token, "https://evil.example/")
        forged = Links(b"x" * 32, "").click("m", "https://evil.example/").rsplit("/", 1)[1]
        for bad in (evil, forged, mail.pixel.rsplit("/", 1)[1], "garbage"):
            response = api["client"].get(f"/v1/t/click/{bad}", follow_redirects=False)
            _problem(response, 400, "campaign_token_invalid")
            assert "location" not in response.headers
        assert _decisions(database, "clicked") == []


class TestUnsubscribe:
    def test_the_page_asks_first_and_records_nothing(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        page = api["client"].get(mail.unsubscribe)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<form method='post'" in page.text and "Unsubscribe" in page.text
        assert f"action='{mail.unsubscribe}'" in page.text
        assert _decisions(database, "unsubscribed") == []
        _problem(api["client"].get("/v1/t/unsubscribe/garbage"), 400, "campaign_token_invalid")

    def test_one_click_post_opts_the_user_out(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        for _ in range(2):
            response = api["client"].post(
                mail.unsubscribe,
                content="List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 200, response.text
            assert "unsubscribed" in response.text
        consent = _ok(_call(api, "GET", "/v1/contacts/u000", "server"))["consent"]["email"]
        assert (consent["status"], consent["source"]) == ("opted_out", "unsubscribe_link")
        assert [d.user_id for d in _decisions(database, "unsubscribed")] == ["u000"]

    def test_a_bad_token_opts_nobody_out(
        self, api: dict[str, Any], database: Database, mail: Mail
    ) -> None:
        token = mail.unsubscribe.rsplit("/", 1)[1]
        for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), mail.pixel.rsplit("/", 1)[1]):
            response = api["client"].post(f"/v1/t/unsubscribe/{bad}", content=b"anything")
            _problem(response, 400, "campaign_token_invalid")
        consent = _ok(_call(api, "GET", "/v1/contacts/u000", "server"))["consent"]["email"]
        assert consent["status"] == "opted_in"
        assert _decisions(database, "unsubscribed") == []
