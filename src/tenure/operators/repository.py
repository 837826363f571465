"""Every query on operators and their sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenure.operators.models import Operator, OperatorSession


def by_username(session: Session, username: str) -> Operator | None:
    return session.scalar(select(Operator).where(Operator.username == username))


def by_id(session: Session, operator_id: int) -> Operator | None:
    return session.get(Operator, operator_id)


def listing(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.username)))


def review_subscribers(session: Session) -> list[Operator]:
    return list(
        session.scalars(
            select(Operator)
            .where(Operator.weekly_review.is_(True), Operator.disabled_at.is_(None))
            .where(Operator.email.is_not(None))
            .order_by(Operator.id)
        )
    )


def live_session(session: Session, token_hash: str, now: datetime) -> OperatorSession | None:
    return session.scalar(
        select(OperatorSession).where(
            OperatorSession.token_hash == token_hash, OperatorSession.expires_at > now
        )
    )


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(OperatorSession).where(OperatorSession.token_hash == token_hash))


def end_sessions_of(session: Session, operator_id: int) -> None:
    session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator_id))


def purge_expired(session: Session, now: datetime) -> None:
    session.execute(delete(OperatorSession).where(OperatorSession.expires_at <= now))
