"""What conditions know about the customer: one provider, the request's hints as fallback."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tenure.loyalty.service import current_tier
from tenure.segments.service import segments_of


@dataclass(frozen=True)
class CustomerFacts:
    """The customer as offers see them; `user_id` is None for a guest."""

    user_id: str | None
    previous_orders: int = 0
    is_new_customer: bool = False
    tier: str | None = None
    segments: frozenset[str] = frozenset()

    @property
    def is_guest(self) -> bool:
        """No user id: per-user rules cannot be checked."""
        return self.user_id is None


@dataclass(frozen=True)
class FactsHints:
    """Facts the shop's backend may send with a cart, used where Tenure knows nothing better."""

    is_new_customer: bool | None = None
    previous_orders: int | None = None
    tier: str | None = None
    segments: tuple[str, ...] = ()


# Condition types that read each fact: facts no offer needs are not looked up (checkout is hot).
ORDER_FACTS = frozenset({"first_order", "new_user"})


def customer_facts(
    session: Session,
    user_id: str | None,
    confirmed_orders: int,
    hints: FactsHints,
    needed: frozenset[str] = frozenset({"first_order", "new_user", "tier", "segment"}),
) -> CustomerFacts:
    """The customer's facts: Tenure's own records (loyalty tier, segments, paid orders) first, the
    shop's hints where those know nothing."""
    if user_id is None:
        return CustomerFacts(None, previous_orders=hints.previous_orders or 0)
    previous = max(confirmed_orders, hints.previous_orders or 0)
    is_new = hints.is_new_customer if hints.is_new_customer is not None else previous == 0
    tier = (current_tier(session, user_id) if "tier" in needed else None) or hints.tier
    known = frozenset(segments_of(session, user_id)) if "segment" in needed else frozenset()
    segments = known or frozenset(hints.segments)
    return CustomerFacts(user_id, previous, is_new, tier, segments)
