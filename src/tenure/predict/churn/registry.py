"""Versioned churn models on disk: TENURE_HOME/models/churn/<version>/ (model and metadata)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tenure.errors import NotFound
from tenure.kit.time import utc_now
from tenure.predict.churn.model import ChurnModel


class ChurnModelMissing(NotFound):
    """No trained churn model (or not the asked version)."""

    code = "churn_model_missing"


def models_dir(home: Path) -> Path:
    """Where churn model versions live."""
    return home / "models" / "churn"


def new_version() -> str:
    """A sortable version id: the UTC training time to the microsecond."""
    return utc_now().strftime("%Y%m%dT%H%M%S%fZ")


def save(home: Path, model: ChurnModel, meta: dict[str, Any], version: str | None = None) -> str:
    """Store a model and its metadata; the folder appears whole or not at all."""
    version = version or new_version()
    root = models_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{version}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(staging)
    meta = {**meta, "version": version}
    (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str), "utf-8")
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
        raise ChurnModelMissing(version=version or "latest")
    return models_dir(home) / (version or known[-1])


def load(home: Path, version: str | None = None) -> tuple[ChurnModel, dict[str, Any]]:
    """A stored model (the newest unless `version`) and its metadata."""
    folder = _folder(home, version)
    meta: dict[str, Any] = json.loads((folder / "meta.json").read_text("utf-8"))
    return ChurnModel.load(folder), meta


def metadata(home: Path, version: str | None = None) -> dict[str, Any]:
    """Only the metadata of a stored model."""
    meta: dict[str, Any] = json.loads((_folder(home, version) / "meta.json").read_text("utf-8"))
    return meta
