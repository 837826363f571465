"""UCI Online Retail through the CLI, checked against an independent pandas computation."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.config import Settings
from tenure.storage.warehouse import Warehouse
from tests.serving import run_cli

AS_OF = date(2011, 12, 9)
ZONE = "Europe/London"
# The classic R×F grid, written out cell by cell: GRID[r][f - 1].
GRID = {
    5: ["New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"],
    3: ["About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose"],
    1: ["Lost", "Lost", "At Risk", "At Risk", "Can't Lose"],
}


def _score(values: pd.Series, bins: int = 5) -> pd.Series:
    """Quantile of each value's first position among ties: 1 + bins * (min rank - 1) // n."""
    ranks = values.rank(method="min").astype(int) - 1
    return 1 + (bins * ranks) // len(values)


def pandas_rfm(folder: Path) -> pd.DataFrame:
    """Recency, frequency, net monetary, scores and segment per customer, with pandas only."""
    files = sorted(folder.glob("*.csv"))
    raw = pd.concat(pd.read_csv(f, dtype={"InvoiceNo": str, "CustomerID": str}) for f in files)
    raw = raw[raw.CustomerID.notna()]
    raw["amount"] = raw.Quantity * raw.UnitPrice
    raw["day"] = pd.to_datetime(raw.InvoiceDate).dt.date  # London wall-clock times
    invoices = raw.groupby(["CustomerID", "InvoiceNo"]).agg(
        amount=("amount", "sum"), day=("day", "min")
    )
    invoices = invoices.reset_index()
    paid = invoices[~invoices.InvoiceNo.str.startswith("C")]
    per = paid.groupby("CustomerID").agg(last=("day", "max"), frequency=("InvoiceNo", "nunique"))
    per["monetary"] = invoices.groupby("CustomerID").amount.sum().reindex(per.index)
    per["recency_days"] = [(AS_OF - d).days for d in per["last"]]
    per["r"] = _score(-per.recency_days)
    per["f"] = _score(per.frequency)
    per["m"] = _score(per.monetary.round(4))
    per["segment"] = [GRID[r][f - 1] for r, f in zip(per.r, per.f, strict=True)]
    per.index = [c.removesuffix(".0") for c in per.index]
    return per


def pandas_stages(folder: Path) -> pd.Series:
    """Lifecycle stage per customer with the default thresholds, written independently."""
    files = sorted(folder.glob("*.csv"))
    raw = pd.concat(pd.read_csv(f, dtype={"InvoiceNo": str, "CustomerID": str}) for f in files)
    raw = raw[raw.CustomerID.notna() & ~raw.InvoiceNo.str.startswith("C")]
    raw["day"] = pd.to_datetime(raw.InvoiceDate).dt.date
    stages = {}
    for customer, group in raw.groupby("CustomerID"):
        days = sorted(set(group.day))
        orders = group.InvoiceNo.nunique()
        silent = (AS_OF - days[-1]).days
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        returned = [g > 90 for g in gaps]
        if silent > 180:
            stage = "churned"
        elif silent > 90:
            stage = "at_risk"
        elif gaps and gaps[-1] > 180:
            stage = "reactivated"
        elif not any(returned) and (AS_OF - days[0]) < timedelta(days=30):
            stage = "new"
        elif orders >= 3:
            stage = "loyal"
        else:
            stage = "active"
        stages[customer.removesuffix(".0")] = stage
    return pd.Series(stages)


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import data_dir

    folder = data_dir() / "online_retail"
    if not folder.is_dir():
        pytest.skip(f"real datasets not found at {folder}")
    home = tmp_path_factory.mktemp("retail")
    files = [str(f) for f in sorted(folder.glob("*.csv"))]
    done = run_cli(
        home, "import", "orders", *files, "--preset", "online-retail", TENURE_TIMEZONE=ZONE
    )
    assert done.returncode == 0, done.stderr
    return home


def cli_json(home: Path, *args: str) -> dict:  # type: ignore[type-arg]
    done = run_cli(home, *args, "--format", "json", TENURE_TIMEZONE=ZONE)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def scores(home: Path, model: str) -> dict[str, dict]:  # type: ignore[type-arg]
    warehouse = Warehouse(Settings(home=home, timezone=ZONE))
    with warehouse.reader() as con:
        rows = con.table("scores").filter(lambda s: s.model == model).execute()
    return {r.user_id: json.loads(r.values) for r in rows.itertuples()}


def test_rfm_matches_pandas_quintiles_for_every_customer(retail: Path, real_data: Path) -> None:
    expected = pandas_rfm(real_data / "online_retail")
    result = cli_json(retail, "rfm", "--as-of", str(AS_OF))
    assert result["customers"] == len(expected) == 4339
    got = scores(retail, "rfm")
    assert set(got) == set(expected.index)
    ours = pd.DataFrame.from_dict(got, orient="index").loc[expected.index]
    for column in ("recency_days", "frequency", "r", "f", "m", "segment"):
        assert ours[column].tolist() == expected[column].tolist(), column
    assert np.allclose(ours.monetary.astype(float), expected.monetary, atol=0.005)
    counts = {s["segment"]: s["users"] for s in result["segments"]}
    assert counts == expected.segment.value_counts().to_dict()


def test_lifecycle_stages_match_pandas(retail: Path, real_data: Path) -> None:
    expected = pandas_stages(real_data / "online_retail")
    result = cli_json(retail, "lifecycle", "--as-of", str(AS_OF))
    assert {s["stage"]: s["users"] for s in result["stages"] if s["users"]} == (
        expected.value_counts().to_dict()
    )
    got = {u: v["stage"] for u, v in scores(retail, "lifecycle").items()}
    assert got == expected.to_dict()
    assert result["transitions"] >= len(expected)  # first run: everyone enters a stage


def test_a_saved_segment_and_a_profile_agree_with_pandas(retail: Path, real_data: Path) -> None:
    expected = pandas_rfm(real_data / "online_retail")
    cli_json(retail, "rfm", "--as-of", str(AS_OF))
    rule = json.dumps({"all": [{"field": "rfm.segment", "op": "eq", "value": "Champions"},
                               {"field": "user.country", "op": "eq", "value": "United Kingdom"}]})  # fmt: skip
    done = run_cli(
        retail, "segments", "create", "uk-champions", "--rule", rule, TENURE_TIMEZONE=ZONE
    )
    assert done.returncode == 0, done.stderr
    listed = cli_json(retail, "segments", "list")
    raw = pd.concat(
        pd.read_csv(f, dtype={"CustomerID": str})
        for f in sorted((real_data / "online_retail").glob("*.csv"))
    )
    uk = {c.removesuffix(".0") for c in raw[raw.Country == "United Kingdom"].CustomerID.dropna()}
    champions = set(expected.index[expected.segment == "Champions"])
    assert listed[0]["members"] == len(champions & uk) > 0
    profile = cli_json(retail, "profile", "12347")
    assert profile["features"]["orders"] == expected.loc["12347", "frequency"]
    assert profile["rfm"]["segment"] == expected.loc["12347", "segment"]
    bad = run_cli(retail, "segments", "preview", '{"all": [{"field": "rfm.sgment"}]}')
    assert bad.returncode == 1 and "$.all[0].field" in bad.stderr
