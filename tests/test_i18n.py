"""The gettext catalogues: complete in every locale, same fields, and holding every key the code
and the console's templates ask for (found by Babel's extractors, as `make messages` does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tenure.i18n import available, catalogue, label, normalise, translate

LOCALES = Path(__file__).parents[1] / "src" / "tenure" / "locales"
SOURCE = Path(__file__).parents[1] / "src" / "tenure"
FIELD = re.compile(r"\{([^{}]*)\}")


def _entries(locale: str) -> dict[str, str]:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {str(m.id): str(m.string or "") for m in read_po(handle) if m.id}


def test_both_locales_are_there() -> None:
    assert available() == ("en", "zh_CN")


@pytest.mark.parametrize("locale", ["zh_CN"])
def test_every_message_is_translated_with_the_same_fields(locale: str) -> None:
    english, other = _entries("en"), _entries(locale)
    assert sorted(set(english) - set(other)) == []
    assert sorted(set(other) - set(english)) == []
    assert [k for k, v in english.items() if not v] == []
    assert [k for k, v in other.items() if not v] == []
    mismatched = [
        k for k, v in english.items() if set(FIELD.findall(v)) != set(FIELD.findall(other[k]))
    ]
    assert mismatched == []


def test_every_key_the_code_and_templates_use_is_in_the_base_catalogue() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"translate": None, "_": None}
    used = {
        (message if isinstance(message, str) else message[0], filename, line)
        for filename, line, message, _comments, _context in extract_from_dir(
            SOURCE, method_map, keywords=keywords
        )
    }
    english = _entries("en")
    missing = sorted(f"{key} ({name}:{line})" for key, name, line in used if key not in english)
    assert missing == []
    assert len(used) > 100  # the extractors did find the calls


def test_locale_tags_as_users_write_them() -> None:
    for tag in ("zh-CN", "zh_cn", "zh", "zh-Hans", "ZH-cn"):
        assert normalise(tag) == "zh_CN"
    for tag in ("en", "en-GB", "", None, "fr", "../../etc", "x" * 300):
        assert normalise(tag) == "en"


def test_translate_falls_back_to_english_then_to_the_key() -> None:
    assert translate("error.not_found", locale="zh-CN") != translate("error.not_found")
    assert catalogue("fr") == catalogue("en")
    assert translate("no.such.key") == "no.such.key"


def test_a_label_translates_known_names_and_keeps_the_shop_s_own() -> None:
    assert label("rfm.segment.Champions", "Champions", locale="zh-CN") == "核心客户"
    assert label("rfm.segment.Champions", "Champions", locale="en") == "Champions"
    assert label("rfm.segment.VIP whales", "VIP whales", locale="zh-CN") == "VIP whales"
