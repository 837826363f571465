"""Our assignment equals GrowthBook's official Python SDK (growthbook 4.0.0) unit by unit.

Ten configurations (2 to 4 variants, unequal weights, full and 40 % traffic, hash v1 and v2, with
and without a namespace range, seeds equal to and different from the key) times 1,500 unit ids
(ASCII ids, UUIDs, numeric strings, Chinese and emoji ids). The SDK runs ONCE per session, in
.venv-reference (tests/experiments/reference/growthbook_assign.py; `make reference` builds it).
"""

from __future__ import annotations

import json
import random
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tenure.experiments import allocation, spec
from tenure.experiments.assignment import assign
from tests.conftest import ROOT, unavailable

# One worker runs them all under xdist, with the gbstats parity tests: one reference venv.
pytestmark = pytest.mark.xdist_group("gbstats_parity")

REFERENCE_PYTHON = ROOT / ".venv-reference" / "bin" / "python"
REFERENCE_STAMP = ROOT / ".venv-reference" / ".installed"
SDK = ROOT / "tests" / "experiments" / "reference" / "growthbook_assign.py"
PIN = "growthbook==4.0.0"
VARIANTS = ("control", "b", "c", "d")


@dataclass(frozen=True)
class Config:
    id: str
    key: str
    weights: tuple[float, ...]
    coverage: float
    hash_version: int
    seed: str | None = None  # None: the key, for both sides
    namespace: tuple[str, float, float] | None = None

    def experiment(self) -> spec.Experiment:
        document: dict[str, Any] = {
            "key": self.key,
            "name": self.id,
            "variants": [{"key": VARIANTS[i], "weight": w} for i, w in enumerate(self.weights)],
            "traffic": self.coverage,
            "hash_version": self.hash_version,
        }
        if self.seed is not None:
            document["seed"] = self.seed
        if self.namespace is not None:
            name, start, end = self.namespace
            document["namespace"] = {"name": name, "start": start, "end": end}
        return spec.parse(document)

    def case(self, ids: list[str]) -> dict[str, Any]:
        return {
            "key": self.key,
            "seed": self.seed,
            "hash_version": self.hash_version,
            "weights": list(self.weights),
            "coverage": self.coverage,
            "namespace": list(self.namespace) if self.namespace is not None else None,
            "ids": ids,
        }


CONFIGS = [
    Config("even-v2", "checkout-button", (0.5, 0.5), 1.0, 2),
    Config("30-70-cov40-v1-seed-is-key", "hero-copy", (0.3, 0.7), 0.4, 1, seed="hero-copy"),
    Config(
        "3way-v2-ns-low", "pricing-page", (0.2, 0.3, 0.5), 1.0, 2,
        seed="pricing-2024", namespace=("pricing", 0.0, 0.5),
    ),
    Config(
        "3way-cov40-v1-ns-high", "pricing-banner", (0.1, 0.2, 0.7), 0.4, 1,
        seed="banner-seed", namespace=("pricing", 0.5, 1.0),
    ),
    Config("4way-v1", "onboarding", (0.1, 0.2, 0.3, 0.4), 1.0, 1),
    Config(
        "4way-equal-cov40-v2-ns", "search-ranker", (0.25, 0.25, 0.25, 0.25), 0.4, 2,
        namespace=("search", 0.2, 0.7),
    ),
    Config("90-10-cov40-v2-seed", "free-shipping", (0.9, 0.1), 0.4, 2, seed="ship-2"),
    Config(
        "thirds-v1-ns-seed-is-key", "email-cadence", (1 / 3, 1 / 3, 1 / 3), 1.0, 1,
        seed="email-cadence", namespace=("email", 0.25, 0.75),
    ),
    Config("4way-desc-cov40-v2-seed", "recs", (0.4, 0.3, 0.2, 0.1), 0.4, 2, seed="recs-v3"),
    Config(
        "5-95-v1-ns", "dark-mode", (0.05, 0.95), 1.0, 1,
        namespace=("ui-layer", 0.1, 0.35),
    ),
]  # fmt: skip

CHINESE = ["用户", "张伟", "李娜", "测试账户", "王芳", "数据科学", "北京", "上海用户"]
EMOJI = ["😀", "🚀", "👩‍💻", "🎉", "🇫🇷", "💯", "🧪", "🐍"]


def unit_ids(n: int = 1500) -> list[str]:
    """ASCII ids, UUIDs and numeric strings in equal parts, plus a few Chinese and emoji ids."""
    rng = random.Random(20240607)
    exotic = [f"{c}{i}" for i, c in enumerate(CHINESE)] + [f"u{i}{e}" for i, e in enumerate(EMOJI)]
    exotic += CHINESE[:4] + EMOJI[:4]
    third = (n - len(exotic)) // 3
    ascii_ids = [f"user_{rng.randrange(10**7)}" for _ in range(third)]
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(third)]
    numbers = [str(rng.randrange(10**12)) for _ in range(n - len(exotic) - 2 * third)]
    return ascii_ids + uuids + numbers + exotic


IDS = unit_ids()


@pytest.fixture(scope="module")
def sdk() -> dict[str, list[int | None]]:
    """The SDK's variation (None: not in the experiment) per config and id, from one run."""
    if not REFERENCE_STAMP.exists() or PIN not in REFERENCE_STAMP.read_text():
        unavailable(
            f"the reference venv at {REFERENCE_PYTHON.parent.parent} lacks {PIN} "
            "(run `make reference`)"
        )
    done = subprocess.run(
        [str(REFERENCE_PYTHON), str(SDK)],
        input=json.dumps([config.case(IDS) for config in CONFIGS]),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"growthbook_assign.py failed:\n{done.stderr}"
    results = json.loads(done.stdout)
    assert len(results) == len(CONFIGS)
    return {config.id: result for config, result in zip(CONFIGS, results, strict=True)}


def test_the_ids_cover_every_kind() -> None:
    assert len(IDS) == 1500 and len(set(IDS)) == len(IDS)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in uid) for uid in IDS)
    assert any(any(ord(ch) > 0xFFFF for ch in uid) for uid in IDS)  # outside the BMP


@pytest.mark.parametrize("config", CONFIGS, ids=[c.id for c in CONFIGS])
def test_assignment_equals_the_growthbook_sdk(
    config: Config, sdk: dict[str, list[int | None]]
) -> None:
    experiment = config.experiment()
    owned = allocation.initial([v.weight for v in experiment.variants])
    ours = [assign(experiment, owned, uid, {}, set()).variant_index for uid in IDS]
    theirs = sdk[config.id]
    differ = [
        (uid, mine, other)
        for uid, mine, other in zip(IDS, ours, theirs, strict=True)
        if mine != other
    ]
    assert not differ, f"{len(differ)} of {len(IDS)} ids differ (id, ours, SDK): {differ[:20]}"
    # Not vacuous: every variant gets units, and a partial rollout or a namespace leaves some out.
    assert set(theirs) - {None} == set(range(len(config.weights)))
    if config.coverage < 1 or config.namespace is not None:
        assert None in theirs
