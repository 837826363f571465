"""HTTP for the shop's backend (server scope): quote, reserve, confirm, release, refund, wallet."""

from __future__ import annotations

import logging
from typing import TypeVar

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy.orm import Session

from tenure.apikeys.auth import principal
from tenure.config import Settings
from tenure.kit.bounds import PublicId, UserId
from tenure.kit.time import utc_now
from tenure.promotions import views
from tenure.promotions.coupons import service as coupons
from tenure.promotions.coupons.codes import normalize
from tenure.promotions.errors import CouponCodeNotFound, IdempotencyKeyRequired
from tenure.promotions.router_admin import router as admin_router
from tenure.promotions.schemas import (
    AppliedOut,
    CheckoutIn,
    ConfirmIn,
    QuoteOut,
    RefundIn,
    ReservationOut,
    ReserveIn,
    SuggestionOut,
    ValidateIn,
    WalletCoupon,
)
from tenure.promotions.service import pricing, reservations
from tenure.recommend.service import upsell
from tenure.storage.database import Database

checkout_router = APIRouter(prefix="/v1", tags=["checkout"])
T = TypeVar("T")
log = logging.getLogger(__name__)
SUGGESTIONS = 3  # items suggested beside a quoted cart


def _server(request: Request) -> None:
    """Demand a server key, on the request's own worker thread: a FastAPI dependency would cost
    a second thread hop on the hottest endpoints."""
    principal(request).require("server")


def _currency(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.currency


def _db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _suggestions(request: Request, body: CheckoutIn) -> list[SuggestionOut]:
    """Items bought with the cart's (none before a model is trained). A model that cannot be
    read is logged and shows nothing: suggestions never cost the shop a quote."""
    settings: Settings = request.app.state.settings
    try:
        items = upsell(settings, [line.sku for line in body.lines], SUGGESTIONS)
    except Exception:
        log.exception("recommendations unavailable; quoting without suggestions")
        return []
    return [views.suggestion_out(item) for item in items]


@checkout_router.post("/checkout/quote", response_model=QuoteOut, summary="Price a cart")
def quote(body: CheckoutIn, request: Request) -> Response:
    """Every applicable offer, the best combination, why the others do not apply, upsell hints,
    and items bought with the cart's (`suggestions`, empty before a model is trained)."""
    _server(request)
    currency = _currency(request)
    suggested = _suggestions(request, body)
    out = _db(request).read(
        lambda s: views.quote_out(pricing.quote(s, body, currency, utc_now()), suggested)
    )
    # Serialised once here: the checkout is hot, and FastAPI would validate the model again.
    return Response(out.model_dump_json(), media_type="application/json")


@checkout_router.post("/coupons/validate", response_model=AppliedOut, summary="Check one code")
def validate(body: ValidateIn, request: Request) -> AppliedOut:
    """What one code gives on this cart alone, or the 409 that says why it does not apply."""
    _server(request)
    code = normalize(body.code)
    cart = body.model_copy(update={"codes": [code], "use_wallet": False})
    currency = _currency(request)
    result = _db(request).read(lambda s: pricing.quote(s, cart, currency, utc_now()))
    for _text, error in result.unknown_codes:
        raise error
    for item in result.pricing.applicable:
        if item.offer.code == code:
            return views.applied_out(item, result.pricing.cart.currency)
    for refusal in result.refused:
        if refusal.code == code:
            raise refusal.error
    raise CouponCodeNotFound(coupon=code)


@checkout_router.get(
    "/coupons/wallet/{user_id}", response_model=list[WalletCoupon], summary="A customer's coupons"
)
def wallet(user_id: UserId, request: Request) -> list[WalletCoupon]:
    """The customer's usable wallet coupons."""
    _server(request)
    return _db(request).read(
        lambda s: [views.wallet_out(e) for e in coupons.wallet_of(s, user_id, utc_now())]
    )


@checkout_router.post(
    "/checkout/reservations", response_model=ReservationOut, status_code=201, summary="Reserve"
)
def reserve(
    body: ReserveIn,
    request: Request,
    response: Response,
    idempotency_key: str | None = Header(None, max_length=200),
) -> ReservationOut:
    """Hold the best combination's coupon uses, stock and budget until paid, cancelled or expired.
    A retry with the same Idempotency-Key returns the same hold (200)."""
    _server(request)
    key = idempotency_key or body.idempotency_key
    if not key:
        raise IdempotencyKeyRequired()
    digest = reservations.request_hash(body)
    replayed = False

    def work(session: Session) -> ReservationOut:
        nonlocal replayed
        row = reservations.replay(session, key, digest)
        replayed = row is not None
        if row is None:
            row = reservations.reserve(session, body, key, _currency(request), utc_now())
        return views.reservation_out(row)

    # When the same key races us and wins, the unit of work runs again and replays its hold.
    out = _db(request).write(work)
    if replayed:
        response.status_code = 200
    return out


@checkout_router.get(
    "/checkout/reservations/{reservation_id}", response_model=ReservationOut, summary="A hold"
)
def get_reservation(reservation_id: PublicId, request: Request) -> ReservationOut:
    """A reservation, the quote it holds and its refunds."""
    _server(request)

    def work(session: Session) -> ReservationOut:
        row = reservations.get(session, reservation_id)
        return views.reservation_out(row, reservations.refunds_of(session, row.id))

    return _db(request).read(work)


@checkout_router.post(
    "/checkout/reservations/{reservation_id}/confirm", response_model=ReservationOut, summary="Paid"
)
def confirm(reservation_id: PublicId, body: ConfirmIn, request: Request) -> ReservationOut:
    """Payment arrived: holds become uses."""
    _server(request)
    return _db(request).write(
        lambda s: views.reservation_out(
            reservations.confirm(s, reservation_id, body.order_id, utc_now())
        ),
    )


@checkout_router.post(
    "/checkout/reservations/{reservation_id}/release",
    response_model=ReservationOut,
    summary="Cancel",
)
def release(reservation_id: PublicId, request: Request) -> ReservationOut:
    """The checkout was abandoned or cancelled: give everything back."""
    _server(request)
    return _db(request).write(
        lambda s: views.reservation_out(reservations.release(s, reservation_id, utc_now()))
    )


@checkout_router.post(
    "/checkout/reservations/{reservation_id}/refund",
    response_model=ReservationOut,
    summary="Refund",
)
def refund(
    reservation_id: PublicId, request: Request, body: RefundIn | None = None
) -> ReservationOut:
    """The paid order was refunded, in full (no body) or in part (`refund_id`, `amount_minor`):
    points benefits are taken back in proportion; in full, coupons return when their template
    says so. A retried refund id changes nothing more."""
    _server(request)
    found = body or RefundIn()

    def work(session: Session) -> ReservationOut:
        row = reservations.refund(
            session, reservation_id, utc_now(), found.refund_id, found.amount_minor
        )
        return views.reservation_out(row, reservations.refunds_of(session, row.id))

    return _db(request).write(work)


# What the app includes: the checkout endpoints and the operators' ones.
router = APIRouter()
router.include_router(checkout_router)
router.include_router(admin_router)
