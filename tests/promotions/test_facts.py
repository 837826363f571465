"""Customer facts: Tenure's own records first, the request's hints when those know nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tenure.promotions import facts as facts_module
from tenure.promotions.facts import FactsHints, customer_facts
from tenure.storage.database import Database

HINTS = FactsHints(is_new_customer=None, previous_orders=2, tier="silver", segments=("vip",))


@dataclass
class Tier:
    code: str


def _with(monkeypatch: pytest.MonkeyPatch, found: dict[str, Any]) -> None:
    monkeypatch.setattr(facts_module, "service_function", lambda module, name: found.get(name))


class TestCustomerFacts:
    def test_the_hints_are_used_when_the_other_domains_are_missing(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _with(monkeypatch, {})
        with database.session() as session:
            got = customer_facts(session, "u1", 0, HINTS)
        assert (got.previous_orders, got.is_new_customer, got.tier, got.segments) == (
            2,
            False,
            "silver",
            {"vip"},
        )

    def test_loyalty_and_segments_win_over_the_hints(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _with(
            monkeypatch,
            {"current_tier": lambda s, u: Tier("gold"), "segments_of": lambda s, u: ["champions"]},
        )
        with database.session() as session:
            got = customer_facts(session, "u1", 5, HINTS)
        assert (got.previous_orders, got.tier, got.segments) == (5, "gold", {"champions"})

    def test_a_failing_lookup_falls_back_and_leaves_the_transaction_usable(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(session: Session, user_id: str) -> str:
            session.connection().exec_driver_sql("SELECT * FROM no_such_table")
            return "never"

        _with(monkeypatch, {"current_tier": broken})
        with database.session() as session:
            got = customer_facts(session, "u1", 0, FactsHints(tier="bronze"))
            session.connection().exec_driver_sql("SELECT 1")
        assert (got.tier, got.is_new_customer) == ("bronze", True)

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
