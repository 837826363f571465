"""Message templates: the sandbox, autoescape, save-time checks with lines, locales and Babel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest

from tenure.campaigns.errors import TemplateInvalid
from tenure.campaigns.templates import (
    ALLOWED_NAMES,
    MAX_SOURCE,
    babel_locale,
    compile_template,
    pick_variant,
    render,
)
from tenure.kit.money import Money

SHANGHAI = ZoneInfo("Asia/Shanghai")


def invalid(source: str, *, html: bool = False) -> TemplateInvalid:
    with pytest.raises(TemplateInvalid) as caught:
        compile_template(source, "steps[0].email.html", html=html)
    return caught.value


def render_error(source: str, context: dict[str, object] | None = None) -> TemplateInvalid:
    with pytest.raises(TemplateInvalid) as caught:
        render(source, context or {})
    return caught.value


class TestSandbox:
    def test_dunder_attribute_escape_is_refused_when_saved(self) -> None:
        error = invalid("Hello\n{{ user.__class__.__mro__ }}")
        assert error.data["line"] == 2
        assert error.code == "campaign_template_invalid"

    def test_dunder_item_escape_is_refused_when_saved(self) -> None:
        assert invalid("{{ user['__class__'] }}").data["line"] == 1

    def test_dunder_reached_through_a_computed_key_is_refused_when_rendered(self) -> None:
        source = "{% set key = '__cla' ~ 'ss__' %}\n{{ user[key] }}"
        compile_template(source, "body")
        error = render_error(source, {"user": {"name": "Ann"}})
        assert error.data["path"] == "render"
        assert "unsafe" in error.data["reason"]

    def test_attr_filter_cannot_reach_dunders(self) -> None:
        error = render_error("{{ user | attr('__class__') }}", {"user": {}})
        assert "unsafe" in error.data["reason"]

    def test_methods_that_change_the_context_are_refused(self) -> None:
        profile: dict[str, object] = {"name": "Ann"}
        error = render_error("a\n{{ profile.update({'name': 'Eve'}) }}", {"profile": profile})
        assert error.data["line"] == 2
        assert profile == {"name": "Ann"}
        items: list[str] = []
        render_error("{{ recommendations.append('x') }}", {"recommendations": items})
        assert items == []

    def test_attribute_assignment_is_refused(self) -> None:
        error = render_error("{% set user.name = 'Eve' %}", {"user": {"name": "Ann"}})
        assert "namespace" in error.data["reason"]

    def test_huge_repetition_and_powers_are_refused(self) -> None:
        assert "too large" in render_error("{{ 'x' * 100000000 }}").data["reason"]
        assert "too large" in render_error("{{ 10 ** 10000000 }}").data["reason"]

    def test_output_is_capped(self) -> None:
        source = "{% for a in range(2000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}"
        assert "longer than" in render_error(source).data["reason"]


class TestEscaping:
    def test_html_sources_escape_profile_values(self) -> None:
        out = render(
            "<p>Hi {{ profile.nickname }}</p>",
            {"profile": {"nickname": "<script>alert(1)</script>"}},
            html=True,
        )
        assert out == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"

    def test_text_sources_are_left_as_written(self) -> None:
        out = render("Hi {{ profile.nickname }} & co", {"profile": {"nickname": "<b>Ann</b>"}})
        assert out == "Hi <b>Ann</b> & co"


class TestSaveTimeChecks:
    def test_syntax_error_names_its_line(self) -> None:
        error = invalid("Hello {{ user.name }}\nline two\n{% if %}\nline four")
        assert error.data["path"] == "steps[0].email.html"
        assert error.data["line"] == 3
        assert "line 3" in error.message

    def test_unknown_name_is_reported_with_its_line(self) -> None:
        error = invalid("Hello {{ user.name }}\n\n{{ points }}\n{{ balance }} left\n{{ other }}")
        assert error.data["line"] == 4
        assert error.data["reason"].startswith("unknown name `balance`; use one of: campaign,")

    def test_names_the_template_sets_itself_are_allowed(self) -> None:
        source = (
            "{% set greeting = 'Hi' %}{{ greeting }}\n"
            "{% for item in recommendations %}{{ loop.index }}. {{ item.name }}{% endfor %}\n"
            "{% macro line(label) %}{{ label }}: {{ caller() }}{% endmacro %}\n"
            "{% call line('Points') %}{{ points }}{% endcall %}\n"
            "{% set ns = namespace(total=0) %}{% for i in range(3) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}"
        )
        compile_template(source, "body")
        out = render(source, {"recommendations": [{"name": "Tea"}], "points": 120})
        assert out == "Hi\n1. Tea\n\nPoints: 120\n3"

    def test_every_allowed_name_passes(self) -> None:
        compile_template(" ".join(f"{{{{ {name} }}}}" for name in sorted(ALLOWED_NAMES)), "body")

    @pytest.mark.parametrize(
        "tag",
        [
            "{% include 'x' %}",
            "{% import 'x' as y %}",
            "{% from 'x' import y %}",
            "{% extends 'x' %}",
        ],
    )
    def test_other_templates_cannot_be_pulled_in(self, tag: str) -> None:
        error = invalid("Hello\n" + tag)
        assert error.data["line"] == 2
        assert "include, import or extend" in error.data["reason"]

    def test_jinja_lipsum_is_not_available(self) -> None:
        assert "`lipsum`" in invalid("{{ lipsum() }}").data["reason"]

    def test_overlong_source_is_invalid_on_line_one(self) -> None:
        error = invalid("x" * (MAX_SOURCE + 1))
        assert error.data["line"] == 1
        assert str(MAX_SOURCE) in error.data["reason"]

    def test_compiled_templates_are_cached(self) -> None:
        source = "cached {{ user.name }}"
        assert compile_template(source, "a") is compile_template(source, "b")
        assert compile_template(source, "a", html=True) is not compile_template(source, "a")


class TestRender:
    def test_missing_profile_attributes_render_empty(self) -> None:
        out = render("Hi {{ profile.nickname }}{{ profile.address.city }}!", {"profile": {}})
        assert out == "Hi !"

    def test_runtime_error_names_its_line(self) -> None:
        error = render_error("a\nb\n{{ points / 0 }}\nd", {"points": 5})
        assert error.data == {"path": "render", "line": 3, "reason": "division by zero"}

    def test_type_errors_become_template_invalid(self) -> None:
        error = render_error("{{ profile.age + 1 }}", {"profile": {}})
        assert error.data["line"] == 1

    def test_invalid_source_is_invalid_at_render_too(self) -> None:
        assert render_error("{{ secret }}").data["path"] == "render"


class TestFormatting:
    def test_money_in_english(self) -> None:
        assert render("{{ 1250 | money('USD') }}", {}) == "$12.50"
        assert render("{{ 1500 | money('JPY') }}", {}) == "¥1,500"

    def test_money_in_simplified_chinese(self) -> None:
        assert render("{{ 123400 | money('CNY') }}", {}, locale="zh-CN") == "¥1,234.00"
        assert render("{{ 1250 | money('USD') }}", {}, locale="zh-CN") == "US$12.50"

    def test_money_takes_a_money_value(self) -> None:
        out = render("{{ coupon.value | money }}", {"coupon": {"value": Money(990, "EUR")}})
        assert out == "€9.90"

    def test_money_refuses_floats_and_a_missing_currency(self) -> None:
        assert "minor units" in render_error("{{ 12.5 | money('USD') }}").data["reason"]
        assert "currency" in render_error("{{ 1250 | money }}").data["reason"]

    def test_missing_values_format_as_empty(self) -> None:
        out = render("[{{ profile.ltv | money('USD') }}|{{ profile.n | number }}]", {"profile": {}})
        assert out == "[|]"

    def test_number_in_locale(self) -> None:
        assert render("{{ 1234567 | number }}", {}) == "1,234,567"
        assert render("{{ 1234567 | number }}", {}, locale="de-DE") == "1.234.567"

    def test_dates_are_in_the_shop_zone_and_locale(self) -> None:
        moment = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Shanghai
        out = render("{{ now | date }}", {"now": moment}, zone=SHANGHAI)
        assert out == "Mar 2, 2025"
        out = render("{{ now | date('long') }}", {"now": moment}, locale="zh-CN", zone=SHANGHAI)
        assert out == "2025年3月2日"
        out = render("{{ now | datetime('short') }}", {"now": moment}, zone=SHANGHAI)
        assert out.startswith("3/2/25, 7:30")

    def test_dates_accept_iso_text_and_days(self) -> None:
        assert render("{{ coupon.ends | date }}", {"coupon": {"ends": "2025-12-31"}}) == (
            "Dec 31, 2025"
        )
        assert render("{{ coupon.ends | date }}", {"coupon": {"ends": date(2025, 1, 2)}}) == (
            "Jan 2, 2025"
        )
        out = render("{{ now | date }}", {"now": "2025-03-01T23:30:00Z"}, zone=SHANGHAI)
        assert out == "Mar 2, 2025"

    def test_now_defaults_to_the_current_time(self) -> None:
        assert render("{{ now | date('yyyy') }}", {}) == str(datetime.now(UTC).year)

    def test_locale_tags_map_to_babel(self) -> None:
        assert str(babel_locale("zh-CN")) == "zh_Hans_CN"
        assert str(babel_locale("pt_BR")) == "pt_BR"
        assert str(babel_locale("EN-us")) == "en_US"
        assert str(babel_locale("xx-YY")) == "en"
        assert str(babel_locale("not a locale!")) == "en"
        assert str(babel_locale(None)) == "en"


class TestPickVariant:
    VARIANTS: ClassVar[dict[str, str]] = {
        "en": "Hello",
        "zh-CN": "你好",
        "zh-TW": "妳好",
        "pt": "Olá",
    }

    def test_plain_string_serves_every_locale(self) -> None:
        assert pick_variant("Hello", "zh-CN") == ("zh-CN", "Hello")
        assert pick_variant("Hello", None) == ("en", "Hello")

    def test_exact_match_wins(self) -> None:
        assert pick_variant(self.VARIANTS, "zh-TW") == ("zh-TW", "妳好")

    def test_match_ignores_case_and_underscores(self) -> None:
        assert pick_variant(self.VARIANTS, "zh_cn") == ("zh-CN", "你好")

    def test_language_match(self) -> None:
        assert pick_variant(self.VARIANTS, "zh") == ("zh-CN", "你好")
        assert pick_variant(self.VARIANTS, "pt-BR") == ("pt", "Olá")
        assert pick_variant({"zh-CN": "简", "zh": "中"}, "zh-HK") == ("zh", "中")

    def test_default_then_first(self) -> None:
        assert pick_variant(self.VARIANTS, "fr") == ("en", "Hello")
        assert pick_variant(self.VARIANTS, None) == ("en", "Hello")
        assert pick_variant({"de": "Hallo", "ja": "こんにちは"}, "fr") == ("de", "Hallo")
        assert pick_variant({"de": "Hallo", "EN_us": "Hi"}, "fr", default="en-US") == (
            "EN_us",
            "Hi",
        )

    def test_no_variants_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            pick_variant({}, "en")
