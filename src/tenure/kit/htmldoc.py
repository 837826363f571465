"""A self-contained HTML document of titled sections (Plotly charts, tables), plotly.js inlined.

The base every report builds on (the weekly review, the churn and segments reports): it sits in
`kit` so that domain reports and the report that gathers them import it from below.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from tenure import __version__
from tenure.i18n import translate

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;background:#f6f7f9;color:#1f2933}
header{background:#102a43;color:#fff;padding:24px 40px}header h1{margin:0 0 4px}
main{max-width:1200px;margin:0 auto;padding:24px 40px}
section{background:#fff;border-radius:8px;padding:16px 24px;margin:0 0 24px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%}td,th{padding:6px 10px;border-bottom:1px solid #e4e7eb;
text-align:right}th:first-child,td:first-child{text-align:left}.up{color:#1f7a3a}.down{color:#b42318}
.note{color:#616e7c;font-size:.9em}
"""


@dataclass(frozen=True)
class Section:
    """One titled block: charts and/or an HTML fragment."""

    title: str
    figures: tuple[go.Figure, ...] = ()
    body: str = ""
    note: str = ""


def render(sections: list[Section], title: str, zone: ZoneInfo) -> str:
    """The whole document; works offline because plotly.js is embedded once."""
    parts = []
    for section in sections:
        figures = "".join(
            fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
            for fig in section.figures
        )
        note = f'<p class="note">{html.escape(section.note)}</p>' if section.note else ""
        parts.append(
            f"<section><h2>{html.escape(section.title)}</h2>{note}{section.body}{figures}</section>"
        )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = translate("report.subtitle", generated=generated, zone=zone.key, version=__version__)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{html.escape(title)}</h1><div>{html.escape(subtitle)}</div></header>"
        f"<main>{''.join(parts)}</main></body></html>"
    )
