"""Simulate one fixed-size block of users: sessions to events, orders, refunds and truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tenure.simulate.activity import BROWSE, PURCHASE, SIGNUP, Activity, simulate_activity
from tenure.simulate.baskets import build_baskets, draw_browse_items
from tenure.simulate.calendar import US_PER_HOUR, Calendar
from tenure.simulate.campaign import CampaignTruth, campaign_rng
from tenure.simulate.catalog import Catalog
from tenure.simulate.config import SimulationConfig
from tenure.simulate.population import Population, draw_population, draw_visitors

Array = npt.NDArray[Any]

STREAM_BLOCK = 2
EVENT_NAMES = (
    "Session Started",
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Order Refunded",
    "Signed Up",
)
EV_SESSION, EV_VIEW, EV_ADD, EV_CHECKOUT, EV_ORDER, EV_REFUND, EV_SIGNUP = range(7)
MAX_VIEWS = 15
MAX_ADDS = 5
MAX_GAP_US = 300_000_000
US_PER_DAY = 24 * US_PER_HOUR
# Share of logged-in sessions on the device that carries the pre-signup anonymous_id.
SAME_DEVICE = 0.7


@dataclass(frozen=True)
class Block:
    """All data of one block with block-local ids (users, anonymous ids, sessions, orders)."""

    n_users: int
    n_visitors: int
    n_sessions: int
    n_orders: int
    n_refunds: int
    pop: Population
    signup_us: Array
    truth_orders: Array
    first_order_us: Array  # -1 = none
    dropout_us: Array  # -1 = alive at end
    # Events, sorted by (ts, session, position); ids are block-local, -1 = null.
    ev: dict[str, Array]
    # Order lines (paid and refund documents), sorted by (ts, order, document, line).
    lines: dict[str, Array]
    signup_counts: Array  # (days, channels) int64
    campaign: CampaignTruth | None = None


def _take(values: Array, idx: Array, fill: int = -1) -> Array:
    """values[idx] where idx >= 0, fill where idx == -1 (works on empty values)."""
    return np.append(values, fill)[idx]


def _funnel(
    rng: np.random.Generator, config: SimulationConfig, act: Activity, line_count: Array
) -> tuple[Array, Array, Array, Array]:
    """Views, adds, checkout and order counts per session (monotone by construction)."""
    s = act.kind.size
    is_order = act.slot >= 0
    lines = _take(line_count, act.slot, 0)
    browse_views = 1 + rng.poisson(1.6, s)
    buy_views = lines + rng.poisson(1.2, s)
    signup_views = rng.poisson(1.0, s)
    views = np.where(is_order, buy_views, np.where(act.kind == SIGNUP, signup_views, browse_views))
    views = np.minimum(views, MAX_VIEWS)
    has_add = (rng.random(s) < config.add_to_cart_rate) & (act.kind != SIGNUP) & ~is_order
    browse_adds = has_add * np.minimum(np.minimum(1 + rng.poisson(0.3, s), views), MAX_ADDS)
    adds = np.where(is_order, lines, browse_adds)
    abandoned = has_add & (rng.random(s) < config.checkout_rate)
    checkouts = (is_order | abandoned).astype(np.int64)
    return views.astype(np.int64), adds.astype(np.int64), checkouts, is_order.astype(np.int64)


def simulate_block(
    config: SimulationConfig, cal: Calendar, catalog: Catalog, index: int, n: int
) -> Block:
    """Simulate block `index` with n users; depends only on (seed, index, n, model)."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, STREAM_BLOCK, index]))
    pop = draw_population(rng, config, cal, catalog, n)
    m = round(n * config.anonymous_visitors_per_user)
    vis = draw_visitors(rng, config, cal, catalog, m)
    crng = campaign_rng(config, index) if config.campaign is not None else None
    act = simulate_activity(rng, config, cal, pop, vis, crng)
    fav = np.concatenate([pop.fav_category, vis.fav_category])
    channel = np.concatenate([pop.channel, vis.channel]).astype(np.int64)
    bsk = build_baskets(rng, catalog, act.slot_value, fav[act.slot_entity])
    views, adds, checkouts, orders = _funnel(rng, config, act, bsk.count)
    signups = (act.kind == SIGNUP).astype(np.int64)
    n_ev = 1 + views + adds + checkouts + orders + signups
    s_count = act.kind.size

    # Flatten sessions into events: [start][views][adds][checkout][order][signed up].
    ev_sess = np.repeat(np.arange(s_count), n_ev)
    ev_first = np.cumsum(n_ev) - n_ev
    pos = np.arange(ev_sess.size) - ev_first[ev_sess]
    b_view = 1 + views[ev_sess]
    b_add = b_view + adds[ev_sess]
    b_check = b_add + checkouts[ev_sess]
    b_order = b_check + orders[ev_sess]
    kind = np.select(
        [pos == 0, pos < b_view, pos < b_add, pos < b_check, pos < b_order],
        [EV_SESSION, EV_VIEW, EV_ADD, EV_CHECKOUT, EV_ORDER],
        EV_SIGNUP,
    )
    ev_slot = act.slot[ev_sess]

    # Purchase sessions view their basket first; other views follow the visitor's taste.
    v_sess = np.repeat(np.arange(s_count), views)
    v_first = np.cumsum(views) - views
    v_rank = np.arange(v_sess.size) - v_first[v_sess]
    v_slot = act.slot[v_sess]
    in_basket = v_rank < _take(bsk.count, v_slot, 0)
    line_of_view = np.where(in_basket, _take(bsk.start, v_slot, 0) + v_rank, -1)
    browsed = draw_browse_items(rng, catalog, fav[act.entity[v_sess]])
    v_sku = np.where(in_basket, _take(bsk.sku, line_of_view), browsed)
    is_item = (kind == EV_VIEW) | (kind == EV_ADD)
    k = np.where(kind == EV_VIEW, pos - 1, pos - b_view)
    sku = _take(v_sku, np.where(is_item, v_first[ev_sess] + k, -1))
    buy_add = (kind == EV_ADD) & (ev_slot >= 0)
    add_line = np.where(buy_add, _take(bsk.start, ev_slot, 0) + k, -1)
    qty = np.where(kind == EV_ADD, np.where(buy_add, _take(bsk.quantity, add_line), 1), -1)

    # Time within a session: dwell gaps (capped so a session stays under two hours).
    gap = np.minimum(np.rint((8.0 + rng.exponential(45.0, ev_sess.size)) * 1e6), MAX_GAP_US)
    gap = np.where(pos == 0, 0, gap).astype(np.int64)
    csum = np.cumsum(gap)
    offset = csum - csum[ev_first[ev_sess]]
    duration = offset[ev_first + n_ev - 1]
    signup_us = cal.to_us(pop.signup_h)
    is_signup = act.kind == SIGNUP
    start_us = np.where(
        is_signup,
        _take(signup_us, np.where(is_signup, act.entity, -1), 0) - duration,
        cal.to_us(np.nan_to_num(act.start_h)),
    )
    ts = start_us[ev_sess] + offset

    n_slots = act.slot_value.size
    slot_ts = np.zeros(n_slots, dtype=np.int64)
    is_ord = kind == EV_ORDER
    slot_ts[ev_slot[is_ord]] = ts[is_ord]
    line_total = bsk.quantity * catalog.price_cents[bsk.sku]
    order_total = np.rint(np.bincount(bsk.slot, weights=line_total, minlength=n_slots))
    order_total = order_total.astype(np.int64)
    is_add = kind == EV_ADD
    cart = np.bincount(
        ev_sess[is_add], minlength=s_count, weights=catalog.price_cents[sku[is_add]] * qty[is_add]
    )
    cart_value = np.rint(cart).astype(np.int64)

    # Identity: logged-in sessions carry user_id, anonymous_id only on the pre-signup device.
    logged_in = (act.kind == PURCHASE) | (act.kind == BROWSE)
    anon_s = ~logged_in | (rng.random(s_count) < SAME_DEVICE)
    ev_user = np.where(logged_in[ev_sess] | (kind == EV_SIGNUP), act.entity[ev_sess], -1)
    ev_anon = np.where(anon_s[ev_sess], act.entity[ev_sess], -1)

    # Refund documents follow a few days later; those beyond the period have not happened.
    end_us = int(cal.to_us(np.array([cal.hours]))[0])
    refunded = rng.random(n_slots) < config.refund_rate
    r_ts = slot_ts + np.rint((2.0 + rng.exponential(4.0, n_slots)) * US_PER_DAY).astype(np.int64)
    r_slot = np.flatnonzero(refunded & (r_ts < end_us))
    r_ent = act.slot_entity[r_slot]

    slot_rank = np.empty(n_slots, dtype=np.int64)
    slot_rank[np.lexsort((np.arange(n_slots), slot_ts))] = np.arange(n_slots)
    order_val = _take(order_total, ev_slot)
    value = np.select(
        [kind == EV_ORDER, (kind == EV_CHECKOUT) & (ev_slot >= 0), kind == EV_CHECKOUT],
        [order_val, order_val, cart_value[ev_sess]],
        -1,
    )
    with_order = (kind == EV_ORDER) | ((kind == EV_CHECKOUT) & (ev_slot >= 0))
    sess_rank = np.empty(s_count, dtype=np.int64)
    sess_rank[np.lexsort((np.arange(s_count), start_us))] = np.arange(s_count)
    n_ref = r_slot.size
    cols = {
        "kind": np.concatenate([kind, np.full(n_ref, EV_REFUND)]),
        "ts": np.concatenate([ts, r_ts[r_slot]]),
        "user": np.concatenate([ev_user, np.where(r_ent < n, r_ent, -1)]),
        "anon": np.concatenate([ev_anon, np.where(r_ent < n, -1, r_ent)]),
        "session": np.concatenate([sess_rank[ev_sess], np.full(n_ref, -1)]),
        "sku": np.concatenate([sku, np.full(n_ref, -1)]),
        "qty": np.concatenate([qty, np.full(n_ref, -1)]),
        "order": np.concatenate(
            [np.where(with_order, _take(slot_rank, ev_slot), -1), slot_rank[r_slot]]
        ),
        "value": np.concatenate([value, order_total[r_slot]]),
        "channel": np.concatenate(
            [np.where(kind == EV_SIGNUP, channel[act.entity[ev_sess]], -1), np.full(n_ref, -1)]
        ),
    }
    tie1 = np.concatenate([sess_rank[ev_sess], s_count + slot_rank[r_slot]])
    tie2 = np.concatenate([pos, np.zeros(n_ref, dtype=np.int64)])
    order = np.lexsort((tie2, tie1, cols["ts"]))
    ev = {name: col[order].astype(np.int64) for name, col in cols.items()}
    # Client delivery delay: usually ~1 s, sometimes an offline mobile batch much later.
    late = rng.random(order.size) < 0.02
    delay_s = 0.05 + rng.exponential(1.0, order.size) + late * rng.exponential(1800.0, order.size)
    ev["received"] = ev["ts"] + np.rint(delay_s * 1e6).astype(np.int64)

    lines = _order_lines(
        act, bsk.slot, bsk.sku, bsk.quantity, catalog, slot_ts, slot_rank, r_slot, r_ts, channel, n
    )
    truth_orders = np.asarray(act.n_orders, dtype=np.int64)
    first_order_us = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    dropout_us = np.full(n, -1, dtype=np.int64)
    user_slot = act.slot_entity < n
    np.minimum.at(first_order_us, act.slot_entity[user_slot], slot_ts[user_slot])
    np.maximum.at(dropout_us, act.slot_entity[user_slot], slot_ts[user_slot])
    first_order_us[truth_orders == 0] = -1
    dropout_us[~act.dropped] = -1

    day = np.minimum((pop.signup_h // 24).astype(np.int64), config.days - 1)
    n_ch = len(config.channels)
    signup_counts = np.bincount(day * n_ch + pop.channel, minlength=config.days * n_ch)
    return Block(
        n_users=n,
        n_visitors=m,
        n_sessions=s_count,
        n_orders=n_slots,
        n_refunds=n_ref,
        pop=pop,
        signup_us=signup_us,
        truth_orders=truth_orders,
        first_order_us=first_order_us,
        dropout_us=dropout_us,
        ev=ev,
        lines=lines,
        signup_counts=signup_counts.reshape(config.days, n_ch).astype(np.int64),
        campaign=act.campaign,
    )


def _order_lines(
    act: Activity,
    l_slot: Array,
    l_sku: Array,
    l_qty: Array,
    catalog: Catalog,
    slot_ts: Array,
    slot_rank: Array,
    r_slot: Array,
    r_ts: Array,
    channel: Array,
    n: int,
) -> dict[str, Array]:
    """Line-level paid orders plus negative refund documents, sorted by time."""
    refunded = np.zeros(slot_ts.size, dtype=bool)
    refunded[r_slot] = True
    r_line = refunded[l_slot]
    slot = np.concatenate([l_slot, l_slot[r_line]])
    is_refund = np.concatenate([np.zeros(l_slot.size, dtype=bool), np.ones(r_line.sum(), bool)])
    qty = np.concatenate([l_qty, -l_qty[r_line]])
    sku = np.concatenate([l_sku, l_sku[r_line]])
    ts = np.where(is_refund, r_ts[slot], slot_ts[slot])
    line_no = np.concatenate([np.arange(l_slot.size), np.arange(l_slot.size)[r_line]])
    ent = act.slot_entity[slot]
    cols = {
        "order": slot_rank[slot],
        "refund": is_refund.astype(np.int64),
        "user": np.where(ent < n, ent, -1),
        "ts": ts,
        "channel": channel[ent],
        "sku": sku,
        "qty": qty,
        "unit": catalog.price_cents[sku],
    }
    order = np.lexsort((line_no, cols["refund"], cols["order"], ts))
    return {name: np.asarray(col)[order].astype(np.int64) for name, col in cols.items()}
