"""Operator accounts on SQLite and PostgreSQL: hashing, validation, sessions, disabling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.kit.time import utc_now
from tenure.operators import service
from tenure.operators.errors import OperatorExists, OperatorInvalid
from tenure.operators.models import Operator
from tenure.operators.passwords import hash_password, verify_password
from tenure.storage.database import Database

PASSWORD = "a long enough secret"


def test_passwords_are_salted_scrypt_and_verify() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$")
    assert PASSWORD not in first
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    for broken in ("", "scrypt$", "md5$1$2$3$aa$bb", "scrypt$x$8$1$zz$00"):
        assert not verify_password(PASSWORD, broken)


def test_create_sign_in_and_out(database: Database) -> None:
    now = utc_now()
    database.write(lambda s: service.create_operator(s, "ada", PASSWORD, "admin", now))
    assert database.write(lambda s: service.sign_in(s, "ada", "wrong password", now)) is None
    assert database.write(lambda s: service.sign_in(s, "nobody", PASSWORD, now)) is None
    signed = database.write(lambda s: service.sign_in(s, "ada", PASSWORD, now))
    assert signed is not None and signed.token != signed.csrf_token
    who = database.read(lambda s: service.who(s, signed.token, now))
    assert who is not None and (who.username, who.is_admin) == ("ada", True)
    assert who.csrf_token == signed.csrf_token
    # The cookie value itself is never stored.
    stored = database.read(lambda s: [r.token_hash for r in s.query(service.OperatorSession)])
    assert signed.token not in stored
    later = now + service.SESSION_LIFETIME + timedelta(seconds=1)
    assert database.read(lambda s: service.who(s, signed.token, later)) is None
    database.write(lambda s: service.sign_out(s, signed.token))
    assert database.read(lambda s: service.who(s, signed.token, now)) is None


def test_disabling_or_a_new_password_ends_every_session(database: Database) -> None:
    now = utc_now()
    database.write(lambda s: service.create_operator(s, "alan", PASSWORD, "analyst", now))
    one = database.write(lambda s: service.sign_in(s, "alan", PASSWORD, now))
    assert one is not None
    database.write(lambda s: service.set_password(s, "alan", "another long secret"))
    assert database.read(lambda s: service.who(s, one.token, now)) is None
    two = database.write(lambda s: service.sign_in(s, "alan", "another long secret", now))
    assert two is not None
    database.write(lambda s: service.disable(s, "alan", now))
    assert database.read(lambda s: service.who(s, two.token, now)) is None
    assert database.write(lambda s: service.sign_in(s, "alan", "another long secret", now)) is None


@pytest.mark.parametrize(
    ("username", "password", "role", "field"),
    [
        ("", PASSWORD, "admin", "username"),
        ("has space", PASSWORD, "admin", "username"),
        ("x" * 65, PASSWORD, "admin", "username"),
        ("ok", "short", "admin", "password"),
        ("ok", PASSWORD, "root", "role"),
    ],
)
def test_bad_accounts_are_refused_with_the_field(
    database: Database, username: str, password: str, role: str, field: str
) -> None:
    with pytest.raises(OperatorInvalid) as caught:
        database.write(lambda s: service.create_operator(s, username, password, role, utc_now()))
    assert caught.value.data["field"] == field


def test_usernames_are_unique_and_locales_normalised(database: Database) -> None:
    now = utc_now()
    database.write(
        lambda s: service.create_operator(s, "li", PASSWORD, "analyst", now, locale="zh-cn")
    )
    with pytest.raises(OperatorExists):
        database.write(lambda s: service.create_operator(s, "li", PASSWORD, "admin", now))
    row = database.read(lambda s: s.query(Operator).filter_by(username="li").one())
    assert row.locale == "zh_CN"


def test_weekly_review_needs_an_email(database: Database) -> None:
    now = utc_now()
    database.write(
        lambda s: service.create_operator(s, "a", PASSWORD, "admin", now, weekly_review=True)
    )
    database.write(
        lambda s: service.create_operator(
            s, "b", PASSWORD, "admin", now, email="b@example.com", weekly_review=True
        )
    )
    subscribed = database.read(lambda s: [o.username for o in service.review_subscribers(s)])
    assert subscribed == ["b"]
    with pytest.raises(OperatorInvalid):
        database.write(lambda s: service.create_operator(s, "c", PASSWORD, "admin", now, email="x"))


def test_guessing_locks_the_account_for_a_while(database: Database) -> None:
    now = utc_now()
    database.write(lambda s: service.create_operator(s, "eve", PASSWORD, "admin", now))
    for _ in range(service.MAX_FAILED_SIGN_INS):
        assert database.write(lambda s: service.sign_in(s, "eve", "guess guess", now)) is None
    # Locked: even the right password is refused, until the lockout has passed.
    assert database.write(lambda s: service.sign_in(s, "eve", PASSWORD, now)) is None
    later = now + service.LOCKOUT + timedelta(seconds=1)
    assert database.write(lambda s: service.sign_in(s, "eve", PASSWORD, later)) is not None
    # A success starts the count again.
    for _ in range(service.MAX_FAILED_SIGN_INS - 1):
        database.write(lambda s: service.sign_in(s, "eve", "guess guess", later))
    assert database.write(lambda s: service.sign_in(s, "eve", PASSWORD, later)) is not None


def test_an_operator_changes_their_own_settings_and_password(database: Database) -> None:
    now = utc_now()
    ada = database.write(lambda s: service.create_operator(s, "ada2", PASSWORD, "admin", now)).id
    with pytest.raises(OperatorInvalid):  # the weekly review needs somewhere to go
        database.write(lambda s: service.set_preferences(s, ada, weekly_review=True))
    database.write(
        lambda s: service.set_preferences(
            s, ada, locale="zh", email="ada@example.com", weekly_review=True
        )
    )
    row = database.read(lambda s: service.account(s, ada))
    assert (row.locale, row.email, row.weekly_review) == ("zh_CN", "ada@example.com", True)
    database.write(lambda s: service.set_preferences(s, ada, email=""))  # no address: no review
    assert database.read(lambda s: service.account(s, ada)).weekly_review is False

    signed = database.write(lambda s: service.sign_in(s, "ada2", PASSWORD, now))
    assert signed is not None
    assert not database.write(lambda s: service.change_own_password(s, ada, "wrong", "x" * 12))
    assert database.read(lambda s: service.who(s, signed.token, now)) is not None
    assert database.write(lambda s: service.change_own_password(s, ada, PASSWORD, "n" * 12))
    assert database.read(lambda s: service.who(s, signed.token, now)) is None
    assert database.write(lambda s: service.sign_in(s, "ada2", "n" * 12, now)) is not None
