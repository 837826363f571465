"""Message catalogues for user-facing text: gettext `.po` files under `tenure/locales`.

Each message has a stable key as its msgid (`error.coupon_expired`) and `str.format` fields
(`{limit}`). `locales/en/LC_MESSAGES/messages.po` is the monolingual base that holds the English;
the other locales (`zh_CN`) translate it, so Poedit, Weblate or `pybabel update` work on them as on
any gettext catalogue. `make messages` extracts the keys the code and templates use and checks them
against the base; `tests/test_i18n.py` holds every catalogue complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any

DEFAULT_LOCALE = "en"
DOMAIN = "messages"


def normalise(locale: str | None) -> str:
    """The catalogue name for a locale tag as users write it: `zh-CN`, `zh_cn`, `zh-Hans` and `zh`
    are `zh_CN`; an unknown or malformed tag is English."""
    if not locale:
        return DEFAULT_LOCALE
    tag = locale.strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.split("_")[0] == "en":
        return DEFAULT_LOCALE
    return tag if tag in available() else DEFAULT_LOCALE


@lru_cache(maxsize=1)
def available() -> tuple[str, ...]:
    """The locales that have a catalogue, English first."""
    root = resources.files("tenure.locales")
    found = sorted(
        p.name for p in root.iterdir() if p.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()
    )
    return (DEFAULT_LOCALE, *(name for name in found if name != DEFAULT_LOCALE))


@lru_cache(maxsize=8)
def catalogue(locale: str) -> dict[str, str]:
    """The translated messages of one locale (empty when it has no catalogue); untranslated and
    fuzzy entries are left out, so they fall back to English."""
    from babel.messages.pofile import read_po  # Babel's parser: only once a message is needed

    path = resources.files("tenure.locales").joinpath(
        normalise(locale), "LC_MESSAGES", f"{DOMAIN}.po"
    )
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        parsed = read_po(handle, domain=DOMAIN)
    return {
        str(m.id): str(m.string)
        for m in parsed
        if m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }


_ASKED: ContextVar[str | None] = ContextVar("tenure_locale", default=None)


def current_locale() -> str:
    """The locale of the work in hand (`use_locale`), else TENURE_LOCALE (default English)."""
    return _ASKED.get() or os.environ.get("TENURE_LOCALE", DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Messages inside the block, the domains' own included (report sections, chart titles),
    are in `locale`: the console sets it to the operator's language for each page."""
    token = _ASKED.set(normalise(locale))
    try:
        yield
    finally:
        _ASKED.reset(token)


def label(key: str, fallback: str, locale: str | None = None) -> str:
    """The catalogue's name for a value that is also data (an RFM segment named `Champions`):
    its translation when the catalogue has `key`, else the value itself (the shop's own name)."""
    chosen = catalogue(normalise(locale or current_locale()))
    return chosen.get(key) or catalogue(DEFAULT_LOCALE).get(key) or fallback


def translate(key: str, /, locale: str | None = None, **values: Any) -> str:
    """The message for `key` in `locale`, falling back to English and then to the key."""
    template = catalogue(normalise(locale or current_locale())).get(key) or catalogue(
        DEFAULT_LOCALE
    ).get(key)
    if template is None:
        return key if not values else f"{key} {values}"
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template
