"""Message catalogues for user-facing text; English first, zh-CN can be added beside it."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from typing import Any

DEFAULT_LOCALE = "en"


@lru_cache(maxsize=8)
def catalogue(locale: str) -> dict[str, str]:
    """The messages of one locale (empty when the locale has no file)."""
    try:
        text = resources.files("tenure.locales").joinpath(f"{locale}.json").read_text("utf-8")
    except FileNotFoundError:
        return {}
    data: dict[str, str] = json.loads(text)
    return data


def current_locale() -> str:
    """The locale asked for by TENURE_LOCALE (default English)."""
    return os.environ.get("TENURE_LOCALE", DEFAULT_LOCALE)


def translate(key: str, /, locale: str | None = None, **values: Any) -> str:
    """The message for `key` in `locale`, falling back to English and then to the key."""
    template = catalogue(locale or current_locale()).get(key) or catalogue(DEFAULT_LOCALE).get(key)
    if template is None:
        return key if not values else f"{key} {values}"
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template
