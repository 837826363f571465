"""Named jobs and their default intervals; the schedule rows live in the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tenure.config import Settings
from tenure.jobs.errors import JobUnknown
from tenure.storage.database import Database
from tenure.storage.warehouse import Warehouse


@dataclass(frozen=True)
class JobContext:
    """What a job gets: the settings and both stores."""

    settings: Settings
    database: Database
    warehouse: Warehouse


JobFunction = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    """A job: its name, how often it runs by default, and the function that does the work."""

    name: str
    interval_seconds: int
    run: JobFunction
    description: str = ""


class JobRegistry:
    """Jobs by name, in registration order."""

    def __init__(self, specs: list[JobSpec] | None = None) -> None:
        self._specs: dict[str, JobSpec] = {}
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: JobSpec) -> None:
        """Add a job; a second job with the same name is a programming error."""
        if spec.name in self._specs:
            raise ValueError(f"job {spec.name!r} is registered twice")
        if spec.interval_seconds <= 0:
            raise ValueError(f"job {spec.name!r} needs a positive interval")
        self._specs[spec.name] = spec

    def get(self, name: str) -> JobSpec:
        """The job called `name`."""
        try:
            return self._specs[name]
        except KeyError:
            raise JobUnknown(name=name, known=", ".join(self._specs) or "none") from None

    def names(self) -> list[str]:
        """Registered names."""
        return list(self._specs)

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(self._specs.values())
