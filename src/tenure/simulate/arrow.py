"""Arrow schemas and vectorised conversion of simulated blocks into output tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tenure.simulate.block import EV_CHECKOUT, EV_ORDER, EV_REFUND, EVENT_NAMES
from tenure.simulate.catalog import Catalog
from tenure.simulate.config import CAMPAIGN_STAGES, COUNTRIES, SimulationConfig
from tenure.simulate.population import DEVICES, GENDERS

Array = npt.NDArray[Any]

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
USERS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("signup_at", TS),
        ("channel", pa.string()),
        ("country", pa.string()),
        ("birthday", pa.date32()),
        ("attributes", pa.string()),
    ]
)
ITEMS_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("price", MONEY),
        ("attributes", pa.string()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("name", pa.string()),
        ("ts", TS),
        ("properties", pa.string()),
        ("received_at", TS),
    ]
)
ORDER_LINES_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("user_id", pa.string()),
        ("ts", TS),
        ("status", pa.string()),
        ("currency", pa.string()),
        ("channel", pa.string()),
        ("sku", pa.string()),
        ("quantity", pa.int64()),
        ("unit_price", MONEY),
        ("line_total", MONEY),
        ("category", pa.string()),
    ]
)
SPEND_SCHEMA = pa.schema([("date", pa.date32()), ("channel", pa.string()), ("spend", MONEY)])
TRUTH_USERS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("channel", pa.string()),
        ("purchase_rate_per_week", pa.float64()),
        ("dropout_p", pa.float64()),
        ("dropout_at", TS),
        ("alive_at_end", pa.bool_()),
        ("mean_spend", pa.float64()),
        ("orders", pa.int64()),
        ("first_order_at", TS),
        # The category the user mostly browses and buys from: what a recommender should learn.
        ("favourite_category", pa.string()),
    ]
)
CAMPAIGN_TRUTH_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("treated", pa.bool_()),
        ("eligible", pa.bool_()),
        ("stage", pa.string()),
        ("true_rate_multiplier", pa.float64()),
        ("expected_orders_control", pa.float64()),
        ("expected_incremental_orders", pa.float64()),
    ]
)
ITEM_PARTNERS_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("partner_sku", pa.string()),
        ("kind", pa.string()),
        ("rank", pa.int64()),
    ]
)
PARTNER_KINDS = ("same_category", "complement")
ID_WIDTHS = {"a": 9, "s": 10, "o": 9, "e": 10}


def cents_to_decimal(cents: Array) -> pa.Array:
    """Exact decimal128(18, 2) array from integer cents (two's complement, little endian)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    buf = np.empty((cents.size, 2), dtype=np.int64)
    buf[:, 0] = cents
    buf[:, 1] = cents >> 63
    return pa.Array.from_buffers(MONEY, cents.size, [None, pa.py_buffer(buf)])


def format_ids(prefix: str, numbers: Array, width: int) -> pa.Array:
    """prefix + zero-padded (number + 1); negative numbers become null."""
    numbers = np.asarray(numbers, dtype=np.int64)
    arr = pa.array(numbers + 1, mask=numbers < 0)
    padded = pc.utf8_lpad(pc.cast(arr, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, padded, "")


def format_money(cents: Array) -> pa.Array:
    """Non-negative cents as "123.45" strings; negative cents become null."""
    cents = np.asarray(cents, dtype=np.int64)
    mask = cents < 0
    whole = pc.cast(pa.array(cents // 100, mask=mask), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), width=2, padding="0")
    return pc.binary_join_element_wise(whole, frac, ".")


def lookup(names: list[str] | tuple[str, ...], codes: Array) -> pa.Array:
    """String per code from a small table; negative codes become null."""
    codes = np.asarray(codes, dtype=np.int64)
    return pa.array(list(names), pa.string()).take(pa.array(codes, mask=codes < 0))


def timestamps(us: Array) -> pa.Array:
    """UTC microsecond timestamps; negative values become null."""
    us = np.asarray(us, dtype=np.int64)
    return pa.array(us, type=TS, mask=us < 0)


def constant(value: str, n: int) -> pa.Array:
    """A string column repeating one value."""
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))


def _join(*parts: Any) -> pa.Array:
    """Concatenate strings element-wise; null if any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def user_ids(numbers: Array, width: int) -> pa.Array:
    """User ids "u000001" for global user numbers (0-based); -1 becomes null."""
    return format_ids("u", numbers, width)


def users_table(
    cfg: SimulationConfig,
    uid: Array,
    width: int,
    signup_us: Array,
    channel: Array,
    country: Array,
    birthday: Array,
    birthday_valid: Array,
    gender: Array,
    opt_in: Array,
    device: Array,
) -> pa.Table:
    """users.parquet rows."""
    attrs = _join(
        '{"gender":"',
        lookup(GENDERS, gender),
        '","email_opt_in":',
        lookup(("false", "true"), opt_in.astype(np.int64)),
        ',"device":"',
        lookup(DEVICES, device),
        '"}',
    )
    return pa.Table.from_arrays(
        [
            user_ids(uid, width),
            timestamps(signup_us),
            lookup([c.name for c in cfg.channels], channel),
            lookup([c for c, _ in COUNTRIES], country),
            pa.array(birthday.astype(np.int32), type=pa.date32(), mask=~birthday_valid),
            attrs,
        ],
        schema=USERS_SCHEMA,
    )


def truth_table(
    cfg: SimulationConfig,
    uid: Array,
    width: int,
    channel: Array,
    rate: Array,
    dropout_p: Array,
    dropout_us: Array,
    mean_spend: Array,
    orders: Array,
    first_order_us: Array,
    favourite_category: pa.Array,
) -> pa.Table:
    """truth/users.parquet rows."""
    return pa.Table.from_arrays(
        [
            user_ids(uid, width),
            lookup([c.name for c in cfg.channels], channel),
            pa.array(rate, pa.float64()),
            pa.array(dropout_p, pa.float64()),
            timestamps(dropout_us),
            pa.array(dropout_us < 0, pa.bool_()),
            pa.array(mean_spend, pa.float64()),
            pa.array(orders, pa.int64()),
            timestamps(first_order_us),
            favourite_category,
        ],
        schema=TRUTH_USERS_SCHEMA,
    )


def campaign_truth_table(
    uid: Array,
    width: int,
    treated: Array,
    stage: Array,
    multiplier: Array,
    expected_control: Array,
    expected_incremental: Array,
) -> pa.Table:
    """truth/campaign_truth.parquet rows."""
    return pa.Table.from_arrays(
        [
            user_ids(uid, width),
            pa.array(treated, pa.bool_()),
            pa.array(stage != 0, pa.bool_()),
            lookup(CAMPAIGN_STAGES, stage),
            pa.array(multiplier, pa.float64()),
            pa.array(expected_control, pa.float64()),
            pa.array(expected_incremental, pa.float64()),
        ],
        schema=CAMPAIGN_TRUTH_SCHEMA,
    )


def events_table(
    cfg: SimulationConfig, catalog: Catalog, ev: dict[str, Array], first_event: int, width: int
) -> pa.Table:
    """events.parquet rows; properties are JSON objects built column-wise."""
    n = ev["kind"].size
    kind = ev["kind"]
    order_id = format_ids("o", ev["order"], ID_WIDTHS["o"])
    sku = ev["sku"]
    cat = np.where(sku >= 0, catalog.category[np.maximum(sku, 0)], -1)
    price = np.where(sku >= 0, catalog.price_cents[np.maximum(sku, 0)], -1)
    total_key = np.select([kind == EV_CHECKOUT, kind == EV_ORDER, kind == EV_REFUND], [0, 1, 1], -1)
    total_key = np.where(ev["value"] >= 0, total_key, -1)
    fragments = [
        _join('"session_id":"', format_ids("s", ev["session"], ID_WIDTHS["s"]), '"'),
        _join('"order_id":"', order_id, '"'),
        _join('"refund_id":"R', pc.if_else(pa.array(kind == EV_REFUND), order_id, None), '"'),
        _join(
            '"sku":"',
            lookup(catalog.skus, sku),
            '","category":"',
            lookup(catalog.category_names, cat),
            '","price":',
            format_money(price),
        ),
        _join('"quantity":', pc.cast(pa.array(ev["qty"], mask=ev["qty"] < 0), pa.string())),
        _join(
            '"',
            lookup(("value", "total"), total_key),
            '":',
            format_money(ev["value"]),
            f',"currency":"{cfg.currency}"',
        ),
        _join('"channel":"', lookup([c.name for c in cfg.channels], ev["channel"]), '"'),
    ]
    body = pc.binary_join_element_wise(*fragments, ",", null_handling="skip")
    return pa.Table.from_arrays(
        [
            format_ids("e", first_event + np.arange(n), ID_WIDTHS["e"]),
            user_ids(ev["user"], width),
            format_ids("a", ev["anon"], ID_WIDTHS["a"]),
            lookup(EVENT_NAMES, kind),
            timestamps(ev["ts"]),
            _join("{", body, "}"),
            timestamps(ev["received"]),
        ],
        schema=EVENTS_SCHEMA,
    )


def order_lines_table(
    cfg: SimulationConfig, catalog: Catalog, lines: dict[str, Array], width: int
) -> pa.Table:
    """order_lines.parquet rows: paid lines and negative refund-document lines."""
    n = lines["order"].size
    refund = lines["refund"].astype(bool)
    oid = format_ids("o", lines["order"], ID_WIDTHS["o"])
    oid = pc.if_else(pa.array(refund), _join("R", oid), oid)
    return pa.Table.from_arrays(
        [
            oid,
            user_ids(lines["user"], width),
            timestamps(lines["ts"]),
            lookup(("paid", "refunded"), lines["refund"]),
            constant(cfg.currency, n),
            lookup([c.name for c in cfg.channels], lines["channel"]),
            lookup(catalog.skus, lines["sku"]),
            pa.array(lines["qty"], pa.int64()),
            cents_to_decimal(lines["unit"]),
            cents_to_decimal(lines["qty"] * lines["unit"]),
            lookup(catalog.category_names, catalog.category[lines["sku"]]),
        ],
        schema=ORDER_LINES_SCHEMA,
    )


def items_table(catalog: Catalog) -> pa.Table:
    """items.parquet rows."""
    return pa.Table.from_arrays(
        [
            pa.array(catalog.skus, pa.string()),
            pa.array(catalog.names, pa.string()),
            lookup(catalog.category_names, catalog.category),
            cents_to_decimal(catalog.price_cents),
            pa.array(catalog.attributes, pa.string()),
        ],
        schema=ITEMS_SCHEMA,
    )


def item_partners_table(catalog: Catalog) -> pa.Table:
    """truth/item_partners.parquet rows: the planted "bought together" partners of every item.

    Rank is the partner's slot in Catalog.partners (1 and 2: same category, 3: a complementary
    category). A basket's partner line picks a slot uniformly, so a partner drawn into both
    same-category slots is twice as likely; it is listed once, at its first rank.
    """
    partners = np.asarray(catalog.partners, dtype=np.int64)
    items, slots = partners.shape
    item = np.repeat(np.arange(items, dtype=np.int64), slots)
    partner = partners.ravel()
    slot = np.tile(np.arange(slots, dtype=np.int64), items)
    # Row-major order keeps each item's slots in rank order, so return_index finds the first.
    _, first = np.unique(item * items + partner, return_index=True)
    keep = np.sort(first)
    item, partner, slot = item[keep], partner[keep], slot[keep]
    same = catalog.category[partner] == catalog.category[item]
    return pa.Table.from_arrays(
        [
            lookup(catalog.skus, item),
            lookup(catalog.skus, partner),
            lookup(PARTNER_KINDS, np.where(same, 0, 1)),
            pa.array(slot + 1, pa.int64()),
        ],
        schema=ITEM_PARTNERS_SCHEMA,
    )


def spend_table(cfg: SimulationConfig, start_epoch_day: int, spend_cents: Array) -> pa.Table:
    """spend.parquet rows: one per (day, channel)."""
    days, n_ch = spend_cents.shape
    day = np.repeat(np.arange(days), n_ch) + start_epoch_day
    ch = np.tile(np.arange(n_ch), days)
    return pa.Table.from_arrays(
        [
            pa.array(day.astype(np.int32), pa.date32()),
            lookup([c.name for c in cfg.channels], ch),
            cents_to_decimal(spend_cents.ravel()),
        ],
        schema=SPEND_SCHEMA,
    )
