"""Every shipped playbook saves with its values filled, and renders in English and Chinese."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tenure.campaigns import playbook
from tenure.campaigns.errors import CampaignInvalid
from tenure.campaigns.service import campaigns
from tenure.campaigns.service.content import compose, context
from tenure.campaigns.spec import Send
from tenure.storage.database import Database
from tests.campaigns.builders import NOW

PLAYS = sorted(playbook.playbooks())
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_classic_retention_plays_are_all_shipped() -> None:
    assert PLAYS == [
        "at_risk_winback", "birthday", "cart_abandonment", "churned_reactivation",
        "first_order_free_shipping", "member_day", "points_expiry_reminder",
        "second_order_nudge", "tier_up", "welcome_series",
    ]  # fmt: skip


@pytest.mark.parametrize("name", PLAYS)
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_each_play_renders_every_message(name: str, locale: str) -> None:
    campaign = campaigns.validate(playbook.document(name, {"offer": "GIFT10"}))
    values = context("u1", {"first_name": "Lin"}, points=1200, tier="gold", coupon="ABC-123",
                     campaign=campaign, unsubscribe_url="https://t/u")  # fmt: skip
    for step in campaign.steps:
        if isinstance(step, Send):
            envelope = compose(campaign, step, message_id="m", user_id="u1", address="a",
                               locale=locale, values=values, zone=SHANGHAI,
                               now=NOW, links=None)  # fmt: skip
            assert envelope.locale == locale and envelope.text and "{{" not in envelope.text


def test_a_play_that_gives_a_coupon_needs_an_offer_that_exists(database: Database) -> None:
    with pytest.raises(CampaignInvalid, match="needs a value for offer"):
        playbook.document("at_risk_winback", {})
    doc = playbook.document("at_risk_winback", {"offer": "NOPE"})
    with pytest.raises(CampaignInvalid) as caught:
        database.write(lambda s: campaigns.create(s, doc, NOW))
    assert caught.value.data["path"] == "$.steps[0].offer"
