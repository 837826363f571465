"""Points redeemed and coupon cost: metrics kept in the operational database, summed per unit
over its window after exposure, with the pre-exposure value for CUPED. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.experiments.analysis import analyse
from tenure.experiments.spec import parse
from tenure.loyalty import points as ledger
from tenure.loyalty.service import award_points
from tenure.promotions.service import reservations
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.experiments.builders import START, experiment_doc, exposure_rows, order_rows, write
from tests.promotions.builders import reserve_body, stored

UNITS = [f"u{i:02d}" for i in range(40)]
VARIANTS = ["control" if i % 2 else "gift" for i in range(40)]


@pytest.fixture
def shop(settings: Settings, database: Database) -> Warehouse:
    warehouse = Warehouse(settings)
    warehouse.init()
    orders = order_rows(["someone"], [START - timedelta(days=90)], [5.0], currency="USD")
    write(warehouse, exposure_rows("gift", UNITS, VARIANTS, [START] * 40), orders)

    def loyalty(session: Session) -> None:
        for i, (unit, variant) in enumerate(zip(UNITS, VARIANTS, strict=True)):
            award_points(session, unit, 1000, "welcome", f"w{unit}", START - timedelta(days=30))
            before = START - timedelta(days=3)
            ledger.spend(session, unit, 10 + i, "pre", f"pre{unit}", before)
            spent = 200 if variant == "gift" else 100
            ledger.spend(session, unit, spent, "gift", f"in{unit}", START + timedelta(days=1))
            ledger.spend(session, unit, 500, "late", f"late{unit}", START + timedelta(days=20))

    database.write(loyalty)

    def coupons(session: Session) -> None:
        stored(session, benefit={"type": "amount_off", "amount_minor": 1000})
        at = START + timedelta(days=2)
        for unit, variant in zip(UNITS, VARIANTS, strict=True):
            if variant != "gift":
                continue
            held = reservations.reserve(session, reserve_body(user_id=unit), f"r{unit}", "USD", at)
            reservations.confirm(session, held.id, f"order-{unit}", at)

    database.write(coupons)
    return warehouse


def test_points_and_coupon_cost_are_summed_per_unit_in_its_window(
    shop: Warehouse, database: Database
) -> None:
    doc = experiment_doc(metrics=["points_redeemed", "coupon_cost"])
    result = analyse(shop, parse(doc), "running", None, None, database=database)
    points, cost = result.metrics
    assert {v.variant: v.mean for v in points.variants} == {"control": 100.0, "gift": 200.0}
    assert {v.variant: v.mean for v in cost.variants} == {"control": 0.0, "gift": 10.0}
    assert points.cuped  # the spend three days before exposure is the covariate
    # CUPED by hand: θ pooled over both variants, the control's unadjusted mean as the base.
    post = np.array([200.0 if v == "gift" else 100.0 for v in VARIANTS])
    pre = np.array([10.0 + i for i in range(40)])
    gift = np.array([v == "gift" for v in VARIANTS])
    theta = np.cov(post, pre, ddof=1)[0, 1] / pre.var(ddof=1)
    adjusted = post - theta * pre
    lift = (adjusted[gift].mean() - adjusted[~gift].mean()) / post[~gift].mean()
    assert points.variants[1].lift == pytest.approx(lift, rel=1e-9)
    assert cost.inverse and cost.variants[1].reason == "baseline_zero"
