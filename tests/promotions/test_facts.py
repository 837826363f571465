"""Customer facts: Tenure's own records first, the request's hints when those know nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tenure.loyalty import points
from tenure.loyalty.tiers import service as tiers
from tenure.promotions.facts import FactsHints, customer_facts
from tenure.segments.models import Segment, SegmentMember
from tenure.storage.database import Database
from tests.loyalty.builders import T0, configure, write

HINTS = FactsHints(is_new_customer=None, previous_orders=2, tier="silver", segments=("vip",))
TIERS = [
    {"code": "member", "name": "Member", "threshold": 0},
    {"code": "gold", "name": "Gold", "threshold": 100},
]


def _in_segment(session: Session, key: str, user_id: str) -> None:
    segment = Segment(
        key=key, name=key, rule="{}", refresh_minutes=60, created_at=T0, updated_at=T0,
        next_refresh_at=T0,
    )  # fmt: skip
    session.add(segment)
    session.flush()
    session.add(SegmentMember(segment_id=segment.id, user_id=user_id, since=T0))


class TestCustomerFacts:
    def test_the_hints_are_used_where_tenure_knows_nothing(self, database: Database) -> None:
        with database.session() as session:
            got = customer_facts(session, "u1", 0, HINTS)
        assert (got.previous_orders, got.is_new_customer, got.tier, got.segments) == (
            2,
            False,
            "silver",
            {"vip"},
        )

    def test_loyalty_and_segments_win_over_the_hints(self, database: Database) -> None:
        configure(database, tiers=TIERS)
        write(
            database,
            lambda s, p: tiers.set_tier(s, p, points.open_account(s, "u1", T0), "gold", T0),
        )
        with database.session() as session:
            _in_segment(session, "champions", "u1")
        with database.session() as session:
            got = customer_facts(session, "u1", 5, HINTS)
        assert (got.previous_orders, got.tier, got.segments) == (5, "gold", {"champions"})

    def test_facts_no_offer_needs_are_not_looked_up(self, database: Database) -> None:
        with database.session() as session:
            _in_segment(session, "champions", "u1")
        with database.session() as session:
            got = customer_facts(session, "u1", 0, HINTS, needed=frozenset({"tier"}))
        assert got.segments == {"vip"}

    def test_a_guest_has_no_customer_facts(self, database: Database) -> None:
        with database.session() as session:
            got = customer_facts(session, None, 0, HINTS)
        assert (got.is_guest, got.tier, got.segments) == (True, None, frozenset())

    def test_the_real_loyalty_and_segment_services_answer_for_an_unknown_customer(
        self, database: Database
    ) -> None:
        with database.session() as session:
            got = customer_facts(session, "nobody", 0, FactsHints(tier="silver", segments=("vip",)))
        assert (got.tier, got.segments) == ("silver", {"vip"})
