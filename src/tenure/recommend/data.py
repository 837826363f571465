"""What the recommenders learn from, read from the warehouse once: purchases, product events,
baskets and the catalogue, encoded as integer codes so every model works on sparse matrices.

Kept out: refund documents and what they gave back, cancelled orders, free lines (gifts with
purchase, price 0) and SKUs the shop says are not products (`TENURE_RECOMMEND_EXCLUDE_SKUS`:
postage, fees, gift cards). A user's purchase of an item is dropped when it was all returned.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from ibis.backends import BaseBackend
from scipy import sparse

from tenure.storage.jsonfields import json_get

# A view says less than a cart, a cart less than an order (the weights OTTO's winners used).
EVENT_WEIGHTS = {"Product Viewed": 1.0, "Product Clicked": 1.0, "Product Added": 3.0}
ORDER_WEIGHT = 6.0
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


def exclusion(patterns: str) -> re.Pattern[str] | None:
    """One regular expression for comma-separated SKU globs (`POST, gift_*`), or None."""
    globs = [p.strip() for p in patterns.split(",") if p.strip()]
    if not globs:
        return None
    return re.compile("|".join(fnmatch.translate(g) for g in globs), re.IGNORECASE)


@dataclass(frozen=True)
class Catalogue:
    """Every item that can be recommended, by code: SKU, name, category and the flags."""

    skus: npt.NDArray[np.object_]
    names: npt.NDArray[np.object_]
    categories: npt.NDArray[np.object_]  # "" when unknown
    active: npt.NDArray[np.bool_]  # neither inactive nor out of stock
    repeatable: npt.NDArray[np.bool_]  # a consumable bought again (coffee, refills)

    @property
    def size(self) -> int:
        return int(self.skus.size)


@dataclass(frozen=True)
class Interactions:
    """Users × items: the weighted signal, purchases alone, and the baskets."""

    users: npt.NDArray[np.object_]  # code -> user id
    catalogue: Catalogue
    signal: sparse.csr_matrix  # users × items, ORDER_WEIGHT per order + event weights
    bought: sparse.csr_matrix  # users × items, orders containing the item (returns removed)
    baskets: sparse.csr_matrix  # orders × items, 1 when the order has the item
    events: pd.DataFrame  # user (code), item (code), ts (seconds), kind (0 view, 1 cart, 2 order)
    first_items: npt.NDArray[np.int32]  # the items of every customer's first order
    country: npt.NDArray[np.object_]  # per user code, "" when unknown
    end: datetime | None  # the newest interaction

    @property
    def empty(self) -> bool:
        return self.bought.nnz == 0 and self.signal.nnz == 0

    @cached_property
    def excluded(self) -> sparse.csr_matrix:
        """Per user, the items not to show again: bought, unless the item is repeatable."""
        bought = self.bought.tocsr().astype(np.float32, copy=True)
        bought.data[:] = 1.0
        keep = sparse.diags((~self.catalogue.repeatable).astype(np.float32))
        out = (bought @ keep).tocsr()
        out.eliminate_zeros()
        return out

    @cached_property
    def history(self) -> sparse.csr_matrix:
        """A user's weight on each item: log(1 + signal)."""
        out = self.signal.tocsr().astype(np.float32, copy=True)
        out.data = np.log1p(out.data)
        return out


def _flag(value: Any, default: bool) -> bool:
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return default


def _catalogue_flags(items: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Active and repeatable from the items' attributes (`active`, `in_stock`, `stock`,
    `consumable` or `repeatable`); an item the shop says nothing about is active."""
    active = np.ones(len(items), dtype=bool)
    repeat = np.zeros(len(items), dtype=bool)
    for i, doc in enumerate(items["attributes"].tolist()):
        if not isinstance(doc, str) or not doc.startswith("{"):
            continue
        try:
            attrs = orjson.loads(doc)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(attrs, dict):
            continue
        stock = attrs.get("stock")
        in_stock = not (
            isinstance(stock, int | float) and not isinstance(stock, bool) and stock <= 0
        )
        active[i] = (
            _flag(attrs.get("active"), True) and _flag(attrs.get("in_stock"), True) and in_stock
        )
        repeat[i] = _flag(attrs.get("consumable"), False) or _flag(attrs.get("repeatable"), False)
    return active, repeat


def order_lines(con: BaseBackend, before: datetime | None) -> ir.Table:
    """Order lines joined to their order (user, time, status), before `before` (None: all)."""
    orders = con.table("orders")
    if before is not None:
        orders = orders.filter(orders.ts < before)
    lines = con.table("order_lines")
    joined = lines.join(orders, lines.order_id == orders.order_id)
    return joined.select(
        order_id=lines.order_id,
        sku=lines.sku,
        quantity=lines.quantity,
        unit_price=lines.unit_price,
        category=lines.category,
        user_id=orders.user_id,
        ts=orders.ts,
        status=orders.status,
    ).filter(lines.sku.notnull())


def _purchases(con: BaseBackend, before: datetime | None) -> pd.DataFrame:
    """Per user and SKU: paid orders with it, quantity bought and returned, the last time."""
    rows = order_lines(con, before)
    rows = rows.filter(rows.user_id.notnull())
    paid = (rows.status == "paid") & (rows.quantity > 0) & (rows.unit_price > 0)
    refund = (rows.status == "refunded") & (rows.quantity < 0)
    grouped = rows.filter(paid | refund).group_by(["user_id", "sku"])
    return grouped.aggregate(
        orders=rows.order_id.nunique(where=paid),
        bought=rows.quantity.sum(where=paid),
        returned=(-rows.quantity).sum(where=refund),
        last=rows.ts.max(where=paid),
    ).execute()


def _baskets(con: BaseBackend, before: datetime | None) -> pd.DataFrame:
    """The distinct SKUs of every paid order (guests' too): order_id, sku, category, user, ts."""
    rows = order_lines(con, before)
    rows = rows.filter((rows.status == "paid") & (rows.quantity > 0) & (rows.unit_price > 0))
    return (
        rows.group_by(["order_id", "sku"])
        .aggregate(category=rows.category.max(), user_id=rows.user_id.max(), ts=rows.ts.max())
        .execute()
    )


def _events(con: BaseBackend, before: datetime | None, since: datetime | None) -> pd.DataFrame:
    """Known users' product views and carts: user_id, sku, ts, name."""
    events = con.table("events")
    events = events.filter(events.name.isin(list(EVENT_WEIGHTS)) & events.user_id.notnull())
    if before is not None:
        events = events.filter(events.ts < before)
    if since is not None:
        events = events.filter(events.ts >= since)
    backend = con.name
    sku = ibis.coalesce(
        json_get(events.properties, "sku", backend),
        json_get(events.properties, "product_id", backend),
    )
    picked = events.select(user_id=events.user_id, sku=sku, ts=events.ts, name=events.name)
    return picked.filter(picked.sku.notnull()).execute()


@dataclass(frozen=True)
class Raw:
    """The warehouse's answers before encoding (kept apart so a test can build one by hand)."""

    purchases: pd.DataFrame
    baskets: pd.DataFrame
    events: pd.DataFrame
    items: pd.DataFrame
    countries: pd.DataFrame


def read_raw(con: BaseBackend, before: datetime | None = None, event_days: int = 30) -> Raw:
    """Everything the models need, as of `before` (exclusive; None: all)."""
    end = before
    if end is None:
        newest = con.table("events").ts.max().execute()
        end = None if newest is None or pd.isna(newest) else pd.Timestamp(newest).to_pydatetime()
    since = None if end is None else end - pd.Timedelta(days=event_days).to_pytimedelta()
    users = con.table("users")
    return Raw(
        purchases=_purchases(con, before),
        baskets=_baskets(con, before),
        events=_events(con, before, since),
        items=con.table("items").select("sku", "name", "category", "attributes").execute(),
        countries=users.select("user_id", "country").execute(),
    )


def _catalogue(raw: Raw, exclude: re.Pattern[str] | None) -> Catalogue:
    items = raw.items.drop_duplicates("sku").set_index("sku")
    seen = pd.concat(
        [items.index.to_series(), raw.purchases["sku"], raw.baskets["sku"], raw.events["sku"]]
    ).astype(str)
    skus = pd.unique(seen)
    if exclude is not None:
        skus = np.array([s for s in skus if not exclude.fullmatch(s)], dtype=object)
    # Byte order, so the served file can binary-search the SKUs as UTF-8 (artefact.find).
    skus = np.array(sorted((str(s) for s in skus), key=str.encode), dtype=object)
    known = items.reindex(skus)
    line_category = raw.baskets.dropna(subset=["category"]).groupby("sku")["category"].first()
    category = known["category"].fillna(line_category.reindex(skus)).fillna("")
    active, repeat = _catalogue_flags(known.reset_index().fillna({"attributes": ""}))
    return Catalogue(
        skus=skus,
        names=known["name"].fillna(pd.Series(skus, index=skus)).to_numpy(dtype=object),
        categories=category.astype(str).to_numpy(dtype=object),
        active=active,
        repeatable=repeat,
    )


def _seconds(ts: pd.Series) -> npt.NDArray[np.int64]:
    # Not astype("int64"): the unit of a datetime column varies (ns, us) with its source.
    values = pd.to_datetime(ts, utc=True)
    epoch = pd.Timestamp(0, tz="UTC")
    seconds = (values - epoch) // pd.Timedelta(seconds=1)
    return np.asarray(seconds, dtype=np.int64)


def _codes(index: pd.Index, values: pd.Series) -> npt.NDArray[np.intp]:
    """Positions of `values` in `index` (-1 when absent)."""
    return index.get_indexer(pd.Index(values.astype(str)))


def encode(raw: Raw, exclude: re.Pattern[str] | None = None) -> Interactions:
    """Integer codes and sparse matrices for the raw answers."""
    catalogue = _catalogue(raw, exclude)
    item_code = pd.Index(catalogue.skus)
    purchases = raw.purchases.assign(item=_codes(item_code, raw.purchases["sku"]))
    purchases = purchases[purchases["item"] >= 0]
    # A purchase given back in full says nothing good about the item.
    kept = purchases[purchases["returned"].fillna(0) < purchases["bought"].fillna(0)]
    events = raw.events.assign(item=_codes(item_code, raw.events["sku"]))
    events = events[events["item"] >= 0]
    users = pd.Index(pd.unique(pd.concat([kept["user_id"], events["user_id"]]).astype(str)))
    n_users, n_items = len(users), catalogue.size

    def matrix(rows: Any, cols: Any, values: Any) -> sparse.csr_matrix:
        return sparse.csr_matrix(
            (np.asarray(values, dtype=np.float32), (rows, cols)), shape=(n_users, n_items)
        )

    k_users = _codes(users, kept["user_id"])
    bought = matrix(k_users, kept["item"], kept["orders"])
    e_users = _codes(users, events["user_id"])
    weights = events["name"].map(EVENT_WEIGHTS).to_numpy(dtype=np.float32)
    signal = (bought * ORDER_WEIGHT + matrix(e_users, events["item"], weights)).tocsr()
    signal.sum_duplicates()

    baskets = raw.baskets.assign(item=_codes(item_code, raw.baskets["sku"]))
    baskets = baskets[baskets["item"] >= 0]
    order_codes, _ = pd.factorize(baskets["order_id"])
    basket_matrix = sparse.csr_matrix(
        (np.ones(len(baskets), dtype=np.float32), (order_codes, baskets["item"])),
        shape=(int(order_codes.max()) + 1 if len(baskets) else 0, n_items),
    )

    known_orders = baskets[baskets["user_id"].notna()]
    o_users = _codes(users, known_orders["user_id"])
    stream = pd.concat(
        [
            pd.DataFrame(
                {
                    "user": e_users,
                    "item": events["item"].to_numpy(),
                    "ts": _seconds(events["ts"]),
                    "kind": np.where(events["name"].to_numpy() == "Product Added", 1, 0),
                }
            ),
            pd.DataFrame(
                {
                    "user": o_users,
                    "item": known_orders["item"].to_numpy(),
                    "ts": _seconds(known_orders["ts"]),
                    "kind": 2,
                }
            ),
        ]
    )
    stream = stream[stream["user"] >= 0].astype(
        {"user": np.int32, "item": np.int32, "ts": np.int64, "kind": np.int8}
    )
    # What customers bought in their first order: the baskets at each customer's earliest time.
    first_time = known_orders.groupby("user_id")["ts"].transform("min")
    starts = known_orders.loc[known_orders["ts"] == first_time, ["user_id", "item"]]
    first = starts.drop_duplicates()["item"].to_numpy()
    countries = raw.countries.dropna(subset=["user_id"]).drop_duplicates("user_id")
    country = countries.set_index(countries["user_id"].astype(str))["country"].reindex(users)
    newest = [
        pd.to_datetime(f[c], utc=True).max()
        for f, c in ((kept, "last"), (events, "ts"), (baskets, "ts"))
        if len(f)
    ]
    end = max((t for t in newest if not pd.isna(t)), default=None)
    return Interactions(
        users=users.to_numpy(dtype=object),
        catalogue=catalogue,
        signal=signal,
        bought=bought,
        baskets=basket_matrix,
        events=stream.reset_index(drop=True),
        first_items=first[first >= 0].astype(np.int32),
        country=country.fillna("").astype(str).to_numpy(dtype=object),
        end=None if end is None else end.to_pydatetime(),
    )
