"""Reference assignments from GrowthBook's Python SDK 4.0.0, for ../test_growthbook_parity.py.

Runs with .venv-reference/bin/python (make_venv.sh builds it), never with the project's venv, and
imports nothing from tenure: its assignments are the other side of the check.

Reads a JSON list of cases on stdin, each {"key", "seed", "hash_version", "weights", "coverage",
"namespace": [name, start, end] | null, "ids": [...]}, and writes a JSON list on stdout, in the
same order: per case, per id, the SDK's `variationId` when `inExperiment`, else null.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import growthbook


def assignments(case: dict[str, Any]) -> list[int | None]:
    namespace = case["namespace"]
    experiment = growthbook.Experiment(
        key=case["key"],
        variations=list(range(len(case["weights"]))),
        weights=case["weights"],
        coverage=case["coverage"],
        namespace=tuple(namespace) if namespace is not None else None,
        seed=case["seed"],
        hashVersion=case["hash_version"],
    )
    out: list[int | None] = []
    for uid in case["ids"]:
        result = growthbook.GrowthBook(attributes={"id": uid}).run(experiment)
        out.append(result.variationId if result.inExperiment else None)
    return out


def main() -> None:
    cases = json.load(sys.stdin)
    json.dump([assignments(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
