"""Rendering a batch of claimed messages: what their templates need, read once per batch."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from tenure.config import Settings
from tenure.i18n import use_locale
from tenure.loyalty.service import members_of

log = logging.getLogger(__name__)
# Items a template finds in `recommendations`; it can show fewer (`recommendations[:2]`).
RECOMMENDED = 4


@dataclass(frozen=True)
class Facts:
    """The documents, coupons, points, tiers, zones and recommended items of a batch's users."""

    documents: dict[tuple[str, int], Campaign]
    coupons: dict[int, str | None]
    members: dict[str, tuple[int, str | None]]
    zones: dict[str, ZoneInfo]
    recommendations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def gather(
    session: Session,
    claimed: list[Claimed],
    shop_zone: ZoneInfo,
    settings: Settings | None = None,
) -> Facts:
    """Read, in one unit, everything the batch's templates use besides the profiles. With
    `settings`, the users whose template reads `recommendations` get their recommended items."""
    users = sorted({c.user_id for c in claimed})
    versions = {(c.campaign_key, c.version) for c in claimed}
    zones = {}
    for user, contact in repository.contacts(session, users).items():
        zones[user] = user_zone(contact.timezone, shop_zone)
    documents = {kv: docs.document_of(session, *kv) for kv in versions}
    return Facts(
        documents=documents,
        coupons=repository.coupons_of(session, [c.enrollment_id for c in claimed]),
        members=members_of(session, users),
        zones=zones,
        recommendations=recommended(settings, documents, claimed) if settings else {},
    )


def uses_recommendations(step: Send) -> bool:
    """Whether any part of the step's content mentions `recommendations` (a plain substring
    test on the sources: a false positive costs one lookup, never a wrong message)."""
    content = step.content
    for part in (content.subject, content.title, content.text, content.html):
        sources = [part] if isinstance(part, str) else (part or {}).values()
        if any("recommendations" in source for source in sources):
            return True
    return False


def recommended(
    settings: Settings,
    documents: Mapping[tuple[str, int], Campaign],
    claimed: list[Claimed],
    n: int = RECOMMENDED,
) -> dict[str, list[dict[str, Any]]]:
    """Each user's `n` items from the newest recommendation model (reasons in the message's
    language), for the messages whose step reads them. Empty when no model is trained: a
    message never waits or fails for want of recommendations."""
    steps: dict[tuple[str, int, str], bool] = {}
    wanted: dict[str, str] = {}  # user -> the locale of their first such message
    for c in claimed:
        key = (c.campaign_key, c.version, c.step_id)
        if key not in steps:
            steps_of = documents[(c.campaign_key, c.version)].steps
            step = next((s for s in steps_of if s.id == c.step_id), None)
            steps[key] = isinstance(step, Send) and uses_recommendations(step)
        if steps[key]:
            wanted.setdefault(c.user_id, c.locale or settings.locale)
    if not wanted:
        return {}
    # Imported here: the recommenders (scipy) would add to every `tenure` command's start.
    from tenure.recommend import service as recommend
    from tenure.recommend.errors import NotTrained

    found: dict[str, list[dict[str, Any]]] = {}
    try:
        for user, locale in wanted.items():
            with use_locale(locale):
                found[user] = recommend.for_user(settings, user, n)["items"]
    except NotTrained:
        return {}
    except Exception:  # a broken model file must not stop the campaign's sends
        log.exception("recommendations unavailable; sending without them")
        return {}
    return found


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
        recommendations=facts.recommendations.get(message.user_id),
    )  # fmt: skip
    rendered = content.compose(
        campaign, step, message_id=message.id, user_id=message.user_id, address=message.address,
        locale=message.locale, values=values, zone=facts.zones.get(message.user_id, shop_zone),
        now=now, links=links, default_locale=default_locale,
    )  # fmt: skip
    return rendered, step
