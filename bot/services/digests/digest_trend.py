"""The trend of the report: one small inline SVG per item, staff and service users over windows.

Written by hand rather than by matplotlib so the report stays one light, self-contained
page whose pictures scale with the screen (a viewBox and width 100%) and keep their
text sharp on a phone. A window whose figure is not shown leaves a gap in the line,
never a guessed point; each shown point carries its 90% interval as a thin bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.infra.i18n import Translator
from bot.services.digests import locale_format as formatting
from bot.services.digests.digest_chart import STAFF_COLOUR, USERS_COLOUR
from bot.services.digests.digest_model import AUDIENCES, Audience, Digest, Figure, WindowScores

WIDTH, HEIGHT = 280, 150
LEFT, RIGHT, TOP, BOTTOM = 24, 10, 8, 34
SCALE = (1.0, 5.0)
LABELS = 4  # date labels on the axis at most: each needs about 45 units
COLOURS: dict[Audience, str] = {"staff": STAFF_COLOUR, "service_user": USERS_COLOUR}
DASHES: dict[Audience, str] = {"staff": "", "service_user": "5 3"}
GRID = "#dddddd"
MUTED = "#5f6368"


@dataclass(frozen=True)
class TrendChart:
    """One item's trend: its heading and its picture, ready for the template."""

    item_id: str
    name: str
    svg: Markup


def trend_charts(digest: Digest, names: dict[str, str], t: Translator) -> tuple[TrendChart, ...]:
    """One chart per item some audience is asked about, in framework order."""
    asked = {audience: set(digest.coverage.get(audience, ())) for audience in AUDIENCES}
    charts = []
    for index, item in enumerate(digest.items):
        audiences = [a for a in AUDIENCES if item.item_id in asked[a]]
        if not audiences:
            continue
        name = names[item.item_id]
        series = {a: [_series(w, a)[index] for w in digest.trend] for a in audiences}
        charts.append(TrendChart(item.item_id, name, _svg(digest.trend, series, name, t)))
    return tuple(charts)


def _series(window: WindowScores, audience: Audience) -> tuple[Figure | None, ...]:
    return window.staff if audience == "staff" else window.service_users


def _x(index: int, count: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner / 2 if count < 2 else inner * index / (count - 1))


def _y(value: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    low, high = SCALE
    clipped = min(max(value, low), high)
    return TOP + inner * (high - clipped) / (high - low)


def _svg(
    windows: Sequence[WindowScores],
    series: dict[Audience, list[Figure | None]],
    name: str,
    t: Translator,
) -> Markup:
    count = len(windows)
    title = t("{item}: staff and service users, window by window", item=name)
    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img"'
        f' preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        *_grid(t.language),
        *_axis(windows, t.language),
    ]
    for audience, figures in series.items():
        parts.extend(_line(figures, audience, count))
    if not any(f is not None for figures in series.values() for f in figures):
        empty = escape(t("no scores in these windows"))
        parts.append(
            f'<text x="{WIDTH / 2:.0f}" y="{(HEIGHT - BOTTOM) / 2:.0f}" text-anchor="middle"'
            f' font-size="11" fill="{MUTED}">{empty}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _grid(language: str) -> list[str]:
    lines = []
    for value in range(int(SCALE[0]), int(SCALE[1]) + 1):
        y = _y(value)
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 5}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10"'
            f' fill="{MUTED}">{escape(formatting.score(value, language, 0))}</text>'
        )
    return lines


def _axis(windows: Sequence[WindowScores], language: str) -> list[str]:
    """Month labels under some windows, the newest always; the year under a month when it
    is the first label or the year changed."""
    count = len(windows)
    step = max(1, -(-count // LABELS))
    picked = sorted(range(count - 1, -1, -step))
    labels = []
    shown_year = None
    for index in picked:
        start = windows[index].span.start
        x = _x(index, count)
        labels.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 3}"'
            f' stroke="{MUTED}" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" font-size="10"'
            f' fill="{MUTED}">{escape(formatting.month(start, language))}</text>'
        )
        if start.year != shown_year:
            labels.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 26}" text-anchor="middle"'
                f' font-size="10" fill="{MUTED}">{escape(formatting.year(start, language))}</text>'
            )
            shown_year = start.year
    return labels


def _line(figures: Sequence[Figure | None], audience: Audience, count: int) -> list[str]:
    """Runs of shown windows joined by a line; every shown point with its interval."""
    colour = COLOURS[audience]
    dash = f' stroke-dasharray="{DASHES[audience]}"' if DASHES[audience] else ""
    runs: list[list[tuple[float, float]]] = [[]]
    shapes = []
    for index, found in enumerate(figures):
        if found is None:
            runs.append([])
            continue
        x, y = _x(index, count), _y(found.mean)
        runs[-1].append((x, y))
        if found.half_width:
            low, high = _y(found.mean - found.half_width), _y(found.mean + found.half_width)
            shapes.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{low:.1f}" y2="{high:.1f}"'
                f' stroke="{colour}" stroke-width="1" stroke-opacity="0.45"/>'
            )
        shapes.append(_marker(audience, x, y, colour))
    paths = [
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in run)}" fill="none"'
        f' stroke="{colour}" stroke-width="1.8"{dash}/>'
        for run in runs
        if len(run) > 1
    ]
    return [*paths, *shapes]


def _marker(audience: Audience, x: float, y: float, colour: str) -> str:
    """Staff a circle, service users a square: told apart without their colours."""
    if audience == "staff":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>'
    return f'<rect x="{x - 2.4:.1f}" y="{y - 2.4:.1f}" width="4.8" height="4.8" fill="{colour}"/>'
