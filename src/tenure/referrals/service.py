"""Invite codes, attribution on sign-up, the invitee's first order, and the review queue."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tenure.kit.ids import new_id
from tenure.kit.time import as_utc
from tenure.referrals import abuse, repository, rewards
from tenure.referrals.config import Program
from tenure.referrals.errors import (
    FingerprintMatch,
    InviteeAlreadyAttributed,
    ReferralCodeDisabled,
    ReferralCodeNotFound,
    ReferralCurrencyMismatch,
    ReferralNotFound,
    ReferralOrderNotFound,
)
from tenure.referrals.models import Decision, Referral, ReferralCode, Reward, VoidOrder
from tenure.storage.database import Rejected

# No 0/O or 1/I/L: codes are read aloud and typed from screenshots.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Attribution:
    """A sign-up's outcome: the referral and whether this call created it."""

    referral: Referral
    created: bool


@dataclass(frozen=True)
class OrderOutcome:
    """What an order did to the customer's referral (None: the customer was not referred)."""

    referral: Referral | None
    qualifies: bool
    reason: str


@dataclass
class Detail:
    """A referral with the abuse decisions about it and its rewards."""

    referral: Referral
    decisions: list[Decision] = field(default_factory=list)
    rewards: list[Reward] = field(default_factory=list)


def normalize(code: str) -> str:
    """Codes are case-insensitive and ignore surrounding spaces."""
    return code.strip().upper()


def _hashes(**values: str | None) -> dict[str, str]:
    return {kind: abuse.digest(kind, v) for kind, v in values.items() if v}


def code_for(
    session: Session, user_id: str, now: datetime, device: str | None = None, ip: str | None = None
) -> ReferralCode:
    """The referrer's invite code, created on first call; their device and IP are remembered."""
    for kind, value_hash in _hashes(device=device, ip=ip).items():
        repository.remember(session, user_id, kind, value_hash, now)
    found = repository.code_of_user(session, user_id)
    if found is not None:
        return found
    while True:
        text = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        if repository.get_code(session, text) is None:
            break
    row = ReferralCode(code=text, user_id=user_id, created_at=now)
    repository.add(session, row)  # a parallel first call hits uq(user_id): the unit retries
    return row


def get_code(session: Session, code: str, lock: bool = False) -> ReferralCode:
    """A code by its text, or ReferralCodeNotFound."""
    row = repository.get_code(session, normalize(code), lock=lock)
    if row is None:
        raise ReferralCodeNotFound(referral_code=normalize(code))
    return row


def set_code_disabled(session: Session, code: str, disabled: bool, now: datetime) -> ReferralCode:
    """Disable a leaked code (existing referrals keep it), or enable it again."""
    row = get_code(session, code)
    row.disabled_at = now if disabled else None
    session.flush()
    return row


def attribute(
    session: Session,
    program: Program,
    code: str,
    invitee_id: str,
    now: datetime,
    device: str | None = None,
    ip: str | None = None,
) -> Attribution:
    """Attribute a new customer to the code's owner, once; abuse rules reject or hold it."""
    existing = repository.of_invitee(session, invitee_id)
    text = normalize(code)
    if existing is not None:
        if existing.code == text:
            return Attribution(existing, False)  # a retried sign-up: same answer
        raise InviteeAlreadyAttributed(
            invitee_id=invitee_id,
            referral_id=existing.id,
            attributed_at=existing.attributed_at.isoformat(),
        )
    # Locking the code row queues one referrer's sign-ups, so velocity counts are exact.
    owner = get_code(session, text, lock=True)
    if owner.disabled_at is not None:
        raise ReferralCodeDisabled(referral_code=text)
    abuse.check_self_referral(session, owner.user_id, invitee_id, text, now)
    abuse.check_velocity(session, program, owner.user_id, invitee_id, now)
    hashes = _hashes(device=device, ip=ip)
    referral = Referral(
        id=new_id("ref", 10),
        code=text,
        referrer_id=owner.user_id,
        invitee_id=invitee_id,
        status="pending",
        attributed_at=now,
        hold_reasons="",
    )
    holds = program.fingerprint_action == "hold"
    reasons = abuse.check_fingerprints(
        session, program, owner.user_id, invitee_id, hashes, now, referral.id if holds else None
    )
    if reasons and not holds:
        raise Rejected(FingerprintMatch(rules=", ".join(reasons), invitee_id=invitee_id))
    referral.hold_reasons = " ".join(reasons)
    repository.add(session, referral)  # parallel sign-ups of one invitee: uq(invitee_id)
    for kind, value_hash in hashes.items():
        repository.remember(session, invitee_id, kind, value_hash, now)
    return Attribution(referral, True)


def record_order(
    session: Session,
    program: Program,
    shop_currency: str,
    order_id: str,
    user_id: str,
    paid_at: datetime,
    amount_minor: int,
    currency: str,
    now: datetime,
    payment: str | None = None,
) -> OrderOutcome:
    """An invitee's paid order: the first one that meets the minimum starts the return window."""
    paid_at = as_utc(paid_at)  # the shop's input: a naive time is taken as UTC
    hashes = _hashes(payment=payment)
    # Every buyer's payment fingerprint is kept: referrers order too, and an invitee's card is
    # matched against theirs (the match below looks only at others, so order does not matter).
    for kind, value_hash in hashes.items():
        repository.remember(session, user_id, kind, value_hash, now)
    referral = repository.of_invitee(session, user_id, lock=True)
    if referral is None:
        return OrderOutcome(None, False, "not_referred")
    if referral.order_id == order_id:
        return OrderOutcome(referral, True, "replayed")
    if referral.status != "pending":
        return OrderOutcome(referral, False, "already_qualified")
    if currency.upper() != shop_currency.upper():
        raise ReferralCurrencyMismatch(expected=shop_currency, currency=currency)
    if amount_minor < program.min_order_minor:
        return OrderOutcome(referral, False, "below_minimum")
    reasons = abuse.check_fingerprints(
        session, program, referral.referrer_id, user_id, hashes, now, referral.id
    )
    if reasons and program.fingerprint_action == "reject":
        referral.status, referral.decided_at = "rejected", now
        referral.note = " ".join(reasons)
        session.flush()
        return OrderOutcome(referral, False, "rejected")
    held = set(referral.hold_reasons.split()) | set(reasons)
    referral.hold_reasons = " ".join(sorted(held))
    referral.status = "qualifying"
    referral.order_id = order_id
    referral.order_paid_at = paid_at
    referral.confirm_at = paid_at + timedelta(days=program.return_window_days)
    referral.order_amount_minor, referral.order_refunded_minor = amount_minor, 0
    session.flush()
    return OrderOutcome(referral, True, "qualifying")


def refund_order(
    session: Session,
    program: Program,
    order_id: str,
    now: datetime,
    reason: str = "refunded",
    refunded_total_minor: int | None = None,
) -> Referral:
    """The qualifying order was refunded or cancelled (`reason`); repeating it changes nothing.

    `refunded_total_minor` is the order's whole refunded amount so far, for a partial refund
    (a total, not a delta, so a retry cannot count twice): while what is left still meets the
    program's minimum, the order keeps qualifying and only the total is recorded. A full
    refund, or a partial one below the minimum: inside the return window the referral waits for
    another first order; after it, nobody may keep a reward for it: a held referral's rewards
    are cancelled, granted ones are clawed back (points through a loyalty reversal, unused
    coupons revoked), each outcome on its reward row.
    """
    referral = repository.by_order(session, order_id, lock=True)
    if referral is None:
        void = repository.void_order(session, order_id)
        replayed = None if void is None else repository.get(session, void.referral_id)
        if replayed is None:
            raise ReferralOrderNotFound(order_id=order_id)
        return replayed  # refunded inside the window already: the same answer, nothing redone
    actions = {"qualifying": "reset", "held": "cancel", "rewarded": "reverse"}
    action = actions.get(referral.status)
    if action is None:
        return referral  # rejected, or already cancelled or reversed by an earlier call
    if refunded_total_minor is not None and _still_qualifies(
        referral, program, refunded_total_minor
    ):
        _record_partial(session, referral, order_id, refunded_total_minor, now)
        return referral
    why = f"order_{reason}"
    abuse.record(
        session, "order_refunded", action, referral.referrer_id, referral.invitee_id, now,
        referral.id, order_id=order_id, reason=reason,
    )  # fmt: skip
    if action == "reset":
        repository.add(
            session,
            VoidOrder(order_id=order_id, referral_id=referral.id, reason=reason, voided_at=now),
        )
        referral.status = "pending"
        referral.order_id = referral.order_paid_at = referral.confirm_at = None
        referral.order_amount_minor = referral.order_refunded_minor = None
        session.flush()
    elif action == "cancel":
        rewards.cancel_unearned(session, program, referral, why, now)
    else:
        rewards.reverse_granted(session, referral, why, now)
    return referral


def _still_qualifies(referral: Referral, program: Program, refunded_total: int) -> bool:
    """Whether a partial refund leaves the order at or above the program's minimum."""
    if referral.order_amount_minor is None:
        return False  # an order recorded before amounts were kept: any refund counts as full
    left = referral.order_amount_minor - refunded_total
    return left > 0 and left >= program.min_order_minor


def _record_partial(
    session: Session, referral: Referral, order_id: str, refunded_total: int, now: datetime
) -> None:
    """Keep the larger refunded total: totals only grow, so an older report changes nothing."""
    if refunded_total <= (referral.order_refunded_minor or 0):
        return
    referral.order_refunded_minor = refunded_total
    abuse.record(
        session, "order_partly_refunded", "keep", referral.referrer_id, referral.invitee_id,
        now, referral.id, order_id=order_id, refunded_total_minor=refunded_total,
    )  # fmt: skip
    session.flush()


def detail(session: Session, referral_id: str) -> Detail:
    """A referral with its decisions and rewards, or ReferralNotFound."""
    referral = repository.get(session, referral_id)
    if referral is None:
        raise ReferralNotFound(referral_id=referral_id)
    return Detail(
        referral,
        repository.decisions(session, referral_id),
        repository.rewards_of(session, referral_id),
    )


@dataclass(frozen=True)
class Progress:
    """A referrer's invite page: their code, friends per status, what they have earned."""

    user_id: str
    code: str | None
    by_status: dict[str, int]
    points_earned: int
    coupons_earned: list[str]
    capped: int


def progress(session: Session, user_id: str) -> Progress:
    """What the shop shows a customer about their invitations."""
    own = repository.code_of_user(session, user_id)
    earned = repository.referrer_rewards(session, user_id)
    granted = [r for r in earned if r.status == "granted"]
    return Progress(
        user_id=user_id,
        code=own.code if own else None,
        by_status=repository.status_counts(session, user_id),
        points_earned=sum(r.points for r in granted),
        coupons_earned=[r.coupon_code for r in granted if r.coupon_code],
        capped=sum(1 for r in earned if r.status == "capped"),
    )


def list_referrals(
    session: Session,
    status: str | None = None,
    referrer_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Referral]:
    """Referrals, newest first, filtered by status and referrer."""
    return repository.listing(session, status, referrer_id, limit, offset)


def decisions(session: Session, referral_id: str | None = None, limit: int = 200) -> list[Decision]:
    """Abuse decisions, newest first (all, or one referral's)."""
    return repository.decisions(session, referral_id, limit)


@dataclass(frozen=True)
class ProgramStats:
    """The program at a glance: referrals per status, rewards per status with their points and
    coupons, and how often each abuse rule fired with which action."""

    referrals: int
    by_status: dict[str, int]
    rewards: dict[str, tuple[int, int, int]]
    rules: dict[tuple[str, str], int]

    @property
    def points_granted(self) -> int:
        """Points of the rewards that stand (granted, not cancelled or reversed)."""
        return self.rewards.get("granted", (0, 0, 0))[1]

    @property
    def coupons_granted(self) -> int:
        """Coupons of the rewards that stand."""
        return self.rewards.get("granted", (0, 0, 0))[2]


def program_stats(session: Session) -> ProgramStats:
    """Counts over every referral, reward and abuse decision (three grouped queries)."""
    by_status = repository.totals_by_status(session)
    return ProgramStats(
        referrals=sum(by_status.values()),
        by_status=by_status,
        rewards=repository.reward_totals(session),
        rules=repository.decision_totals(session),
    )
