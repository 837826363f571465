"""Shared simulated shops (session-scoped: each configuration is simulated once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.simulate import SimulationConfig, SimulationSummary, simulate_shop

FILES = (
    "users.parquet",
    "items.parquet",
    "events.parquet",
    "order_lines.parquet",
    "spend.parquet",
    "truth/users.parquet",
)
BASE = SimulationConfig(users=3000, chunk_users=1000, seed=7)


@dataclass
class Run:
    """One simulation and lazily loaded outputs."""

    config: SimulationConfig
    summary: SimulationSummary
    progress: list[tuple[int, int]]
    _tables: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        """Output directory."""
        return self.summary.out_dir

    def table(self, name: str) -> pa.Table:
        """Arrow table of an output file, e.g. "events" or "truth/users"."""
        if name not in self._tables:
            self._tables[name] = pq.read_table(self.out / f"{name}.parquet")
        return self._tables[name]

    def df(self, name: str) -> pd.DataFrame:
        """Pandas frame of an output file."""
        return self.table(name).to_pandas()


def _simulate(tmp: Path, config: SimulationConfig) -> Run:
    calls: list[tuple[int, int]] = []
    summary = simulate_shop(config, tmp, progress=lambda d, t: calls.append((d, t)))
    return Run(config, summary, calls)


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """3,000 users in chunks of 1,000."""
    return _simulate(tmp_path_factory.mktemp("sim_small_chunks"), BASE)


@pytest.fixture(scope="session")
def run_repeat(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same configuration again."""
    return _simulate(tmp_path_factory.mktemp("sim_repeat"), BASE)


@pytest.fixture(scope="session")
def run_one_chunk(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same shop generated in a single chunk."""
    config = SimulationConfig(users=3000, chunk_users=50_000, seed=7)
    return _simulate(tmp_path_factory.mktemp("sim_one_chunk"), config)


@pytest.fixture(scope="session")
def run_other_seed(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Same configuration with another seed."""
    config = SimulationConfig(users=3000, chunk_users=1000, seed=8)
    return _simulate(tmp_path_factory.mktemp("sim_other_seed"), config)
