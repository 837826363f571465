"""Versioned uplift models on disk: TENURE_HOME/models/uplift/<version>/ (learner and metadata).

The same layout as the churn models: both are a `tenure.storage.model_store.ModelStore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenure.experiments.uplift.errors import UpliftModelMissing
from tenure.experiments.uplift.models import UpliftLearner, load_learner
from tenure.storage.model_store import ModelStore


def _store(home: Path) -> ModelStore:
    return ModelStore(home, "uplift", lambda version: UpliftModelMissing(version=version))


def save(home: Path, model: UpliftLearner, meta: dict[str, Any], version: str | None = None) -> str:
    """Store a fitted learner and its metadata under a new (or the given) version."""
    return _store(home).save(model, meta, version)


def versions(home: Path) -> list[str]:
    """Stored versions, oldest first."""
    return _store(home).versions()


def load(home: Path, version: str | None = None) -> tuple[UpliftLearner, dict[str, Any]]:
    """A stored learner (the newest unless `version`) and its metadata."""
    store = _store(home)
    folder = store.folder(version)
    return load_learner(folder), store.metadata(folder.name)


def metadata(home: Path, version: str | None = None) -> dict[str, Any]:
    """Only the metadata of a stored model."""
    return _store(home).metadata(version)
