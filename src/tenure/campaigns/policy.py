"""The shop-wide campaign policy: frequency caps, quiet hours and the global control group.

One document in the database (`campaign_policy`), versioned by its save time. Caps and quiet
hours apply to every campaign's messages to a user, counted across campaigns; the global
control group is a stable share of users that no campaign reaches, so the whole programme's
effect can be measured against it.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from tenure.campaigns import repository
from tenure.campaigns.errors import CampaignInvalid
from tenure.campaigns.guardrails import Cap, Policy, QuietHours
from tenure.campaigns.models import ShopPolicy
from tenure.campaigns.spec import CapSpec, QuietSpec

CONTROL_SEED = "tenure:global-control"


class ShopDefaults(BaseModel):
    """The policy document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caps: list[CapSpec] = Field(
        default_factory=lambda: [
            CapSpec(count=2, days=1),
            CapSpec(count=1, days=1, channel="email"),
            CapSpec(count=1, days=1, channel="sms"),
            CapSpec(count=5, days=7),
        ]
    )
    quiet_hours: QuietSpec | None = QuietSpec(start=time(21, 0), end=time(9, 0))
    control_share: float = Field(default=0.05, ge=0, le=0.5)

    def guardrails(self) -> Policy:
        """The caps and quiet hours as the guardrail engine's policy."""
        caps = tuple(Cap(count=c.count, days=c.days, channel=c.channel) for c in self.caps)
        quiet = self.quiet_hours
        return Policy(caps=caps, quiet=QuietHours(quiet.start, quiet.end) if quiet else None)

    def longest_window_days(self) -> int:
        """How far back sends matter to the caps."""
        return max((c.days for c in self.caps), default=1)


def current(session: Session) -> ShopDefaults:
    """The saved policy, or the defaults."""
    row = repository.policy(session)
    return ShopDefaults() if row is None else ShopDefaults.model_validate(row.document)


def save(session: Session, document: dict[str, Any], now: datetime) -> ShopDefaults:
    """Replace the policy; CampaignInvalid names the first bad field."""
    try:
        policy = ShopDefaults.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.get("loc", ())
        )
        reason = str(first.get("msg", "")).removeprefix("Value error, ")
        raise CampaignInvalid(path=path, reason=reason) from None
    row = repository.policy(session)
    data = policy.model_dump(mode="json")
    if row is None:
        repository.add(session, ShopPolicy(id="current", document=data, updated_at=now))
    else:
        row.document, row.updated_at = data, now
    return policy
