"""Rendering a batch of claimed messages: what their templates need, read once per batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.channels.base import Envelope
from tenure.campaigns.service import campaigns as docs
from tenure.campaigns.service import content
from tenure.campaigns.service.delivery import Claimed
from tenure.campaigns.service.journeys import user_zone
from tenure.campaigns.service.links import Links
from tenure.campaigns.spec import Campaign, Send
from tenure.loyalty.service import members_of


@dataclass(frozen=True)
class Facts:
    """The documents, coupons, points, tiers and zones of a batch's users."""

    documents: dict[tuple[str, int], Campaign]
    coupons: dict[int, str | None]
    members: dict[str, tuple[int, str | None]]
    zones: dict[str, ZoneInfo]


def gather(session: Session, claimed: list[Claimed], shop_zone: ZoneInfo) -> Facts:
    """Read, in one unit, everything the batch's templates use besides the profiles."""
    users = sorted({c.user_id for c in claimed})
    versions = {(c.campaign_key, c.version) for c in claimed}
    zones = {}
    for user, contact in repository.contacts(session, users).items():
        zones[user] = user_zone(contact.timezone, shop_zone)
    return Facts(
        documents={kv: docs.document_of(session, *kv) for kv in versions},
        coupons=repository.coupons_of(session, [c.enrollment_id for c in claimed]),
        members=members_of(session, users),
        zones=zones,
    )


def envelope(
    facts: Facts,
    message: Claimed,
    profile: dict[str, Any],
    now: datetime,
    links: Links | None,
    shop_zone: ZoneInfo,
    default_locale: str,
) -> tuple[Envelope, Send]:
    """One message rendered for its user (TemplateInvalid when a template fails)."""
    campaign = facts.documents[(message.campaign_key, message.version)]
    step = campaign.step(message.step_id)
    points, tier = facts.members.get(message.user_id, (0, None))
    values = content.context(
        message.user_id, profile, points=points, tier=tier,
        coupon=facts.coupons.get(message.enrollment_id), campaign=campaign,
        unsubscribe_url=links.unsubscribe(message.id) if links else None,
    )  # fmt: skip
    rendered = content.compose(
        campaign, step, message_id=message.id, user_id=message.user_id, address=message.address,
        locale=message.locale, values=values, zone=facts.zones.get(message.user_id, shop_zone),
        now=now, links=links, default_locale=default_locale,
    )  # fmt: skip
    return rendered, step
