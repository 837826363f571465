"""Issuing codes: unique single-use codes in bulk, shared codes, and coupons in a user's wallet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenure.kit.ids import new_id
from tenure.promotions import repository
from tenure.promotions.coupons.codes import normalize, random_codes
from tenure.promotions.errors import (
    CouponCodeExists,
    CouponCodeNotFound,
    OfferNotCoupon,
    OfferNotFound,
)
from tenure.promotions.models import PromoCode, PromoOffer


@dataclass(frozen=True)
class IssuedCodes:
    """Codes made in one batch."""

    offer_id: str
    batch: str
    codes: list[str]


@dataclass(frozen=True)
class WalletEntry:
    """A coupon in a customer's wallet."""

    code: str
    offer: PromoOffer
    uses_left: int | None


def _coupon(session: Session, offer_id: str) -> PromoOffer:
    offer = repository.offer_by_id(session, offer_id)
    if offer is None:
        raise OfferNotFound(offer_id=offer_id)
    if offer.kind != "coupon":
        raise OfferNotCoupon(offer_id=offer_id)
    return offer


def _fresh(session: Session, count: int, prefix: str) -> list[str]:
    """`count` random codes none of which exists yet (collisions are redrawn)."""
    codes = random_codes(count, prefix)
    while taken := repository.existing_codes(session, codes):
        keep = [c for c in codes if c not in taken]
        codes = sorted(set(keep) | set(random_codes(len(taken), prefix)))
    return codes


def _rows(
    offer_id: str, codes: list[str], batch: str, now: datetime, **extra: Any
) -> list[dict[str, Any]]:
    base = {
        "offer_id": offer_id,
        "used_count": 0,
        "status": "active",
        "batch": batch,
        "created_at": now,
    }
    return [{**base, "code": code, "user_id": None, "max_uses": 1, **extra} for code in codes]


def create_unique_codes(
    session: Session, offer_id: str, count: int, prefix: str, now: datetime
) -> IssuedCodes:
    """`count` single-use codes for a coupon template."""
    _coupon(session, offer_id)
    batch = new_id("bat", 8)
    codes = _fresh(session, count, prefix)
    repository.insert_codes(session, _rows(offer_id, codes, batch, now))
    return IssuedCodes(offer_id, batch, codes)


def create_shared_code(
    session: Session, offer_id: str, code: str, max_uses: int | None, now: datetime
) -> IssuedCodes:
    """One code many customers can use (`max_uses` total, None = the template's limits only)."""
    _coupon(session, offer_id)
    text = normalize(code)
    if repository.existing_codes(session, [text]):
        raise CouponCodeExists(coupon=text)
    batch = new_id("bat", 8)
    repository.insert_codes(session, _rows(offer_id, [text], batch, now, max_uses=max_uses))
    return IssuedCodes(offer_id, batch, [text])


def issue_to_wallets(
    session: Session, offer_id: str, user_ids: list[str], now: datetime
) -> IssuedCodes:
    """One single-use coupon in each customer's wallet (only that customer can use it)."""
    offer = _coupon(session, offer_id)
    batch = new_id("bat", 8)
    users = list(dict.fromkeys(user_ids))
    codes = _fresh(session, len(users), "")
    rows = _rows(offer.id, codes, batch, now)
    for row, user in zip(rows, users, strict=True):
        row["user_id"] = user
    repository.insert_codes(session, rows)
    return IssuedCodes(offer_id, batch, codes)


def issue_one(session: Session, offer_id: str, user_id: str, now: datetime) -> str:
    """One single-use coupon in one customer's wallet; its code (loyalty's `CouponIssuer`)."""
    return issue_to_wallets(session, offer_id, [user_id], now).codes[0]


def wallet_of(session: Session, user_id: str, now: datetime) -> list[WalletEntry]:
    """The customer's usable wallet coupons (active template, window not over)."""
    codes = repository.wallet(session, user_id)
    offers = repository.offers_by_ids(session, {c.offer_id for c in codes})
    entries = []
    for code in codes:
        offer = offers[code.offer_id]
        if offer.status != "active" or (offer.ends_at is not None and offer.ends_at <= now):
            continue
        left = None if code.max_uses is None else code.max_uses - code.used_count
        entries.append(WalletEntry(code.code, offer, left))
    return entries


def get_code(session: Session, text: str) -> PromoCode:
    """A code by its text, or CouponCodeNotFound."""
    code = repository.codes_by_text(session, [normalize(text)]).get(normalize(text))
    if code is None:
        raise CouponCodeNotFound(coupon=normalize(text))
    return code


def set_code_status(session: Session, text: str, status: str) -> PromoCode:
    """Disable a leaked or mistaken code (holds already made keep it), or enable it again."""
    code = get_code(session, text)
    code.status = status
    session.flush()
    return code


def revoke_code(session: Session, text: str) -> str:
    """Withdraw an issued coupon (a clawed-back reward): "revoked" when it was unused,
    "already_used" when a checkout holds or used it, "not_found" when there is no such code.

    Either way the code is revoked, so a refund that would give its use back cannot revive it.
    """
    code = repository.lock_code(session, normalize(text))
    if code is None:
        return "not_found"
    # Read under the row lock: a checkout taking the code either committed before (used) or
    # waits and then finds it no longer active.
    outcome = "already_used" if code.used_count > 0 else "revoked"
    code.status = "revoked"
    session.flush()
    return outcome


def discounts_given(
    session: Session, since: datetime, until: datetime, currency: str
) -> list[tuple[str, datetime, int]]:
    """(user, when, discount in minor units) of every offer used at checkout in a window, in
    one currency (what an experiment's `coupon_cost` metric sums per user); a refund that
    kept the redemption used still counts."""
    return repository.discounts_between(session, since, until, currency)


def redeemed_value(session: Session, codes: list[str]) -> list[tuple[str, int, int]]:
    """(currency, redemptions, discount given in minor units) of coupons used at checkout,
    e.g. those a campaign handed out (for its cost against what it brought in)."""
    return repository.redeemed_value_of_codes(session, codes)
