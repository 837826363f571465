"""Versioned churn models on disk: TENURE_HOME/models/churn/<version>/ (model and metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenure.errors import NotFound
from tenure.predict.churn.model import ChurnModel
from tenure.storage.model_store import ModelStore


class ChurnModelMissing(NotFound):
    """No trained churn model (or not the asked version)."""

    code = "churn_model_missing"


def _store(home: Path) -> ModelStore:
    return ModelStore(home, "churn", lambda version: ChurnModelMissing(version=version))


def save(home: Path, model: ChurnModel, meta: dict[str, Any], version: str | None = None) -> str:
    """Store a model and its metadata; the folder appears whole or not at all."""
    return _store(home).save(model, meta, version)


def versions(home: Path) -> list[str]:
    """Stored versions, oldest first."""
    return _store(home).versions()


def load(home: Path, version: str | None = None) -> tuple[ChurnModel, dict[str, Any]]:
    """A stored model (the newest unless `version`) and its metadata."""
    store = _store(home)
    folder = store.folder(version)
    return ChurnModel.load(folder), store.metadata(folder.name)


def metadata(home: Path, version: str | None = None) -> dict[str, Any]:
    """Only the metadata of a stored model."""
    return _store(home).metadata(version)
