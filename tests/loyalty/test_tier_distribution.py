"""Members per tier for the console: the program's tiers in order, the entry tier holding members
with no recorded tier, and codes the program no longer has."""

from __future__ import annotations

from sqlalchemy import update

from tenure.loyalty import points
from tenure.loyalty.models import Account
from tenure.loyalty.tiers import service as tiers
from tenure.storage.database import Database

from .builders import T0, configure, grant, read, write


def _set_tier(database: Database, user: str, code: str) -> None:
    write(
        database,
        lambda s, p: tiers.set_tier(s, p, points.open_account(s, user, T0), code, T0),
    )


def test_members_per_tier_in_program_order(database: Database) -> None:
    configure(database)
    for user in ("a", "b", "c", "d", "e"):
        grant(database, user, 10)
    _set_tier(database, "b", "gold")
    _set_tier(database, "c", "gold")
    _set_tier(database, "d", "silver")
    found = read(database, tiers.tier_distribution)
    assert [(t.code, t.members) for t in found] == [("member", 2), ("silver", 1), ("gold", 2)]
    assert [t.name for t in found] == ["Member", "Silver", "Gold"]
    assert sum(t.share for t in found) == 1.0
    assert found[2].share == 0.4


def test_a_retired_code_and_members_without_any_tier_are_listed_after(database: Database) -> None:
    # No tier at threshold 0: members without a recorded tier have none.
    configure(database, tiers=[{"code": "vip", "name": "VIP", "threshold": 1000}])
    for user in ("a", "b", "c"):
        grant(database, user, 10)
    database.write(
        lambda s: s.execute(update(Account).where(Account.user_id == "a").values(tier="old"))
    )
    _set_tier(database, "b", "vip")
    found = read(database, tiers.tier_distribution)
    assert [(t.code, t.name, t.members) for t in found] == [
        ("vip", "VIP", 1),
        ("old", None, 1),
        (None, None, 1),
    ]


def test_no_members(database: Database) -> None:
    found = read(database, tiers.tier_distribution)
    assert [(t.code, t.members, t.share) for t in found] == [
        ("member", 0, 0.0),
        ("silver", 0, 0.0),
        ("gold", 0, 0.0),
    ]
