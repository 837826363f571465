"""Campaign with a known heterogeneous effect: the measured lift recovers the true lift."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tenure.simulate import SimulationConfig, simulate_shop
from tenure.simulate.config import CampaignSpec

SPEC = CampaignSpec(day=date(2024, 7, 1), treated_share=0.5, duration_days=28, base_lift=1.0)
NO_CAMPAIGN = SimulationConfig(users=12_000, days=240, seed=3, chunk_users=5000)
CAMPAIGN = replace(NO_CAMPAIGN, campaign=SPEC)
WINDOW = (
    datetime(2024, 7, 1, tzinfo=UTC),
    datetime(2024, 7, 1, tzinfo=UTC) + timedelta(days=SPEC.duration_days),
)
Z95 = 1.959964


def _digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _welch(treated: pd.Series, control: pd.Series) -> tuple[float, float, float]:
    """Difference in means with a 95% CI from the Welch standard error."""
    diff = float(treated.mean() - control.mean())
    se = math.sqrt(treated.var() / len(treated) + control.var() / len(control))
    return diff, diff - Z95 * se, diff + Z95 * se


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same shop without and with the campaign."""
    off = tmp_path_factory.mktemp("campaign_off")
    on = tmp_path_factory.mktemp("campaign_on")
    simulate_shop(NO_CAMPAIGN, off)
    simulate_shop(CAMPAIGN, on)
    return off, on


@pytest.fixture(scope="module")
def eligible(shops: tuple[Path, Path]) -> pd.DataFrame:
    """Campaign truth of users signed up before the window, with their orders in the window."""
    truth = pd.read_parquet(shops[1] / "truth" / "campaign_truth.parquet")
    lines = pd.read_parquet(shops[1] / "order_lines.parquet")
    paid = lines[
        (lines["status"] != "refunded")
        & lines["user_id"].notna()
        & (lines["ts"] >= WINDOW[0])
        & (lines["ts"] < WINDOW[1])
    ]
    orders = paid.groupby("user_id")["order_id"].nunique()
    truth["orders"] = truth["user_id"].map(orders).fillna(0).astype(float)
    return truth[truth["eligible"]].reset_index(drop=True)


def test_campaign_none_is_byte_identical(tmp_path: Path) -> None:
    base = SimulationConfig(users=1500, chunk_users=1000, seed=7, days=120)
    simulate_shop(base, tmp_path / "default")
    simulate_shop(replace(base, campaign=None), tmp_path / "none")
    digest = _digest(tmp_path / "default")
    assert digest == _digest(tmp_path / "none")
    assert "truth/campaign_truth.parquet" not in digest


def test_campaign_truth_written_with_params(shops: tuple[Path, Path]) -> None:
    truth = pq.read_table(shops[1] / "truth" / "campaign_truth.parquet")
    assert truth.num_rows == CAMPAIGN.users
    assert truth.column_names[:2] == ["user_id", "treated"]
    params = (shops[1] / "truth" / "params.json").read_text()
    assert (
        '"campaign"' in params
        and '"campaign"' not in (shops[0] / "truth" / "params.json").read_text()
    )


def test_treated_share_as_configured(shops: tuple[Path, Path]) -> None:
    truth = pd.read_parquet(shops[1] / "truth" / "campaign_truth.parquet")
    share = truth["treated"].mean()
    se = math.sqrt(SPEC.treated_share * (1 - SPEC.treated_share) / len(truth))
    assert abs(share - SPEC.treated_share) < 4 * se


def test_control_users_keep_their_no_campaign_orders(shops: tuple[Path, Path]) -> None:
    off = pd.read_parquet(shops[0] / "truth" / "users.parquet").set_index("user_id")["orders"]
    on = pd.read_parquet(shops[1] / "truth" / "users.parquet").set_index("user_id")["orders"]
    truth = pd.read_parquet(shops[1] / "truth" / "campaign_truth.parquet").set_index("user_id")
    control = truth.index[~truth["treated"]]
    treated = truth.index[truth["treated"]]
    assert (on[control] == off[control]).all()
    assert (on[treated] >= off[treated]).all()
    assert (on[treated] > off[treated]).sum() > 100


def test_measured_lift_recovers_true_lift(eligible: pd.DataFrame) -> None:
    treated = eligible[eligible["treated"]]
    control = eligible[~eligible["treated"]]
    true_effect = treated["expected_incremental_orders"].mean()
    diff, lo, hi = _welch(treated["orders"], control["orders"])
    assert lo <= true_effect <= hi, (true_effect, diff, lo, hi)
    assert lo > 0  # the campaign is detectable at this size
    # The analytic expectation without the campaign matches the control arm too.
    expected = control["expected_orders_control"].mean()
    se = control["orders"].std() / math.sqrt(len(control))
    assert abs(control["orders"].mean() - expected) < Z95 * se


def test_effect_is_heterogeneous_by_stage(eligible: pd.DataFrame) -> None:
    factor = {
        "never_bought": SPEC.never_factor,
        "active": SPEC.active_factor,
        "at_risk": SPEC.at_risk_factor,
        "lapsed": SPEC.lapsed_factor,
    }
    for stage, group in eligible.groupby("stage"):
        assert group["true_rate_multiplier"].eq(1 + SPEC.base_lift * factor[str(stage)]).all()
    assert set(eligible["stage"]) == set(factor)

    true_by_stage = (
        eligible[eligible["treated"]].groupby("stage")["expected_incremental_orders"].mean()
    )
    strongest, weakest = true_by_stage.idxmax(), true_by_stage.idxmin()
    assert true_by_stage[strongest] > 5 * true_by_stage[weakest]
    measured = {
        stage: _welch(g[g["treated"]]["orders"], g[~g["treated"]]["orders"])
        for stage, g in eligible.groupby("stage")
        if stage in (strongest, weakest)
    }
    assert measured[strongest][0] > measured[weakest][0]
    for stage in (strongest, weakest):
        _, lo, hi = measured[stage]
        assert lo <= true_by_stage[stage] <= hi, (stage, true_by_stage[stage], measured[stage])


def test_campaign_day_must_be_inside_the_period() -> None:
    with pytest.raises(ValueError, match="campaign day"):
        SimulationConfig(days=30, campaign=CampaignSpec(day=date(2024, 3, 1)))
    with pytest.raises(ValueError, match="treated_share"):
        CampaignSpec(day=date(2024, 1, 10), treated_share=1.0)
