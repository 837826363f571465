"""Campaign results: outcomes inside the attribution window, and Welch intervals checked against scipy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select, update

from tenure.campaigns.models import Decision, Enrollment
from tenure.campaigns.results import results, welch
from tenure.config import Settings
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.campaigns.builders import NOW, add_users, campaign_doc, dispatcher, start, user_ids


def test_welch_matches_scipys_unequal_variance_t_test() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.2, 2.0, 300), rng.normal(1.0, 1.0, 200)
    lift = welch(a, b, "holdout", "revenue_per_user")
    reference = stats.ttest_ind(a, b, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert lift.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert (lift.ci_low, lift.ci_high) == (
        pytest.approx(interval.low),
        pytest.approx(interval.high),
    )


def test_constant_arms_carry_a_reason_instead_of_an_interval() -> None:
    lift = welch(np.ones(5), np.ones(5), "holdout", "conversion")
    assert (lift.difference, lift.reason) == (0.0, "zero variance")


def test_orders_count_only_inside_the_window_after_entry(
    settings: Settings, database: Database, warehouse: Warehouse
) -> None:
    ids = user_ids(8)
    orders = {
        "u000": NOW + timedelta(days=1),  # inside
        "u001": NOW + timedelta(days=8),  # after the 7-day window
        "u002": NOW - timedelta(days=1),  # before entering
        "u004": NOW + timedelta(days=6, hours=23),  # inside
    }
    add_users(warehouse, ids, orders=orders)
    start(database, campaign_doc(steps=[{"id": "x", "type": "exit"}]))
    dispatcher(settings, database, warehouse, {}).run_once(NOW)
    # Four treated, four held out, fixed here so the expected figures can be written out.
    database.write(lambda s: s.execute(
        update(Enrollment).where(Enrollment.user_id.in_(ids[4:])).values(arm="holdout")))  # fmt: skip

    found = results(database, warehouse, "welcome", datetime(2026, 7, 1, tzinfo=UTC))

    arms = {a.arm: (a.users, a.converted, a.revenue) for a in found.arms}
    assert arms == {"treatment": (4, 1, 10.0), "holdout": (4, 1, 10.0), "control": (0, 0, 0.0)}
    conversion = next(lift for lift in found.lifts if lift.metric == "conversion")
    assert conversion.difference == 0.0 and found.incremental_conversions == 0.0
    assert found.currency == "CNY"


def test_coupons_used_and_points_granted_are_the_cost_set_against_the_revenue(
    settings: Settings, database: Database, warehouse: Warehouse
) -> None:
    from tenure.promotions.service import reservations
    from tests.promotions.builders import reserve_body, stored

    ids = user_ids(2)
    add_users(warehouse, ids, orders={"u000": NOW + timedelta(days=1)})
    offer = database.write(lambda s: stored(
        s, kind="coupon", benefit={"type": "amount_off", "amount_minor": 500})).id  # fmt: skip
    steps = [{"id": "gift", "type": "coupon", "offer": offer},
             {"id": "bonus", "type": "points", "points": 300}]  # fmt: skip
    start(database, campaign_doc(steps=steps, holdout=0.0, global_control=False))
    dispatcher(settings, database, warehouse, {}).run_once(NOW)
    given = select(Decision.reason).where(Decision.action == "coupon", Decision.user_id == "u000")
    code = database.read(lambda s: str(s.scalars(given).one()))
    held = database.write(lambda s: reservations.reserve(
        s, reserve_body(user_id="u000", codes=[code]), "k1", "USD", NOW))  # fmt: skip
    database.write(lambda s: reservations.confirm(s, held.id, "order-1", NOW))

    costs = results(database, warehouse, "welcome", datetime(2026, 7, 1, tzinfo=UTC)).costs

    assert (costs.coupons_given, costs.coupons_used, costs.coupon_discount) == (2, 1, 5.0)
    # The default program: 100 points are worth 1 USD; two users got 300 each.
    assert (costs.points_granted, costs.points_value) == (600, 6.0)
    assert costs.roi is None and costs.reason is not None  # no holdout, nothing to measure
