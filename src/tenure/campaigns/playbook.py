"""Ready-made campaigns for the classic retention plays (files in `playbooks/`).

A playbook is a campaign document with placeholders such as `${offer}`, filled from the values
the operator gives; the result is saved like any other campaign and can be edited after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from tenure.campaigns.errors import CampaignInvalid

_PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")


@dataclass(frozen=True)
class Playbook:
    """A shipped campaign: its file name, default key, title, and the values it needs."""

    name: str
    key: str
    title: str
    description: str
    needs: tuple[str, ...]
    document: dict[str, Any]


def _needs(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(_needs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_needs(v) for v in value)) if value else set()
    return set()


@cache
def playbooks() -> dict[str, Playbook]:
    """Every shipped playbook by name."""
    folder = resources.files("tenure.campaigns").joinpath("playbooks")
    out: dict[str, Playbook] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        document = yaml.safe_load(entry.read_text("utf-8"))
        name = entry.name.removesuffix(".yaml")
        out[name] = Playbook(
            name=name, key=document["key"], title=document["name"],
            description=document.get("description", ""),
            needs=tuple(sorted(_needs(document))), document=document,
        )  # fmt: skip
    return out


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def document(name: str, values: dict[str, str], key: str | None = None) -> dict[str, Any]:
    """A playbook's campaign document with its placeholders filled (and its key, if given)."""
    found = playbooks().get(name)
    if found is None:
        known = ", ".join(playbooks())
        raise CampaignInvalid(path="playbook", reason=f"no playbook `{name}`; use one of: {known}")
    missing = [n for n in found.needs if not values.get(n)]
    if missing:
        raise CampaignInvalid(path="playbook", reason=f"`{name}` needs a value for {missing[0]}")
    filled = _fill(found.document, values)
    if key is not None:
        filled["key"] = key
    return dict(filled)
