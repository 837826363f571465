"""Loyalty over HTTP for the shop's backend (`server` scope); admin routes are included."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from tenure.kit.bounds import ExternalId, Instant, ProgramKey, PublicId, UserId
from tenure.kit.time import utc_now
from tenure.loyalty import (
    checkout,
    membership,
    orders,
    points,
    rewards,
    service,
    tasks,
)
from tenure.loyalty.checkin import service as checkin
from tenure.loyalty.deps import (
    SERVER,
    KeyHeader,
    coupon_issuer,
    idempotency_key,
    mark_replayed,
    read,
    tx_out,
    write,
    zone_of,
)
from tenure.loyalty.program import Program
from tenure.loyalty.router_admin import router as admin_router
from tenure.loyalty.schemas import (
    AccountOut,
    BenefitsOut,
    CalendarOut,
    CatalogueRewardOut,
    CheckinOut,
    ClaimIn,
    ClaimOut,
    EarnAction,
    ExpiryNoticeOut,
    MembershipIn,
    MembershipOut,
    MembershipStatusOut,
    OrderPaid,
    OrderPaidOut,
    OrderRefunded,
    PointsQuoteOut,
    QuoteIn,
    RedeemIn,
    RedemptionOut,
    SettleIn,
    Spend,
    TaskCompletionOut,
    TaskOut,
    TierChangeOut,
    TransactionOut,
)
from tenure.loyalty.tiers import service as tiers

router = APIRouter(prefix="/v1/loyalty", tags=["loyalty"])


@router.get("/accounts/{user_id}", dependencies=SERVER, summary="Balances, tier, membership")
def account(request: Request, user_id: UserId) -> AccountOut:
    """A member's balances, tier progress, membership and points expiring soon."""
    return AccountOut.of(read(request, lambda s, p: points.summary(s, p, user_id, utc_now())))


@router.get("/accounts/{user_id}/transactions", dependencies=SERVER, summary="Points history")
def transactions(
    request: Request,
    user_id: UserId,
    limit: int = Query(50, ge=1, le=500),
    before: Instant | None = None,
) -> list[TransactionOut]:
    """The member's ledger, newest first (page with `before`)."""
    rows = read(request, lambda s, p: points.history(s, user_id, limit, before))
    return [TransactionOut.of(tx) for tx in rows]


@router.get("/accounts/{user_id}/benefits", dependencies=SERVER, summary="Current benefits")
def benefits(request: Request, user_id: UserId) -> BenefitsOut:
    """Tier and paid-membership benefits in force now."""
    return BenefitsOut.of(read(request, lambda s, p: service.tier_benefits(s, user_id)))


@router.get("/accounts/{user_id}/tier-history", dependencies=SERVER, summary="Tier changes")
def tier_history(request: Request, user_id: UserId) -> list[TierChangeOut]:
    """Upgrades, grace periods and downgrades, newest first."""
    rows = read(request, lambda s, p: tiers.history(s, user_id))
    return [TierChangeOut.of(e) for e in rows]


@router.post("/accounts/{user_id}/actions", dependencies=SERVER, summary="Earn for an action")
def earn_action(
    request: Request,
    response: Response,
    user_id: UserId,
    body: EarnAction,
    key: str | None = KeyHeader,
) -> TransactionOut:
    """Award an action's points within its caps (409 earn_cap_reached when a cap stops it)."""
    idem = idempotency_key(key, body.idempotency_key)
    zone = zone_of(request)
    outcome = write(
        request,
        lambda s, p: points.earn_action(
            s, p, zone, user_id, body.action, idem, utc_now(), body.reference
        ),
    )
    return tx_out(response, outcome)


@router.post("/accounts/{user_id}/spend", dependencies=SERVER, summary="Spend points")
def spend(
    request: Request, response: Response, user_id: UserId, body: Spend, key: str | None = KeyHeader
) -> TransactionOut:
    """Spend points now; 409 points_insufficient with balance and requested."""
    idem = idempotency_key(key, body.idempotency_key)
    outcome = write(
        request, lambda s, p: points.spend(s, user_id, body.points, body.reason, idem, utc_now())
    )
    return tx_out(response, outcome)


@router.post("/accounts/{user_id}/checkins", dependencies=SERVER, summary="Daily check-in")
def check_in(request: Request, user_id: UserId) -> CheckinOut:
    """Check in for today (shop's zone); 409 checkin_already_done on a second try."""
    zone = zone_of(request)
    row = write(request, lambda s, p: checkin.check_in(s, p, zone, user_id, utc_now()))
    return CheckinOut.of(row)


@router.get("/accounts/{user_id}/checkins", dependencies=SERVER, summary="Check-in calendar")
def checkin_calendar(
    request: Request,
    user_id: UserId,
    year: int | None = Query(None, ge=2000, le=2200),
    month: int | None = Query(None, ge=1, le=12),
) -> CalendarOut:
    """A month of check-ins, the live streak and the next day's reward."""
    zone = zone_of(request)
    cal = read(
        request,
        lambda s, p: checkin.month_calendar(s, p, zone, user_id, utc_now(), year, month),
    )
    return CalendarOut.of(cal)


@router.get("/accounts/{user_id}/tasks", dependencies=SERVER, summary="Tasks")
def list_tasks(request: Request, user_id: UserId) -> list[TaskOut]:
    """Every task and whether the member completed it."""
    return [TaskOut.of(t) for t in read(request, lambda s, p: tasks.list_tasks(s, p, user_id))]


@router.post("/accounts/{user_id}/tasks/{task}", dependencies=SERVER, summary="Complete a task")
def complete_task(request: Request, user_id: UserId, task: ProgramKey) -> TaskCompletionOut:
    """Award a task's points once; 409 task_already_completed afterwards."""
    row = write(request, lambda s, p: tasks.complete(s, p, user_id, task, utc_now()))
    return TaskCompletionOut.of(row)


@router.post("/accounts/{user_id}/membership", dependencies=SERVER, summary="Paid membership")
def activate_membership(request: Request, user_id: UserId, body: MembershipIn) -> MembershipOut:
    """Record a paid period (idempotent by payment_ref); renewals start when the last ends."""

    def work(session: Session, program: Program) -> MembershipOut:
        now = utc_now()
        row = membership.activate(
            session, program, user_id, body.plan, body.payment_ref, body.price_minor,
            body.currency, now,
        )  # fmt: skip
        return MembershipOut.of(row, membership.status(session, user_id, now))

    return write(request, work)


@router.delete("/accounts/{user_id}/membership", dependencies=SERVER, summary="Cancel renewal")
def cancel_membership(request: Request, user_id: UserId) -> MembershipStatusOut:
    """Stop renewing; the paid time stays usable."""
    status = write(request, lambda s, p: membership.cancel(s, user_id, utc_now()))
    return MembershipStatusOut.of(status)


@router.post("/orders", dependencies=SERVER, summary="An order was paid")
def order_paid(request: Request, response: Response, body: OrderPaid) -> OrderPaidOut:
    """Earn points for a paid order (pending through the return window); once per order id."""
    zone = zone_of(request)
    now = utc_now()
    result = write(
        request,
        lambda s, p: orders.order_paid(
            s, p, zone, user_id=body.user_id, order_id=body.order_id,
            amount_minor=body.amount_minor, currency=body.currency,
            paid_at=body.paid_at or now, now=now,
        ),
    )  # fmt: skip
    mark_replayed(response, result.replayed)
    return OrderPaidOut.of(result)


@router.post("/orders/{order_id}/refunds", dependencies=SERVER, summary="An order was refunded")
def order_refunded(
    request: Request, response: Response, order_id: ExternalId, body: OrderRefunded
) -> TransactionOut:
    """Reverse the refunded share of the order's points; once per refund id."""
    result = write(
        request,
        lambda s, p: orders.order_refunded(
            s, order_id, body.refund_id, body.amount_minor, utc_now()
        ),
    )
    return tx_out(response, points.Outcome(result.transaction, result.replayed))


@router.post("/checkout/quote", dependencies=SERVER, summary="Quote a points discount")
def quote(request: Request, body: QuoteIn) -> PointsQuoteOut:
    """What `points` (or the most allowed) would take off this order; changes nothing."""
    found = read(
        request,
        lambda s, p: checkout.quote(
            s, p, body.user_id, body.order_minor, body.currency, body.points
        ),
    )
    return PointsQuoteOut.of(found)


@router.post("/checkout/redeem", dependencies=SERVER, summary="Reserve points for a discount")
def redeem(
    request: Request, response: Response, body: RedeemIn, key: str | None = KeyHeader
) -> RedemptionOut:
    """Hold exactly `points` for this order; confirm when placed, release when cancelled."""
    idem = idempotency_key(key, body.idempotency_key)
    result = write(
        request,
        lambda s, p: checkout.redeem(
            s, p, body.user_id, body.order_minor, body.currency, body.points, idem, utc_now(),
            body.order_id,
        ),
    )  # fmt: skip
    mark_replayed(response, result.replayed)
    return RedemptionOut.of(result.redemption, result.replayed)


@router.post("/redemptions/{redemption_id}/confirm", dependencies=SERVER, summary="Spend a hold")
def confirm(
    request: Request, redemption_id: PublicId, body: SettleIn | None = None
) -> RedemptionOut:
    """The order was placed: the reserved points are spent."""
    order_id = body.order_id if body else None
    row = write(
        request,
        lambda s, p: checkout.settle(
            s, redemption_id, release=False, now=utc_now(), order_id=order_id
        ),
    )
    return RedemptionOut.of(row)


@router.post("/redemptions/{redemption_id}/release", dependencies=SERVER, summary="Release a hold")
def release(request: Request, redemption_id: PublicId) -> RedemptionOut:
    """The checkout was cancelled: the points go back to their lots."""
    row = write(
        request, lambda s, p: checkout.settle(s, redemption_id, release=True, now=utc_now())
    )
    return RedemptionOut.of(row)


@router.get("/rewards", dependencies=SERVER, summary="Rewards catalogue")
def list_rewards(request: Request) -> list[CatalogueRewardOut]:
    """Active rewards, cheapest first."""
    return [CatalogueRewardOut.of(r) for r in read(request, lambda s, p: rewards.catalogue(s))]


@router.post("/rewards/{code}/claims", dependencies=SERVER, summary="Buy a reward with points")
def claim_reward(
    request: Request,
    response: Response,
    code: ProgramKey,
    body: ClaimIn,
    key: str | None = KeyHeader,
) -> ClaimOut:
    """Spend the reward's points and take it from stock; the shop fulfils the claim."""
    idem = idempotency_key(key, body.idempotency_key)
    result = write(
        request,
        lambda s, p: rewards.claim(s, body.user_id, code, idem, utc_now(), coupon_issuer(request)),
    )
    mark_replayed(response, result.replayed)
    return ClaimOut.of(result)


@router.get("/expiry-notices", dependencies=SERVER, summary="Points about to expire")
def expiry_notices(
    request: Request, since: Instant | None = None, limit: int = Query(500, ge=1, le=5000)
) -> list[ExpiryNoticeOut]:
    """Reminders recorded by the expiry job (for campaigns or the shop's own e-mails)."""
    rows = read(request, lambda s, p: service.expiry_notices(s, since, limit))
    return [ExpiryNoticeOut.of(n) for n in rows]


router.include_router(admin_router)
