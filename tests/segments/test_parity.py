"""DuckDB and Spark give equal RFM, lifecycle, score rows and segment members on the same shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tenure.profiles.service import build_profile
from tenure.segments.compile import Compiler
from tenure.segments.lifecycle import LifecycleQuery, LifecycleRunner
from tenure.segments.rfm import RfmQuery, RfmRunner
from tenure.segments.rules import parse
from tenure.segments.runs import lifecycle_thresholds, run_lifecycle, run_rfm
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse
from tests.segments.builders import AS_OF, build_shop

pytestmark = pytest.mark.spark

ZONE = "Asia/Tokyo"
RULES: list[dict[str, Any]] = [
    {"all": [{"field": "feature.orders", "op": "gte", "value": 2},
             {"not": {"field": "user.attributes.plan", "op": "eq", "value": "gold"}}]},
    {"any": [{"field": "rfm.segment", "op": "in", "value": ["Lost", "New"]}, {"tag": "vip"}]},
    {"field": "lifecycle.since", "op": "gte", "value": "2024-03-01"},
    {"did": "event:Product Viewed", "at_least": 3, "in_last_days": 30},
    {"did": "event:Product Added", "not_followed_by": "order", "within_hours": 24},
    {"field": "feature.favourite_category", "op": "eq", "value": "cups"},
]  # fmt: skip


def answers(shop: Warehouse) -> dict[str, Any]:
    """Every result of this package on one warehouse, in comparable form."""
    zone = ZoneInfo(ZONE)
    run_rfm(shop, zone, RfmQuery(), save=True)
    run_lifecycle(shop, None, zone, LifecycleQuery(), save=True)
    out: dict[str, Any] = {}
    with shop.reader() as con:
        out["rfm"] = RfmRunner(RfmQuery(compare_to="2023-12-31"), zone)(con).model_dump()
        scores = con.table("scores").execute()
        out["scores"] = sorted(
            zip(scores.user_id, scores.model, scores.version, scores["values"], strict=True)
        )
        out["lifecycle"] = LifecycleRunner(LifecycleQuery(as_of="2024-07-15"), zone)(
            con
        ).model_dump()
        query = LifecycleQuery(mode="model")
        runner = LifecycleRunner(query, zone, lifecycle_thresholds(con, zone, AS_OF, query))
        table = runner.table(con)
        assert table is not None
        frame = table.execute().sort_values("user_id").reset_index(drop=True)
        frame["since"] = pd.to_datetime(frame.since).dt.date
        frame["at_risk_since"] = pd.to_datetime(frame.at_risk_since).dt.date
        frame["p_alive"] = frame.p_alive.astype(float)
        out["model_stages"] = frame.to_dict("records")
        database = Database(f"sqlite:///{shop.settings.home / 'ops.db'}")
        database.upgrade()
        with database.session() as session:
            profile = build_profile(con, session, "u6", zone).model_dump(exclude={"scores"})
        out["profile"] = profile
        out["members"] = [
            sorted(
                Compiler(con, zone, AS_OF, {"vip": ["u2", "p1"]})
                .members(parse(r))
                .execute()
                .user_id
            )
            for r in RULES
        ]
    return out


def test_duckdb_and_spark_agree(tmp_path: Path, spark_session: object) -> None:
    duck = answers(build_shop(tmp_path / "duck", zone=ZONE))
    assert duck["members"][3] == ["u1"] and duck["members"][4] == ["u2"]
    assert len(duck["scores"]) == 16
    assert duck["profile"]["features"]["orders"] == 2 and len(duck["profile"]["timeline"]) == 3
    spark = answers(build_shop(tmp_path / "spark", zone=ZONE, warehouse="spark"))
    for name in duck:
        assert spark[name] == duck[name], name
