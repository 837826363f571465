"""Behaviour of the simulated shop: funnel, orders, refunds and agreement with the truth."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from tenure.simulate import DEFAULT_CHANNELS, SimulationConfig, simulate_shop

from .conftest import Run

END = pd.Timestamp("2024-12-31", tz="UTC")  # exclusive end of 365 days in a leap year


def _props(events: pd.DataFrame) -> pd.DataFrame:
    """Events with their JSON properties expanded into columns."""
    expanded = pd.DataFrame(list(events.properties.map(json.loads)), index=events.index)
    return events.join(expanded)


def _spearman(a: pd.Series, b: pd.Series) -> float:
    return float(np.corrcoef(a.rank(), b.rank())[0, 1])


def _orders(run: Run) -> pd.DataFrame:
    lines = run.df("order_lines")
    paid = lines[lines.status == "paid"]
    return paid.groupby("order_id").agg(
        user_id=("user_id", "first"),
        ts=("ts", "first"),
        total=("line_total", lambda s: sum(s, Decimal(0))),
        lines=("sku", "size"),
        categories=("category", "nunique"),
    )


def test_funnel_is_monotone(run: Run) -> None:
    counts = run.df("events").name.value_counts()
    views, adds = counts["Product Viewed"], counts["Product Added"]
    checkouts, orders = counts["Checkout Started"], counts["Order Completed"]
    assert views > adds > checkouts > orders > 0
    # Realistic drop-off rather than a funnel where everybody buys.
    assert orders / checkouts < 0.9
    assert adds / views < 0.5
    assert counts["Session Started"] > 3 * orders


def test_each_session_follows_the_funnel(run: Run) -> None:
    ev = _props(run.df("events"))
    ev = ev[ev.name != "Order Refunded"]
    per = pd.crosstab(ev.session_id, ev.name)
    assert (per["Session Started"] == 1).all()
    assert (per["Product Viewed"] >= per["Product Added"]).all()
    assert ((per["Checkout Started"] > 0) <= (per["Product Added"] > 0)).all()
    assert (per["Order Completed"] <= per["Checkout Started"]).all()
    # Products added to the cart were viewed in the same session first.
    views = ev[ev.name == "Product Viewed"].groupby("session_id").sku.agg(set).to_dict()
    added = ev[ev.name == "Product Added"].groupby("session_id").sku.agg(set).to_dict()
    assert all(skus <= views[s] for s, skus in added.items())
    first = ev.sort_values(["session_id", "ts"]).groupby("session_id").name.first()
    assert (first == "Session Started").all()


def test_order_completed_events_match_orders(run: Run) -> None:
    ev = _props(run.df("events"))
    done = ev[ev.name == "Order Completed"].set_index("order_id")
    orders = _orders(run)
    assert done.index.is_unique
    assert set(done.index) == set(orders.index)
    done = done.loc[orders.index]
    assert (done.ts == orders.ts).all()
    assert (done.total.map(lambda v: Decimal(str(v))) == orders.total).all()
    same_user = (done.user_id == orders.user_id) | (done.user_id.isna() & orders.user_id.isna())
    assert same_user.all()
    checkout = ev[(ev.name == "Checkout Started") & ev.order_id.notna()]
    assert set(checkout.order_id) == set(orders.index)


def test_line_totals_and_prices(run: Run) -> None:
    lines = run.df("order_lines")
    assert (lines.line_total == lines.quantity * lines.unit_price).all()
    items = run.df("items").set_index("sku")
    assert (lines.unit_price.to_numpy() == items.price.loc[lines.sku].to_numpy()).all()
    assert (lines.category.to_numpy() == items.category.loc[lines.sku].to_numpy()).all()
    assert set(lines.status) == {"paid", "refunded"}
    assert (lines.currency == "USD").all()
    paid = lines[lines.status == "paid"]
    assert (paid.quantity >= 1).all()
    assert paid.groupby("order_id").sku.nunique().between(1, 5).all()


def test_refunds_reference_orders_and_are_negative(run: Run) -> None:
    lines = run.df("order_lines")
    paid = lines[lines.status == "paid"]
    refunds = lines[lines.status == "refunded"]
    assert refunds.order_id.str.startswith("R").all()
    original = refunds.order_id.str[1:]
    assert set(original) <= set(paid.order_id)
    assert (refunds.quantity < 0).all()
    assert (refunds.line_total < 0).all()
    share = original.nunique() / paid.order_id.nunique()
    assert 0.02 < share < 0.07
    key = ["order_id", "sku"]
    mirror = refunds.assign(order_id=original).merge(paid, on=key, suffixes=("_r", "_p"))
    assert len(mirror) == len(refunds)
    assert (mirror.quantity_r == -mirror.quantity_p).all()
    assert (mirror.ts_r > mirror.ts_p + pd.Timedelta(days=1)).all()
    per_order = refunds.assign(order_id=original).groupby("order_id").size()
    assert (per_order == paid.groupby("order_id").size().loc[per_order.index]).all()
    ev = _props(run.df("events"))
    refunded_events = ev[ev.name == "Order Refunded"]
    assert set(refunded_events.order_id) == set(original)


def test_guest_orders_are_anonymous(run: Run) -> None:
    orders = _orders(run)
    guests = orders[orders.user_id.isna()]
    assert 0.005 < len(guests) / len(orders) < 0.05
    ev = _props(run.df("events"))
    done = ev[ev.name == "Order Completed"].set_index("order_id").loc[guests.index]
    assert done.user_id.isna().all()
    assert done.anonymous_id.notna().all()


def test_anonymous_browsing_and_identity_linking(run: Run) -> None:
    ev = run.df("events")
    users = run.df("users").set_index("user_id")
    signed = ev[ev.name == "Signed Up"].set_index("user_id")
    assert signed.index.is_unique
    assert set(signed.index) == set(users.index)
    assert signed.anonymous_id.notna().all()
    assert (signed.ts == users.signup_at.loc[signed.index]).all()
    linked = signed.anonymous_id.reset_index().set_index("anonymous_id").user_id
    anon_only = ev[ev.user_id.isna()]
    pre_signup = anon_only[anon_only.anonymous_id.isin(linked.index)]
    assert len(pre_signup) > 0
    signup_at = users.signup_at.loc[linked.loc[pre_signup.anonymous_id]].to_numpy()
    assert (pre_signup.ts.to_numpy() < signup_at).all()
    never = set(anon_only.anonymous_id) - set(linked.index)
    assert len(never) > 0.2 * len(users)


def test_truth_order_counts_and_first_order(run: Run) -> None:
    truth = run.df("truth/users").set_index("user_id")
    orders = _orders(run)
    observed = orders.groupby("user_id").size().reindex(truth.index, fill_value=0)
    assert (observed == truth.orders).all()
    first = orders.groupby("user_id").ts.min()
    assert (truth.first_order_at.loc[first.index] == first).all()
    assert truth.first_order_at[truth.orders == 0].isna().all()


def test_no_orders_after_dropout(run: Run) -> None:
    truth = run.df("truth/users").set_index("user_id")
    assert (truth.alive_at_end == truth.dropout_at.isna()).all()
    dropped = truth[~truth.alive_at_end]
    assert len(dropped) > 0.05 * len(truth)
    assert (dropped.orders >= 1).all()
    orders = _orders(run).dropna(subset=["user_id"])
    last = orders.groupby("user_id").ts.max()
    assert (last.loc[dropped.index] == dropped.dropout_at).all()
    # Churned users come back only rarely, and never to buy.
    ev = run.df("events")
    ev = ev[ev.user_id.isin(dropped.index) & (ev.name == "Session Started")]
    after = ev.ts.to_numpy() > dropped.dropout_at.loc[ev.user_id].to_numpy()
    assert after.mean() < 0.15


def test_observed_purchase_rate_tracks_latent_rate(run: Run) -> None:
    truth = run.df("truth/users").set_index("user_id")
    users = run.df("users").set_index("user_id")
    weeks = (END - users.signup_at.loc[truth.index]).dt.total_seconds() / (7 * 86400)
    exposed = weeks > 8
    observed = truth.orders[exposed] / weeks[exposed]
    assert _spearman(observed, truth.purchase_rate_per_week[exposed]) > 0.5
    # Population mean λ ≈ r / alpha scaled by the channel mix.
    cfg = run.config
    assert 0.6 < truth.purchase_rate_per_week.mean() / (cfg.r / cfg.alpha) < 1.5
    assert 0.6 < truth.dropout_p.mean() / (cfg.a / (cfg.a + cfg.b)) < 1.5


def test_order_values_follow_gamma_gamma(run: Run) -> None:
    truth = run.df("truth/users").set_index("user_id")
    orders = _orders(run).dropna(subset=["user_id"])
    orders = orders.assign(total=orders.total.astype(float))
    per_user = orders.groupby("user_id").total.agg(["mean", "size"])
    frequent = per_user[per_user["size"] >= 3]
    assert len(frequent) > 100
    assert _spearman(frequent["mean"], truth.mean_spend.loc[frequent.index]) > 0.5
    cfg = run.config
    expected = cfg.gg_p * cfg.gg_gamma / (cfg.gg_q - 1)
    assert 0.7 < orders.total.mean() / expected < 1.3


def test_channels_differ_in_quality(run: Run) -> None:
    truth = run.df("truth/users")
    by = truth.groupby("channel").agg(
        rate=("purchase_rate_per_week", "mean"),
        p=("dropout_p", "mean"),
        orders=("orders", "mean"),
    )
    assert by.rate["email"] > by.rate["social"] * 1.4
    assert by.p["social"] > by.p["referral"] * 1.4
    assert by.orders["email"] > by.orders["social"] * 1.3
    lines = run.df("order_lines")
    users = run.df("users").set_index("user_id")
    with_user = lines.dropna(subset=["user_id"])
    assert (with_user.channel.to_numpy() == users.channel.loc[with_user.user_id].to_numpy()).all()


def test_channel_multiplier_changes_behaviour(tmp_path: Path) -> None:
    boosted = tuple(
        replace(c, rate_multiplier=4.0, dropout_multiplier=0.2) if c.name == "email" else c
        for c in DEFAULT_CHANNELS
    )
    config = SimulationConfig(users=2000, seed=3, channels=boosted)
    simulate_shop(config, tmp_path)
    truth = pd.read_parquet(tmp_path / "truth" / "users.parquet")
    orders = truth.groupby("channel").orders.mean()
    others = orders.drop("email").max()
    assert orders["email"] > 2 * others


def test_seasonality_weekends_and_holidays(run: Run) -> None:
    users = run.df("users")
    weekend = users.signup_at.dt.day_of_week >= 5
    assert (weekend.sum() / 2) / ((~weekend).sum() / 5) > 1.1
    ev = run.df("events")
    done = ev[ev.name == "Order Completed"].ts
    black_friday = done.between(pd.Timestamp("2024-11-22", tz="UTC"), END).sum() / 40
    october = done.between(
        pd.Timestamp("2024-10-01", tz="UTC"), pd.Timestamp("2024-11-01", tz="UTC")
    )
    assert black_friday > 1.5 * october.sum() / 31


def test_baskets_have_co_purchase_structure(run: Run) -> None:
    orders = _orders(run)
    multi = orders[orders.lines >= 2]
    assert len(multi) > 200
    lines = run.df("order_lines")
    shares = lines[lines.status == "paid"].category.value_counts(normalize=True)
    independent = float((shares**2).sum())
    same_category = float((multi.categories < multi.lines).mean())
    assert same_category > 2 * independent
