"""Message templates: Jinja2 in its immutable sandbox, names checked on save, Babel formatting.

A template is checked when a campaign is saved (`compile_template`): it must parse, and every
variable it reads must be one of `ALLOWED_NAMES` (or one it sets itself). Rendering is lenient
about data: a profile attribute that is missing renders as an empty string, because one user's
profile lacking a field must not stop a campaign. Anything that goes wrong while rendering (a
sandbox refusal, a type error, a division by zero) becomes `TemplateInvalid` on path "render".

HTML sources are autoescaped; text, SMS and push sources are not. The filters `money`, `number`,
`date` and `datetime` format with Babel in the locale and time zone given to `render`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import jinja2.meta
import jinja2.nodes
from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from tenure.campaigns.errors import TemplateInvalid
from tenure.kit.money import Money, exponent
from tenure.kit.time import parse_iso

ALLOWED_NAMES = frozenset(
    {
        "user",
        "profile",
        "points",
        "tier",
        "coupon",
        "recommendations",
        "campaign",
        "unsubscribe_url",
        "shop",
        "now",
    }
)
# Jinja's helpers a template may call besides the data above (`lipsum` is left out).
HELPERS = ("range", "dict", "namespace", "cycler", "joiner")
MAX_SOURCE = 100_000
MAX_OUTPUT = 1_000_000
DEFAULT_LOCALE = "en"

# Where `render` leaves the locale and zone for the filters; a template cannot read them,
# because names starting with "_" never pass the save-time check.
_LOCALE_KEY = "_tenure_locale"
_ZONE_KEY = "_tenure_zone"
_TEMPLATE_FILE = "<template>"


class _TemplateProblem(Exception):
    """A source that does not compile or check, before the caller's path is known."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _huge_power(base: Any, power: Any) -> bool:
    if not (isinstance(base, int) and isinstance(power, int)):
        return False
    return power > 0 and abs(base) > 1 and base.bit_length() * power > 4096


def _huge_repeat(seq: Any, count: Any) -> bool:
    return (
        isinstance(seq, str | list | tuple)
        and isinstance(count, int)
        and len(seq) * count > MAX_OUTPUT
    )


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, stricter in three ways: touching an unsafe attribute raises
    (instead of rendering empty), and `*` / `**` cannot build huge strings or numbers."""

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _huge_power(left, right):
            raise SecurityError(f"{left} ** {right} is too large")
        if operator == "*" and (_huge_repeat(left, right) or _huge_repeat(right, left)):
            raise SecurityError("repeating a sequence that many times is too large")
        return super().call_binop(context, operator, left, right)


def babel_locale(name: str | None) -> Locale:
    """Babel's locale for a tag such as "en", "zh-CN" or "pt_BR"; unknown tags give English."""
    return _babel_locale((name or DEFAULT_LOCALE).strip())


@lru_cache(maxsize=64)
def _babel_locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


def _is_missing(value: Any) -> bool:
    return value is None or isinstance(value, jinja2.Undefined)


def _locale_of(context: Context) -> Locale:
    return babel_locale(context.get(_LOCALE_KEY))


def _zone_of(context: Context) -> tzinfo:
    zone = context.get(_ZONE_KEY)
    return zone if zone is not None else UTC


@jinja2.pass_context
def money_filter(context: Context, amount: Any, currency: str | None = None) -> str:
    """`{{ 1250 | money("USD") }}` → "$12.50": integer minor units (or a Money) in the locale."""
    if _is_missing(amount):
        return ""
    if isinstance(amount, Money):
        minor, currency = amount.minor, currency or amount.currency
    elif isinstance(amount, int) and not isinstance(amount, bool):
        minor = amount
    else:
        raise TypeError(f"money takes integer minor units, not {type(amount).__name__}")
    if not currency:
        raise TypeError("money needs a currency, e.g. money('USD')")
    code = str(currency).upper()
    major = Decimal(minor).scaleb(-exponent(code))
    return babel_numbers.format_currency(major, code, locale=_locale_of(context))


@jinja2.pass_context
def number_filter(context: Context, value: Any) -> str:
    """`{{ 1234567 | number }}` → "1,234,567" in the locale."""
    if _is_missing(value):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"number takes a number, not {type(value).__name__}")
    return babel_numbers.format_decimal(value, locale=_locale_of(context))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse_iso(value)
    raise TypeError(f"expected a datetime or ISO-8601 text, not {type(value).__name__}")


@jinja2.pass_context
def date_filter(context: Context, value: Any, format: str = "medium") -> str:
    """`{{ now | date }}` → "Mar 5, 2025": the day in the shop's zone, in the locale."""
    if _is_missing(value):
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and len(value.strip()) == 10:
        day = date.fromisoformat(value.strip())
    else:
        day = _as_datetime(value).astimezone(_zone_of(context)).date()
    return babel_dates.format_date(day, format=format, locale=_locale_of(context))


@jinja2.pass_context
def datetime_filter(context: Context, value: Any, format: str = "medium") -> str:
    """`{{ coupon.expires_at | datetime("short") }}`: the time in the shop's zone and locale."""
    if _is_missing(value):
        return ""
    moment = _as_datetime(value)
    return babel_dates.format_datetime(
        moment, format=format, tzinfo=_zone_of(context), locale=_locale_of(context)
    )


def _environment(html: bool) -> _Sandbox:
    env = _Sandbox(autoescape=html, undefined=jinja2.ChainableUndefined, keep_trailing_newline=True)
    env.globals = {name: env.globals[name] for name in HELPERS if name in env.globals}
    env.filters.update(
        money=money_filter, number=number_filter, date=date_filter, datetime=datetime_filter
    )
    return env


_ENVIRONMENTS = {False: _environment(False), True: _environment(True)}


_OTHER_TEMPLATES = (
    jinja2.nodes.Include,
    jinja2.nodes.Import,
    jinja2.nodes.FromImport,
    jinja2.nodes.Extends,
)


def _first_line(nodes: Sequence[jinja2.nodes.Node]) -> int:
    return min((node.lineno for node in nodes), default=1)


def _check_names(ast: jinja2.nodes.Template) -> None:
    """No other templates; every variable read must be allowed; no attribute starts with "_"."""
    others = list(ast.find_all(_OTHER_TEMPLATES))
    if others:
        reason = "a message template cannot include, import or extend another template"
        raise _TemplateProblem(_first_line(others), reason)
    unknown = jinja2.meta.find_undeclared_variables(ast) - ALLOWED_NAMES
    if unknown:
        readers = [
            node
            for node in ast.find_all(jinja2.nodes.Name)
            if node.ctx == "load" and node.name in unknown
        ]
        line, name = min(((node.lineno, node.name) for node in readers), default=(1, min(unknown)))
        allowed = ", ".join(sorted(ALLOWED_NAMES))
        raise _TemplateProblem(line, f"unknown name `{name}`; use one of: {allowed}")
    private = [
        node
        for node in ast.find_all((jinja2.nodes.Getattr, jinja2.nodes.Getitem))
        if _private_key(node)
    ]
    if private:
        raise _TemplateProblem(_first_line(private), "names starting with `_` are not allowed")


def _private_key(node: jinja2.nodes.Node) -> bool:
    if isinstance(node, jinja2.nodes.Getattr):
        return node.attr.startswith("_")
    arg = getattr(node, "arg", None)
    return (
        isinstance(arg, jinja2.nodes.Const)
        and isinstance(arg.value, str)
        and arg.value.startswith("_")
    )


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> jinja2.Template:
    if len(source) > MAX_SOURCE:
        raise _TemplateProblem(
            1, f"the template has {len(source)} characters; at most {MAX_SOURCE}"
        )
    env = _ENVIRONMENTS[html]
    try:
        ast = env.parse(source)
        _check_names(ast)
        code = env.compile(ast)
    except jinja2.TemplateSyntaxError as exc:
        raise _TemplateProblem(exc.lineno or 1, exc.message or str(exc)) from exc
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def compile_template(source: str, path: str, *, html: bool = False) -> jinja2.Template:
    """The compiled template, or `TemplateInvalid` naming `path`, the 1-based line and why."""
    try:
        return _compiled(source, html)
    except _TemplateProblem as problem:
        raise TemplateInvalid(path=path, line=problem.line, reason=problem.reason) from problem


def _template_line(exc: BaseException) -> int:
    """The template line a render error happened on (0 when unknown)."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(
    source: str,
    context: Mapping[str, Any],
    *,
    html: bool = False,
    locale: str = DEFAULT_LOCALE,
    zone: ZoneInfo | None = None,
) -> str:
    """Render `source` with `context` in the sandbox; any failure is `TemplateInvalid` on path
    "render" with the template line when known. `now` defaults to the current time in `zone`."""
    template = compile_template(source, "render", html=html)
    values = dict(context)
    values.setdefault("now", datetime.now(zone or UTC))
    values[_LOCALE_KEY] = locale
    values[_ZONE_KEY] = zone
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(values):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise SecurityError(f"the message is longer than {MAX_OUTPUT} characters")
            parts.append(chunk)
        return "".join(parts)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise TemplateInvalid(path="render", line=_template_line(exc), reason=reason) from exc


def _tag(locale: str) -> str:
    return locale.strip().replace("_", "-").lower()


def pick_variant(
    variants: str | Mapping[str, str], locale: str | None, default: str = DEFAULT_LOCALE
) -> tuple[str, str]:
    """The (locale, source) to send: a plain string serves every locale; from a mapping of
    locale → source, the exact locale ("zh-CN"), else one of its language ("zh", "zh-TW" for
    "zh-CN"; the bare language first), else `default`, else the first. Tags compare without
    case, "_" as "-"."""
    if isinstance(variants, str):
        return (locale or default, variants)
    if not variants:
        raise ValueError("a template needs at least one locale variant")
    keys = {_tag(key): key for key in reversed(list(variants))}
    if locale:
        wanted = _tag(locale)
        if wanted in keys:
            return keys[wanted], variants[keys[wanted]]
        language = wanted.split("-")[0]
        if language in keys:
            return keys[language], variants[keys[language]]
        for key in variants:
            if _tag(key).split("-")[0] == language:
                return key, variants[key]
    if _tag(default) in keys:
        key = keys[_tag(default)]
        return key, variants[key]
    first = next(iter(variants))
    return first, variants[first]


__all__ = [
    "ALLOWED_NAMES",
    "MAX_SOURCE",
    "babel_locale",
    "compile_template",
    "pick_variant",
    "render",
]
