"""Versioned uplift models on disk: TENURE_HOME/models/uplift/<version>/ (learner and metadata).

The same layout as the churn models (`tenure.predict.churn.registry`): a version is the UTC
fitting time, and its folder appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tenure.experiments.uplift.errors import UpliftModelMissing
from tenure.experiments.uplift.models import UpliftLearner, load_learner
from tenure.predict.churn.registry import new_version

META_FILE = "meta.json"


def models_dir(home: Path) -> Path:
    """Where uplift model versions live."""
    return home / "models" / "uplift"


def save(home: Path, model: UpliftLearner, meta: dict[str, Any], version: str | None = None) -> str:
    """Store a fitted learner and its metadata under a new (or the given) version."""
    version = version or new_version()
    root = models_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{version}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(staging)
    meta = {**meta, "version": version}
    (staging / META_FILE).write_text(json.dumps(meta, indent=2, default=str), "utf-8")
    os.replace(staging, root / version)
    return version


def versions(home: Path) -> list[str]:
    """Stored versions, oldest first."""
    root = models_dir(home)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _folder(home: Path, version: str | None) -> Path:
    known = versions(home)
    if not known or (version is not None and version not in known):
        raise UpliftModelMissing(version=version or "latest")
    return models_dir(home) / (version or known[-1])


def load(home: Path, version: str | None = None) -> tuple[UpliftLearner, dict[str, Any]]:
    """A stored learner (the newest unless `version`) and its metadata."""
    folder = _folder(home, version)
    return load_learner(folder), metadata(home, folder.name)


def metadata(home: Path, version: str | None = None) -> dict[str, Any]:
    """Only the metadata of a stored model."""
    meta: dict[str, Any] = json.loads((_folder(home, version) / META_FILE).read_text("utf-8"))
    return meta
