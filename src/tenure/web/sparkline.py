"""A tiny inline SVG trend line for KPI tiles: drawn on the server, no script needed."""

from __future__ import annotations

from markupsafe import Markup

WIDTH, HEIGHT = 120, 28


def sparkline(values: list[float | None]) -> Markup:
    """The points as an SVG polyline scaled to the tile (gaps skipped); empty with < 2 points."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return Markup("")
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = WIDTH / max(len(values) - 1, 1)
    coords = " ".join(
        f"{i * step:.1f},{HEIGHT - 2 - (v - low) / span * (HEIGHT - 4):.1f}" for i, v in points
    )
    return Markup(
        '<svg class="spark" viewBox="0 0 {w} {h}" preserveAspectRatio="none" aria-hidden="true">'
        '<polyline fill="none" stroke="#2680c2" stroke-width="1.5" points="{c}"/></svg>'
    ).format(w=WIDTH, h=HEIGHT, c=coords)
