"""Drive block simulation chunk by chunk and stream every table to Parquet."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.simulate import arrow
from tenure.simulate.block import Block, simulate_block
from tenure.simulate.calendar import Calendar
from tenure.simulate.catalog import build_catalog
from tenure.simulate.config import BLOCK_USERS, SimulationConfig, SimulationSummary

Array = npt.NDArray[Any]
logger = logging.getLogger(__name__)

STREAM_SPEND = 3
SPEND_NOISE_SIGMA = 0.15
STREAMED = {
    "users": ("users.parquet", arrow.USERS_SCHEMA),
    "events": ("events.parquet", arrow.EVENTS_SCHEMA),
    "order_lines": ("order_lines.parquet", arrow.ORDER_LINES_SCHEMA),
    "truth_users": ("truth/users.parquet", arrow.TRUTH_USERS_SCHEMA),
}
# Written once, from the catalogue: the planted "bought together" partners of every item.
ITEM_PARTNERS_TRUTH = "truth/item_partners.parquet"
# Written only when the config has a campaign.
CAMPAIGN_TRUTH = ("truth/campaign_truth.parquet", arrow.CAMPAIGN_TRUTH_SCHEMA)


@dataclass
class _Counters:
    """Running global offsets; blocks are processed in order, so ids never depend on chunks."""

    users: int = 0
    anon: int = 0
    sessions: int = 0
    orders: int = 0
    events: int = 0
    refunds: int = 0
    lines: int = 0
    visitors: int = 0
    net_cents: int = 0
    gross_cents: int = 0
    signups: Array = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))


def _shift(values: Array, offset: int) -> Array:
    """Add a global offset to local ids, keeping -1 (null)."""
    return np.where(values >= 0, values + offset, -1)


def _concat(blocks: list[Block], counters: _Counters) -> tuple[dict[str, Array], ...]:
    """Globalise block-local ids and concatenate a chunk's blocks."""
    users: dict[str, list[Array]] = {}
    events: dict[str, list[Array]] = {}
    lines: dict[str, list[Array]] = {}

    def put(target: dict[str, list[Array]], name: str, value: Array) -> None:
        target.setdefault(name, []).append(value)

    for b in blocks:
        p = b.pop
        for name, value in (
            ("uid", counters.users + np.arange(b.n_users)),
            ("signup_us", b.signup_us),
            ("channel", p.channel),
            ("country", p.country),
            ("birthday", p.birthday_day),
            ("birthday_valid", p.birthday_valid),
            ("gender", p.gender),
            ("opt_in", p.email_opt_in),
            ("device", p.device),
            ("rate", p.rate),
            ("dropout_p", p.dropout_p),
            ("mean_spend", p.mean_spend),
            ("fav_category", p.fav_category),
            ("orders", b.truth_orders),
            ("first_order_us", b.first_order_us),
            ("dropout_us", b.dropout_us),
        ):
            put(users, name, value)
        if b.campaign is not None:
            c = b.campaign
            for name, value in (
                ("c_treated", c.treated),
                ("c_stage", c.stage),
                ("c_multiplier", c.multiplier),
                ("c_control", c.expected_control),
                ("c_incremental", c.expected_incremental),
            ):
                put(users, name, value)
        ev = dict(b.ev)
        ev["user"] = _shift(ev["user"], counters.users)
        ev["anon"] = _shift(ev["anon"], counters.anon)
        ev["session"] = _shift(ev["session"], counters.sessions)
        ev["order"] = _shift(ev["order"], counters.orders)
        for name, value in ev.items():
            put(events, name, value)
        ln = dict(b.lines)
        ln["user"] = _shift(ln["user"], counters.users)
        ln["order"] = ln["order"] + counters.orders
        for name, value in ln.items():
            put(lines, name, value)
        counters.net_cents += int((ln["qty"] * ln["unit"]).sum())
        counters.gross_cents += int((ln["qty"] * ln["unit"])[ln["refund"] == 0].sum())
        counters.users += b.n_users
        counters.anon += b.n_users + b.n_visitors
        counters.visitors += b.n_visitors
        counters.sessions += b.n_sessions
        counters.orders += b.n_orders
        counters.refunds += b.n_refunds
        counters.lines += ln["order"].size
        counters.signups = counters.signups + b.signup_counts
    return tuple({k: np.concatenate(v) for k, v in d.items()} for d in (users, events, lines))


def _spend_cents(config: SimulationConfig, signups: Array) -> Array:
    """Daily spend = CAC × signups × mean-one lognormal noise (bids and pacing vary)."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, STREAM_SPEND]))
    noise = rng.lognormal(-(SPEND_NOISE_SIGMA**2) / 2, SPEND_NOISE_SIGMA, signups.shape)
    cac = np.array([int(c.cac * 100) for c in config.channels], dtype=np.float64)
    return np.rint(signups * cac[None, :] * noise).astype(np.int64)


def simulate_shop(
    config: SimulationConfig, out_dir: Path, progress: Callable[[int, int], None] | None = None
) -> SimulationSummary:
    """Simulate a shop and write users, items, events, order lines, spend and truth
    (users, params, item partners and, with a campaign, campaign truth)."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    cal = Calendar(config)
    catalog = build_catalog(config)
    width = max(6, len(str(config.users)))
    files = {name: out_dir / rel for name, (rel, _) in STREAMED.items()}
    files["items"] = out_dir / "items.parquet"
    files["spend"] = out_dir / "spend.parquet"
    files["truth_params"] = out_dir / "truth" / "params.json"
    files["truth_item_partners"] = out_dir / ITEM_PARTNERS_TRUTH
    streamed = dict(STREAMED)
    if config.campaign is not None:
        streamed["truth_campaign"] = CAMPAIGN_TRUTH
        files["truth_campaign"] = out_dir / CAMPAIGN_TRUTH[0]
    pq.write_table(arrow.items_table(catalog), files["items"])
    pq.write_table(arrow.item_partners_table(catalog), files["truth_item_partners"])

    counters = _Counters(signups=np.zeros((config.days, len(config.channels)), dtype=np.int64))
    chunk = config.effective_chunk_users
    writers = {
        name: pq.ParquetWriter(files[name], schema) for name, (_, schema) in streamed.items()
    }
    try:
        for chunk_start in range(0, config.users, chunk):
            chunk_end = min(config.users, chunk_start + chunk)
            blocks = [
                simulate_block(
                    config, cal, catalog, first // BLOCK_USERS, min(BLOCK_USERS, chunk_end - first)
                )
                for first in range(chunk_start, chunk_end, BLOCK_USERS)
            ]
            first_event = counters.events
            users, events, lines = _concat(blocks, counters)
            del blocks
            tables: dict[str, pa.Table] = {
                "users": arrow.users_table(
                    config,
                    users["uid"],
                    width,
                    users["signup_us"],
                    users["channel"],
                    users["country"],
                    users["birthday"],
                    users["birthday_valid"],
                    users["gender"],
                    users["opt_in"],
                    users["device"],
                ),
                "truth_users": arrow.truth_table(
                    config,
                    users["uid"],
                    width,
                    users["channel"],
                    users["rate"],
                    users["dropout_p"],
                    users["dropout_us"],
                    users["mean_spend"],
                    users["orders"],
                    users["first_order_us"],
                    arrow.lookup(catalog.category_names, users["fav_category"]),
                ),
                "events": arrow.events_table(config, catalog, events, first_event, width),
                "order_lines": arrow.order_lines_table(config, catalog, lines, width),
            }
            if config.campaign is not None:
                tables["truth_campaign"] = arrow.campaign_truth_table(
                    users["uid"],
                    width,
                    users["c_treated"],
                    users["c_stage"],
                    users["c_multiplier"],
                    users["c_control"],
                    users["c_incremental"],
                )
            counters.events += tables["events"].num_rows
            for name, table in tables.items():
                writers[name].write_table(table)
            logger.info(
                "simulated users %d-%d: %d events so far", chunk_start, chunk_end, counters.events
            )
            if progress is not None:
                progress(chunk_end, config.users)
    finally:
        for writer in writers.values():
            writer.close()

    spend = _spend_cents(config, counters.signups)
    pq.write_table(arrow.spend_table(config, cal.start_epoch_day, spend), files["spend"])
    params = config.params()
    params["generated"] = {
        "anonymous_visitors": counters.visitors,
        "events": counters.events,
        "orders": counters.orders,
        "refunds": counters.refunds,
    }
    files["truth_params"].write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    logger.info(
        "simulation finished in %.1f s: %d users, %d events, %d orders",
        time.perf_counter() - started,
        config.users,
        counters.events,
        counters.orders,
    )
    return SimulationSummary(
        out_dir=out_dir,
        users=config.users,
        events=counters.events,
        orders=counters.orders,
        order_lines=counters.lines,
        refunds=counters.refunds,
        revenue=Decimal(counters.net_cents).scaleb(-2),
        files=files,
        anonymous_visitors=counters.visitors,
        gross_revenue=Decimal(counters.gross_cents).scaleb(-2),
    )
