"""A message's content for one user: the step's templates rendered in the user's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tenure.campaigns.channels.base import Envelope
from tenure.campaigns.service.links import Links
from tenure.campaigns.spec import Campaign, Send
from tenure.campaigns.templates import pick_variant, render

_HREF = re.compile(r'href="(https?://[^"]+)"')


def context(
    user_id: str,
    profile: Mapping[str, Any],
    *,
    points: int,
    tier: str | None,
    coupon: str | None,
    campaign: Campaign,
    unsubscribe_url: str | None,
    recommendations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The names a template may use (templates.ALLOWED_NAMES)."""
    return {
        "user": {"id": user_id, **profile},
        "profile": dict(profile),
        "points": points,
        "tier": tier,
        "coupon": {"code": coupon} if coupon else None,
        # The user's recommended items (render.recommended), when the template reads them.
        "recommendations": recommendations or [],
        "campaign": {"key": campaign.key, "name": campaign.name},
        "unsubscribe_url": unsubscribe_url,
        "shop": {},
    }


def compose(
    campaign: Campaign,
    step: Send,
    *,
    message_id: str,
    user_id: str,
    address: str,
    locale: str | None,
    values: Mapping[str, Any],
    zone: ZoneInfo,
    now: datetime,
    links: Links | None,
    default_locale: str = "en",
) -> Envelope:
    """Render every part of the step's content in the user's language."""
    content = step.content
    chosen, text_source = pick_variant(content.text, locale, default_locale)

    def part(value: Any, html: bool = False) -> str | None:
        if value is None:
            return None
        _, source = pick_variant(value, chosen, default_locale)
        return render(source, {**values, "now": now}, html=html, locale=chosen, zone=zone)

    html = part(content.html, html=True)
    if html is not None and links is not None:
        html = _HREF.sub(lambda m: f'href="{links.click(message_id, m.group(1))}"', html)
        html += f'<img src="{links.pixel(message_id)}" width="1" height="1" alt="">'
    url = content.url
    if url and links is not None and step.channel in ("push", "inbox"):
        url = links.click(message_id, url)
    return Envelope(
        message_id=message_id, channel=step.channel, user_id=user_id, to=address,
        locale=chosen,
        text=render(text_source, {**values, "now": now}, locale=chosen, zone=zone),
        subject=part(content.subject), html=html, title=part(content.title), url=url,
        unsubscribe_url=values.get("unsubscribe_url"), data=dict(content.data),
    )  # fmt: skip
