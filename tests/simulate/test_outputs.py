"""Output files: schemas, determinism, chunking, ids and summary."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.simulate import BLOCK_USERS, SimulationConfig

from .conftest import FILES, Run

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
EXPECTED_SCHEMAS = {
    "users": [
        ("user_id", pa.string()),
        ("signup_at", TS),
        ("channel", pa.string()),
        ("country", pa.string()),
        ("birthday", pa.date32()),
        ("attributes", pa.string()),
    ],
    "items": [
        ("sku", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("price", MONEY),
        ("attributes", pa.string()),
    ],
    "events": [
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("name", pa.string()),
        ("ts", TS),
        ("properties", pa.string()),
        ("received_at", TS),
    ],
    "order_lines": [
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
    ],
    "spend": [("date", pa.date32()), ("channel", pa.string()), ("spend", MONEY)],
    "truth/users": [
        ("user_id", pa.string()),
        ("channel", pa.string()),
        ("purchase_rate_per_week", pa.float64()),
        ("dropout_p", pa.float64()),
        ("dropout_at", TS),
        ("alive_at_end", pa.bool_()),
        ("mean_spend", pa.float64()),
        ("orders", pa.int64()),
        ("first_order_at", TS),
        ("favourite_category", pa.string()),
    ],
}
START = pd.Timestamp("2024-01-01", tz="UTC")
# 2024 is a leap year: 365 days from 2024-01-01 end (exclusively) on 2024-12-31.
END = pd.Timestamp("2024-12-31", tz="UTC")


@pytest.mark.parametrize("name", sorted(EXPECTED_SCHEMAS))
def test_schema_is_exact(run: Run, name: str) -> None:
    schema = pq.read_schema(run.out / f"{name}.parquet")
    assert [(f.name, f.type) for f in schema] == EXPECTED_SCHEMAS[name]


def test_same_seed_gives_byte_identical_files(run: Run, run_repeat: Run) -> None:
    for rel in (*FILES, "truth/params.json"):
        assert (run.out / rel).read_bytes() == (run_repeat.out / rel).read_bytes(), rel


def test_chunk_size_does_not_change_data(run: Run, run_one_chunk: Run) -> None:
    for rel in FILES:
        name = rel.removesuffix(".parquet")
        assert run.table(name).equals(run_one_chunk.table(name)), rel
    assert pq.ParquetFile(run.out / "events.parquet").num_row_groups == 3
    assert pq.ParquetFile(run_one_chunk.out / "events.parquet").num_row_groups == 1
    assert pq.ParquetFile(run.out / "users.parquet").num_row_groups == 3


def test_different_seed_gives_different_data(run: Run, run_other_seed: Run) -> None:
    for name in ("users", "events", "order_lines", "items", "truth/users"):
        assert not run.table(name).equals(run_other_seed.table(name)), name
    a = run.df("truth/users").purchase_rate_per_week
    b = run_other_seed.df("truth/users").purchase_rate_per_week
    assert (a.to_numpy() != b.to_numpy()).mean() > 0.99


def test_progress_is_reported_per_chunk(run: Run, run_one_chunk: Run) -> None:
    assert run.progress == [(1000, 3000), (2000, 3000), (3000, 3000)]
    assert run_one_chunk.progress == [(3000, 3000)]


def test_chunk_users_rounds_up_to_blocks() -> None:
    assert SimulationConfig(chunk_users=1).effective_chunk_users == BLOCK_USERS
    assert SimulationConfig(chunk_users=BLOCK_USERS + 1).effective_chunk_users == 2 * BLOCK_USERS


def test_summary_matches_files(run: Run) -> None:
    s = run.summary
    lines = run.df("order_lines")
    assert s.users == run.table("users").num_rows == 3000
    assert s.events == run.table("events").num_rows
    assert s.order_lines == len(lines)
    assert s.orders == lines[lines.status == "paid"].order_id.nunique()
    assert s.refunds == lines[lines.status == "refunded"].order_id.nunique()
    assert s.revenue == sum(lines.line_total, Decimal(0))
    assert s.gross_revenue == sum(lines[lines.status == "paid"].line_total, Decimal(0))
    assert isinstance(s.revenue, Decimal)
    assert set(s.files) >= {"users", "items", "events", "order_lines", "spend", "truth_params"}
    assert all(p.exists() for p in s.files.values())


def test_ids_are_unique_and_well_formed(run: Run) -> None:
    users = run.df("users")
    events = run.df("events")
    assert users.user_id.is_unique
    assert users.user_id.iloc[0] == "u000001"
    assert users.user_id.str.fullmatch(r"u\d{6}").all()
    assert events.event_id.is_unique
    assert events.event_id.str.fullmatch(r"e\d{10}").all()
    assert set(events.user_id.dropna()) <= set(users.user_id)
    items = run.df("items")
    assert items.sku.is_unique


def test_event_times_are_inside_the_period(run: Run) -> None:
    assert pd.Timestamp(run.config.end, tz="UTC") == END
    events = run.df("events")
    assert events.ts.min() >= START
    assert events.ts.max() < END
    assert (events.received_at >= events.ts).all()
    assert ((events.received_at - events.ts) < pd.Timedelta(days=1)).all()
    lines = run.df("order_lines")
    assert lines.ts.between(START, END, inclusive="left").all()


def test_every_event_has_an_identity_and_valid_properties(run: Run) -> None:
    events = run.df("events")
    assert (events.user_id.notna() | events.anonymous_id.notna()).all()
    props = events.properties.map(json.loads)
    assert props.map(lambda p: isinstance(p, dict)).all()
    in_session = events.name != "Order Refunded"
    assert props[in_session].map(lambda p: "session_id" in p).all()
    viewed = events.name.isin(["Product Viewed", "Product Added"])
    assert props[viewed].map(lambda p: {"sku", "category", "price"} <= set(p)).all()
    assert set(events.name) == {
        "Session Started",
        "Product Viewed",
        "Product Added",
        "Checkout Started",
        "Order Completed",
        "Order Refunded",
        "Signed Up",
    }


def test_users_look_realistic(run: Run) -> None:
    users = run.df("users")
    assert users.signup_at.between(START, END, inclusive="left").all()
    assert 0.25 < users.birthday.isna().mean() < 0.35
    born = pd.to_datetime(users.birthday.dropna())
    assert born.between(pd.Timestamp("1935-01-01"), pd.Timestamp("2007-01-01")).all()
    assert users.country.str.fullmatch(r"[A-Z]{2}").all()
    assert users.country.nunique() >= 8
    attrs = users.attributes.map(json.loads)
    assert attrs.map(lambda a: isinstance(a["email_opt_in"], bool)).all()
    assert set(attrs.map(lambda a: a["gender"])) <= {"f", "m", "x"}
    assert users.channel.nunique() == 6


def test_items_catalogue(run: Run) -> None:
    items = run.df("items")
    assert len(items) == run.config.items
    assert items.category.nunique() >= 8
    assert (items.price > 0).all()
    assert items.attributes.map(json.loads).map(lambda a: "brand" in a).all()
    by_cat = items.groupby("category").price.median()
    assert by_cat["electronics"] > by_cat["grocery"] * 5


def test_spend_is_cac_times_signups(run: Run) -> None:
    spend = run.df("spend")
    cfg = run.config
    assert len(spend) == cfg.days * len(cfg.channels)
    assert spend.date.min() == date(2024, 1, 1)
    assert spend.date.max() == date(2024, 12, 30) == cfg.end - timedelta(days=1)
    signups = run.df("users").channel.value_counts()
    for ch in cfg.channels:
        total = sum(spend[spend.channel == ch.name].spend, Decimal(0))
        expected = ch.cac * signups[ch.name]
        if ch.cac == 0:
            assert total == 0
        else:
            assert abs(total / expected - 1) < Decimal("0.05"), ch.name


def test_params_json_describes_population(run: Run) -> None:
    params = json.loads((run.out / "truth" / "params.json").read_text())
    cfg = run.config
    assert params["seed"] == 7
    assert params["start"] == "2024-01-01"
    assert params["end"] == "2024-12-31" == cfg.end.isoformat()
    assert params["users"] == 3000
    assert params["currency"] == "USD"
    assert params["bgnbd"] == {
        "r": cfg.r,
        "alpha": cfg.alpha,
        "a": cfg.a,
        "b": cfg.b,
        "time_unit": "week",
        "max_rate_per_week": cfg.max_rate_per_week,
    }
    assert params["gammagamma"]["p"] == cfg.gg_p
    assert {c["name"] for c in params["channels"]} == {c.name for c in cfg.channels}
    assert params["seasonality"]["holiday_amplitude"] == cfg.holiday_amplitude


@pytest.mark.parametrize(
    "kwargs",
    [{"users": 0}, {"items": 5}, {"seed": -1}, {"refund_rate": 1.5}, {"r": 0.0}, {"channels": ()}],
)
def test_invalid_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        SimulationConfig(**kwargs)  # type: ignore[arg-type]
