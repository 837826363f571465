"""Operator accounts: create, sign in (a session and its CSRF token), sign out, preferences."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tenure.i18n import available, normalise
from tenure.operators import repository
from tenure.operators.errors import OperatorExists, OperatorInvalid, OperatorNotFound
from tenure.operators.models import Operator, OperatorSession
from tenure.operators.passwords import dummy_hash, hash_password, verify_password

ROLES = ("admin", "analyst")
SESSION_LIFETIME = timedelta(hours=12)
# Password guessing: after this many wrong passwords in a row the account waits LOCKOUT, right
# password or not (the answer stays the same, so it tells nothing).
MAX_FAILED_SIGN_INS = 10
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}")


@dataclass(frozen=True)
class Signed:
    """A session just opened: the cookie value (only ever shown here) and its CSRF token."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Who:
    """The operator behind a request."""

    id: int
    username: str
    role: str
    locale: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check(username: str, password: str | None, role: str, locale: str, email: str | None) -> None:
    if not _USERNAME.fullmatch(username):
        raise OperatorInvalid("username", "letters, digits and _ . @ - only, 1 to 64 characters")
    if password is not None and not MIN_PASSWORD <= len(password) <= 1024:
        raise OperatorInvalid("password", f"{MIN_PASSWORD} to 1024 characters")
    if role not in ROLES:
        raise OperatorInvalid("role", " or ".join(ROLES))
    if locale not in available():
        raise OperatorInvalid("locale", ", ".join(available()))
    if email is not None and not _EMAIL.fullmatch(email):
        raise OperatorInvalid("email", "not an e-mail address")


def create_operator(
    session: Session,
    username: str,
    password: str,
    role: str,
    now: datetime,
    *,
    locale: str = "en",
    email: str | None = None,
    weekly_review: bool = False,
) -> Operator:
    """A new account; the username is unique."""
    locale = normalise(locale)
    _check(username, password, role, locale, email)
    if repository.by_username(session, username) is not None:
        raise OperatorExists(username)
    operator = Operator(
        username=username,
        password_hash=hash_password(password),
        role=role,
        locale=locale,
        email=email,
        weekly_review=weekly_review and email is not None,
        created_at=now,
        failed_sign_ins=0,
    )
    session.add(operator)
    session.flush()
    return operator


def set_password(session: Session, username: str, password: str) -> None:
    """A new password; every open session of the account ends."""
    operator = _get(session, username)
    _check(operator.username, password, operator.role, operator.locale, None)
    operator.password_hash = hash_password(password)
    operator.failed_sign_ins, operator.locked_until = 0, None
    repository.end_sessions_of(session, operator.id)


def set_preferences(
    session: Session,
    operator_id: int,
    *,
    locale: str | None = None,
    email: str | None = None,
    weekly_review: bool | None = None,
) -> Operator:
    """Change one's own language, e-mail and weekly-review subscription."""
    operator = repository.by_id(session, operator_id)
    if operator is None:
        raise OperatorNotFound(str(operator_id))
    if locale is not None:
        operator.locale = normalise(locale)
    if email is not None:
        operator.email = email or None
    _check(operator.username, None, operator.role, operator.locale, operator.email)
    if weekly_review is not None:
        if weekly_review and operator.email is None:
            raise OperatorInvalid("email", "the weekly review needs an e-mail address")
        operator.weekly_review = weekly_review
    elif operator.email is None:
        operator.weekly_review = False
    return operator


def change_own_password(session: Session, operator_id: int, current: str, new: str) -> bool:
    """A new password when `current` is right (False otherwise); every session of the account
    ends, this one too, so a stolen session cannot outlive the change."""
    operator = repository.by_id(session, operator_id)
    if operator is None or not verify_password(current[:1024], operator.password_hash):
        return False
    set_password(session, operator.username, new)
    return True


def account(session: Session, operator_id: int) -> Operator:
    """One's own account, for the settings page."""
    operator = repository.by_id(session, operator_id)
    if operator is None:
        raise OperatorNotFound(str(operator_id))
    return operator


def disable(session: Session, username: str, now: datetime) -> None:
    """The account can no longer sign in; its sessions end."""
    operator = _get(session, username)
    operator.disabled_at = now
    repository.end_sessions_of(session, operator.id)


def _get(session: Session, username: str) -> Operator:
    operator = repository.by_username(session, username)
    if operator is None:
        raise OperatorNotFound(username)
    return operator


def sign_in(session: Session, username: str, password: str, now: datetime) -> Signed | None:
    """A new session when the name and password match an enabled account, else None (the
    same time either way)."""
    operator = repository.by_username(session, username[:64])
    matched = verify_password(password[:1024], operator.password_hash if operator else dummy_hash())
    if operator is None or operator.disabled_at is not None:
        return None
    if operator.locked_until is not None and operator.locked_until > now:
        return None
    if not matched:
        operator.failed_sign_ins += 1
        if operator.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            operator.locked_until, operator.failed_sign_ins = now + LOCKOUT, 0
        return None
    operator.failed_sign_ins, operator.locked_until = 0, None
    repository.purge_expired(session, now)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    session.add(
        OperatorSession(
            token_hash=_token_hash(token),
            operator_id=operator.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    return Signed(token, csrf, expires)


def who(session: Session, token: str, now: datetime) -> Who | None:
    """The operator of a session cookie, while the session lasts and the account is enabled."""
    if not token or len(token) > 128:
        return None
    row = repository.live_session(session, _token_hash(token), now)
    if row is None:
        return None
    operator = repository.by_id(session, row.operator_id)
    if operator is None or operator.disabled_at is not None:
        return None
    return Who(operator.id, operator.username, operator.role, operator.locale, row.csrf_token)


def sign_out(session: Session, token: str) -> None:
    repository.end_session(session, _token_hash(token))


def operators(session: Session) -> list[Operator]:
    return repository.listing(session)


def review_subscribers(session: Session) -> list[Operator]:
    return repository.review_subscribers(session)
