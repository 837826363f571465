"""Versioned models on disk: TENURE_HOME/models/<kind>/<version>/, the model's files and
meta.json. A version is the UTC training time to the microsecond, so versions sort in time, and
a version's folder appears whole or not at all (it is written aside, then renamed)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tenure.kit.time import utc_now

META_FILE = "meta.json"


class Saveable(Protocol):
    """A fitted model that writes its files into a folder."""

    def save(self, folder: Path) -> None: ...


def new_version() -> str:
    """A sortable version id: the UTC training time to the microsecond."""
    return utc_now().strftime("%Y%m%dT%H%M%S%fZ")


@dataclass(frozen=True)
class ModelStore:
    """The versions of one kind of model; `missing(version)` is the error for an absent one."""

    home: Path
    kind: str
    missing: Callable[[str], Exception]

    @property
    def root(self) -> Path:
        return self.home / "models" / self.kind

    def save(self, model: Saveable, meta: dict[str, Any], version: str | None = None) -> str:
        """Store a model and its metadata under a new (or the given) version."""
        version = version or new_version()
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        model.save(staging)
        meta = {**meta, "version": version}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2, default=str), "utf-8")
        os.replace(staging, self.root / version)
        return version

    def versions(self) -> list[str]:
        """Stored versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = (p.name for p in self.root.iterdir() if p.is_dir())
        return sorted(name for name in found if not name.startswith("."))

    def folder(self, version: str | None = None) -> Path:
        """The folder of `version` (the newest when None), or the `missing` error."""
        known = self.versions()
        if not known or (version is not None and version not in known):
            raise self.missing(version or "latest")
        return self.root / (version or known[-1])

    def metadata(self, version: str | None = None) -> dict[str, Any]:
        """Only the metadata of a stored model."""
        meta: dict[str, Any] = json.loads((self.folder(version) / META_FILE).read_text("utf-8"))
        return meta
