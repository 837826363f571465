"""The shop calendar seed: zh-CN commerce days (春节, 618, 双11 …) for date-triggered campaigns.

The days live in `holidays.yaml` beside this module, so a release can extend the years without a
code change; a broken entry fails loudly here, naming the entry, rather than skipping a holiday.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

SEED_FILE = "holidays.yaml"


@dataclass(frozen=True)
class Holiday:
    """One day of the shop calendar: `key` is what a campaign's holiday trigger names."""

    key: str
    day: date
    name_en: str
    name_zh: str


def seed_holidays() -> list[Holiday]:
    """Every holiday of the seed calendar, by day then key."""
    return list(_seed())


def holidays_on(day: date, holidays: Iterable[Holiday]) -> list[Holiday]:
    """The holidays that fall on `day`."""
    return [holiday for holiday in holidays if holiday.day == day]


@cache
def _seed() -> tuple[Holiday, ...]:
    text = files("tenure.campaigns").joinpath(SEED_FILE).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    first, last = document["years"]
    found: list[Holiday] = []
    for entry in document["holidays"]:
        found.extend(_expand(entry, range(first, last + 1)))
    return tuple(sorted(found, key=lambda h: (h.day, h.key)))


def _expand(entry: dict[str, Any], years: range) -> list[Holiday]:
    key = entry.get("key", "?")
    try:
        names = {"name_en": str(entry["name_en"]), "name_zh": str(entry["name_zh"])}
        # "yearly", not "on": YAML 1.1 (PyYAML) reads a bare `on` key as the boolean true.
        if "yearly" in entry:
            month, day = (int(part) for part in str(entry["yearly"]).split("-"))
            days = [date(year, month, day) for year in years]
        else:
            days = list(entry["dates"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{SEED_FILE}: holiday {key!r} is malformed: {error}") from error
    if not all(type(day) is date for day in days):
        raise ValueError(f"{SEED_FILE}: holiday {key!r} has a date that is not YYYY-MM-DD")
    return [Holiday(key=key, day=day, **names) for day in days]
