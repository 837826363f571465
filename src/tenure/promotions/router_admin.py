"""HTTP for operators (admin scope): offers, codes, wallet issuing, expiry sweep."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from tenure.apikeys.auth import require
from tenure.apikeys.service import Principal
from tenure.config import Settings
from tenure.kit.bounds import CouponCode, PublicId
from tenure.kit.time import utc_now
from tenure.promotions import views
from tenure.promotions.coupons import service as coupons
from tenure.promotions.jobs import release_expired_holds
from tenure.promotions.schemas import (
    CodeOut,
    CodesIn,
    CodesOut,
    CodeStatusIn,
    IssueIn,
    OfferIn,
    OfferOut,
    ReleasedOut,
    StatusIn,
)
from tenure.promotions.service import offers
from tenure.storage.database import Database

router = APIRouter(prefix="/v1", tags=["promotions"])
admin = Depends(require("admin"))


def _db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


@router.post(
    "/promotions/offers", response_model=OfferOut, status_code=201, summary="Create an offer"
)
def create_offer(body: OfferIn, request: Request, _who: Principal = admin) -> OfferOut:
    """A coupon template or an automatic promotion (condition + benefit over a range)."""
    settings: Settings = request.app.state.settings
    return _db(request).write(
        lambda s: views.offer_out(offers.create_offer(s, body, settings.currency, utc_now()))
    )


@router.get("/promotions/offers", response_model=list[OfferOut], summary="List offers")
def list_offers(
    request: Request,
    status: Literal["active", "paused", "archived"] | None = None,
    kind: Literal["coupon", "automatic"] | None = None,
    _who: Principal = admin,
) -> list[OfferOut]:
    """Offers with their usage, budget and stock counters, newest first."""

    def work(session: Session) -> list[OfferOut]:
        rows = offers.list_offers(session, status, kind)
        used = offers.usage(session, rows)
        return [views.offer_out(row, used[row.id]) for row in rows]

    return _db(request).read(work)


@router.get("/promotions/offers/{offer_id}", response_model=OfferOut, summary="One offer")
def get_offer(offer_id: PublicId, request: Request, _who: Principal = admin) -> OfferOut:
    """An offer and its counters."""

    def work(session: Session) -> OfferOut:
        row = offers.get_offer(session, offer_id)
        return views.offer_out(row, offers.usage(session, [row])[row.id])

    return _db(request).read(work)


@router.post(
    "/promotions/offers/{offer_id}/status", response_model=OfferOut, summary="Pause or resume"
)
def set_status(
    offer_id: PublicId, body: StatusIn, request: Request, _who: Principal = admin
) -> OfferOut:
    """Pause, resume or archive an offer."""
    return _db(request).write(
        lambda s: views.offer_out(offers.set_status(s, offer_id, body.status))
    )


@router.post(
    "/promotions/offers/{offer_id}/codes",
    response_model=CodesOut,
    status_code=201,
    summary="Make codes",
)
def make_codes(
    offer_id: PublicId, body: CodesIn, request: Request, _who: Principal = admin
) -> CodesOut:
    """Unique single-use codes in bulk (`count`), or one shared code (`code`)."""

    def work(session: Session) -> coupons.IssuedCodes:
        if body.count is not None:
            return coupons.create_unique_codes(
                session, offer_id, body.count, body.prefix, utc_now()
            )
        assert body.code is not None
        return coupons.create_shared_code(session, offer_id, body.code, body.max_uses, utc_now())

    issued = _db(request).write(work)
    return CodesOut(offer_id=issued.offer_id, batch=issued.batch, codes=issued.codes)


@router.post(
    "/promotions/offers/{offer_id}/issue",
    response_model=CodesOut,
    status_code=201,
    summary="Issue to wallets",
)
def issue(offer_id: PublicId, body: IssueIn, request: Request, _who: Principal = admin) -> CodesOut:
    """Put one single-use coupon in each customer's wallet."""
    issued = _db(request).write(
        lambda s: coupons.issue_to_wallets(s, offer_id, body.user_ids, utc_now())
    )
    return CodesOut(offer_id=issued.offer_id, batch=issued.batch, codes=issued.codes)


@router.get("/promotions/codes/{code}", response_model=CodeOut, summary="One code")
def get_code(code: CouponCode, request: Request, _who: Principal = admin) -> CodeOut:
    """A code, its owner and how often it has been used."""
    return _db(request).read(lambda s: views.code_out(coupons.get_code(s, code)))


@router.post("/promotions/codes/{code}/status", response_model=CodeOut, summary="Disable a code")
def set_code_status(
    code: CouponCode, body: CodeStatusIn, request: Request, _who: Principal = admin
) -> CodeOut:
    """Disable a leaked code (`disabled`) or enable it again (`active`)."""
    return _db(request).write(
        lambda s: views.code_out(coupons.set_code_status(s, code, body.status))
    )


@router.post(
    "/checkout/release-expired", response_model=ReleasedOut, summary="Release expired holds"
)
def release_expired(request: Request, _who: Principal = admin) -> ReleasedOut:
    """Give back what expired reservations held (also `tenure coupons release-expired`)."""
    return ReleasedOut(released=release_expired_holds(_db(request), utc_now())["released"])
