"""Shared pieces of the loyalty routers: scopes, idempotency keys, units of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Request, Response
from sqlalchemy.orm import Session

from tenure.apikeys.auth import require
from tenure.loyalty import points
from tenure.loyalty.errors import IdempotencyKeyRequired
from tenure.loyalty.program import Program, current_program
from tenure.loyalty.rewards import CouponIssuer
from tenure.loyalty.schemas import TransactionOut
from tenure.storage.database import Database

SERVER = [Depends(require("server"))]
ADMIN = [Depends(require("admin"))]
KeyHeader = Header(None, alias="Idempotency-Key", max_length=200)
T = TypeVar("T")


def database_of(request: Request) -> Database:
    """The app's operational database."""
    database: Database = request.app.state.database
    return database


def zone_of(request: Request) -> ZoneInfo:
    """The shop's time zone."""
    zone: ZoneInfo = request.app.state.settings.zone
    return zone


def coupon_issuer(request: Request) -> CouponIssuer:
    """How a coupon reward reaches the member's wallet: the promotions domain's issuer, handed in
    by the application (promotions builds on loyalty, so loyalty cannot import it)."""
    issuer: CouponIssuer = request.app.state.coupon_issuer
    return issuer


def idempotency_key(header: str | None, body: str | None) -> str:
    """The key from the Idempotency-Key header or the body; 400 when neither has one."""
    key = header or body
    if not key:
        raise IdempotencyKeyRequired()
    return key


def write(request: Request, work: Callable[[Session, Program], T]) -> T:
    """Run `work` with the live program in one committed unit of work."""

    def unit(session: Session) -> T:
        _, program = current_program(session)
        return work(session, program)

    return database_of(request).write(unit)


def read(request: Request, work: Callable[[Session, Program], T]) -> T:
    """Run read-only `work` with the live program."""

    def unit(session: Session) -> T:
        _, program = current_program(session)
        return work(session, program)

    return database_of(request).read(unit)


def mark_replayed(response: Response, replayed: bool) -> None:
    """Say in a header that the answer is a replay of an earlier identical request."""
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


def tx_out(response: Response, outcome: points.Outcome) -> TransactionOut:
    """A transaction as JSON, marking replays."""
    mark_replayed(response, outcome.replayed)
    return TransactionOut.of(outcome.transaction, outcome.replayed)
