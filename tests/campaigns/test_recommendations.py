"""`recommendations` in message templates: the trained model's items per user, read only for
templates that use them, and an empty list (never a failed send) without a model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenure.campaigns.channels.email import SmtpSender
from tenure.campaigns.service import render
from tenure.campaigns.spec import Send
from tenure.config import Settings
from tenure.recommend import service as recommend
from tenure.recommend.service import for_user
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.baskets import BASKETS, add_baskets, trained
from tests.campaigns.builders import NOW, add_users, campaign_doc, dispatcher, reachable, start
from tests.campaigns.smtp_sink import SmtpSink

LOOP = "{% for item in recommendations %}{{ item.name }}|{% endfor %}"
PICKS = {
    "subject": "Picked for you",
    "text": f"Picks: {LOOP}.",
    "html": "<ul>{% for item in recommendations %}<li>{{ item.name }}</li>{% endfor %}</ul>",
}


@pytest.fixture
def shop(settings: Settings) -> Settings:
    return settings.model_copy(update={"timezone": "Asia/Shanghai"})


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def _send(shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink,
          content: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Run a one-step e-mail campaign with `content` to u000 (who bought) and u001 (who did
    not); each recipient's message."""
    add_users(warehouse, ["u000", "u001"])
    reachable(database, ["u000", "u001"])
    doc = campaign_doc()
    doc["steps"][0]["content"] = content
    start(database, doc)
    engine = dispatcher(shop, database, warehouse, {"email": SmtpSender(sink.url, "s@example.com")})
    done = engine.run_once(NOW)
    assert done.sent == 2 and done.failed == 0
    return {str(m["To"]).split("@")[0]: m for m in sink.messages}


def _text(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content()).strip()


class TestWithAModel:
    def test_each_user_gets_the_model_s_items_in_text_and_html(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        add_baskets(warehouse, [("u000", ["MUG", "TEA"]), *BASKETS])
        trained(shop, warehouse)
        expected = {
            user: [i["name"] for i in for_user(shop, user, render.RECOMMENDED)["items"]]
            for user in ("u000", "u001")
        }
        assert expected["u000"][0] == "Teapot"  # bought with the mug and the tea
        assert "Tea mug" not in expected["u000"] and len(expected["u001"]) == 4  # cold start

        sent = _send(shop, database, warehouse, sink, PICKS)

        for user, names in expected.items():
            assert _text(sent[user]) == "Picks: " + "".join(f"{n}|" for n in names) + "."
            html = str(sent[user].get_body(("html",)).get_content())
            assert "<ul>" + "".join(f"<li>{n}</li>" for n in names) + "</ul>" in html

    def test_the_preview_shows_the_same_items(
        self, shop: Settings, database: Database, warehouse: Warehouse
    ) -> None:
        add_baskets(warehouse, [("u000", ["MUG", "TEA"]), *BASKETS])
        trained(shop, warehouse)
        add_users(warehouse, ["u000"])
        reachable(database, ["u000"])
        doc = campaign_doc()
        doc["steps"][0]["content"] = PICKS
        start(database, doc)
        names = [i["name"] for i in for_user(shop, "u000", render.RECOMMENDED)["items"]]

        [(_, envelope)] = dispatcher(shop, database, warehouse, {}).preview("welcome", "u000", NOW)

        assert envelope.text == "Picks: " + "".join(f"{n}|" for n in names) + "."

    def test_a_template_without_recommendations_does_not_read_the_model(
        self,
        shop: Settings,
        database: Database,
        warehouse: Warehouse,
        sink: SmtpSink,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        add_baskets(warehouse, [("u000", ["MUG", "TEA"]), *BASKETS])
        trained(shop, warehouse)
        asked: list[str] = []
        monkeypatch.setattr(recommend, "for_user", lambda s, user, n: asked.append(user))

        sent = _send(shop, database, warehouse, sink, {"subject": "Hi", "text": "Hello."})

        assert asked == [] and _text(sent["u000"]) == "Hello."

    def test_a_failing_model_sends_the_message_without_items(
        self,
        shop: Settings,
        database: Database,
        warehouse: Warehouse,
        sink: SmtpSink,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        def broken(*args: Any) -> Any:
            raise OSError("model file truncated")

        monkeypatch.setattr(recommend, "for_user", broken)

        sent = _send(shop, database, warehouse, sink, PICKS)

        assert _text(sent["u000"]) == "Picks: ."


class TestWithoutAModel:
    def test_recommendations_render_empty_and_the_message_goes_out(
        self, shop: Settings, database: Database, warehouse: Warehouse, sink: SmtpSink
    ) -> None:
        add_baskets(warehouse, [("u000", ["MUG", "TEA"]), *BASKETS])  # data, but no training

        sent = _send(shop, database, warehouse, sink, PICKS)

        assert _text(sent["u000"]) == "Picks: ." and _text(sent["u001"]) == "Picks: ."
        assert "<ul></ul>" in str(sent["u000"].get_body(("html",)).get_content())


class TestWhichTemplatesUseThem:
    @pytest.mark.parametrize(
        ("content", "uses"),
        [
            ({"text": "Hello"}, False),
            ({"text": "Hello", "html": {"en": "<p>x</p>", "zh-CN": LOOP}}, True),
            ({"text": "{{ recommendations[0].name }}"}, True),
            ({"text": "x", "subject": "{{ recommendations|length }} for you"}, True),
        ],
    )
    def test_any_part_in_any_language_counts(self, content: dict[str, Any], uses: bool) -> None:
        step = Send.model_validate({"id": "s", "type": "send", "channel": "email",
                                    "content": content})  # fmt: skip
        assert render.uses_recommendations(step) is uses
