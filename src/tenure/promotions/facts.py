"""What conditions know about the customer: one provider, the request's hints as fallback."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


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


def service_function(module: str, name: str) -> Callable[..., Any] | None:
    """Another domain's service function, or None when that domain is not installed."""
    # Loyalty and segments are separate domains that may be absent in a slim install: look them
    # up lazily and fall back to the request's facts when they are missing.
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return found if callable(found) else None


def _label(value: Any) -> str | None:
    """A tier or segment as a plain name, whatever object the other domain returns."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    for attribute in ("code", "key", "name", "slug", "id"):
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            return found
    if isinstance(value, dict):
        for attribute in ("code", "key", "name", "slug", "id"):
            if isinstance(value.get(attribute), str):
                return str(value[attribute])
    return str(value)


def _guarded(session: Session, call: Callable[[], Any], what: str) -> Any:
    """Run another domain's lookup; a failure must not block checkout, so it is logged and the
    request's hint is used. On PostgreSQL a savepoint keeps the failed statement from aborting
    the whole transaction (SQLite does not abort it)."""
    try:
        if session.get_bind().dialect.name == "postgresql":
            with session.begin_nested():
                return call()
        return call()
    except Exception:
        log.exception("%s failed; using the request's facts", what)
        return None


def _tier(session: Session, user_id: str) -> str | None:
    current_tier = service_function("tenure.loyalty.service", "current_tier")
    if current_tier is None:
        return None
    return _label(_guarded(session, lambda: current_tier(session, user_id), "current_tier"))


def _segments(session: Session, user_id: str) -> frozenset[str]:
    segments_of = service_function("tenure.segments.service", "segments_of")
    if segments_of is None:
        return frozenset()
    found: Iterable[Any] = (
        _guarded(session, lambda: segments_of(session, user_id), "segments_of") or ()
    )
    return frozenset(name for name in map(_label, found) if name)


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
    tier = (_tier(session, user_id) if "tier" in needed else None) or hints.tier
    segments = (_segments(session, user_id) if "segment" in needed else None) or frozenset(
        hints.segments
    )
    return CustomerFacts(user_id, previous, is_new, tier, segments)
