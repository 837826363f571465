"""CDNOW fixtures for the CLV tests: the full cohort and Fader & Hardie's 1/10 sample."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pytest

from tenure.predict.clv import summary_from_transactions

DATA_DIR = Path(
    os.environ.get(
        "TENURE_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


def unavailable(reason: str) -> NoReturn:
    """Fail in CI (a missing dataset must not pass silently), skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def sample_file() -> Path | None:
    """Hardie's CDNOW_sample.txt: in the data folder, else the copy lifetimes ships, if any.

    The published estimates come from this random 1/10 sample (2,357 customers). It is not
    "every 10th id": ids 1, 11, 21, ... or 10, 20, ... give r = 0.247 / 0.263, not 0.243.
    """
    for name in ("CDNOW_sample.txt", "cdnow_sample.txt"):
        if (DATA_DIR / name).is_file():
            return DATA_DIR / name
    spec = importlib.util.find_spec("lifetimes")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "datasets" / "CDNOW_sample.txt"
        if bundled.is_file():
            return bundled
    return None


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """Every CDNOW purchase: customer_id, date, dollar_value."""
    path = DATA_DIR / "cdnow_master.csv"
    if not path.is_file():
        unavailable(f"CDNOW not found at {path} (set TENURE_DATA_DIR)")
    raw = pd.read_csv(path, dtype={"customer_id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="session")
def cdnow(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    """All 23,570 customers: 39-week calibration, 39-week holdout, weeks, one purchase a day."""
    raw = cdnow_transactions
    return summary_from_transactions(
        raw["customer_id"],
        raw["date"],
        raw["dollar_value"],
        observation_end=OBSERVATION_END,
        calibration_end=CALIBRATION_END,
        time_unit="W",
    )


@pytest.fixture(scope="session")
def cdnow_sample(cdnow: pd.DataFrame) -> pd.DataFrame:
    """The 2,357 customers of the published estimates (calibration columns of `cdnow`)."""
    path = sample_file()
    if path is None:
        unavailable(
            f"CDNOW_sample.txt (Fader & Hardie's 1/10 sample) not in {DATA_DIR} and lifetimes "
            "is not installed"
        )
    ids = np.unique(pd.read_csv(path, sep=r"\s+", header=None, usecols=[0], dtype=str)[0])
    sample = cdnow.loc[ids]
    assert len(sample) == 2357
    return sample


@pytest.fixture(scope="session")
def churn_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TENURE_HOME of a simulated shop (3,000 users over 400 days) for the churn tests."""
    from tenure.cli.simulate import import_simulation
    from tenure.config import Settings
    from tenure.simulate import SimulationConfig, simulate_shop
    from tenure.storage.warehouse import Warehouse

    root = tmp_path_factory.mktemp("churn-shop")
    config = SimulationConfig(users=3000, days=400, seed=11, chunk_users=3000)
    simulate_shop(config, root / "sim")
    settings = Settings(home=root / "home")
    import_simulation(root / "sim", settings, Warehouse(settings))
    return root / "home"
