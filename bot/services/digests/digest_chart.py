"""The digest as one picture: per item, staff against service users, last week marked.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe
in a worker thread). Sized for a phone: about 1200 px wide, large type, one row
per item. A group below k gets no bar, only a note, so the picture can show
nothing the numbers hide.
"""

from __future__ import annotations

import io
import textwrap

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bot.infra.i18n import Translator, translator
from bot.services.digests import locale_format as formatting
from bot.services.digests.digest_model import Digest, GroupScore, ItemScore
from frameworks import Frameworks

STAFF_COLOUR = "#0072B2"  # blue and orange stay apart for colour-blind readers
USERS_COLOUR = "#E69F00"
MUTED = "#666666"
DPI = 150
WIDTH = 8.0  # inches: 1200 px
ROW = 0.7  # inches per item
BAR = 0.36
VALUES_AT = 5.12


def render_chart(digest: Digest, frameworks: Frameworks, language: str) -> bytes:
    """A PNG of the items that have answers this week (all of the lens when none have)."""
    buffer = io.BytesIO()
    build_figure(digest, frameworks, language).savefig(
        buffer, format="png", dpi=DPI, metadata={"Software": None}
    )
    return buffer.getvalue()


def build_figure(digest: Digest, frameworks: Frameworks, language: str) -> Figure:
    """The chart as a matplotlib figure: one row per item, a bar per group shown."""
    t = translator(language)
    framework = frameworks.get(digest.lens)
    items = [i for i in digest.items if i.has_answers] or list(digest.items)
    height = 2.6 + ROW * len(items)
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    positions = list(range(len(items)))[::-1]  # the first item on top
    for y, item in zip(positions, items, strict=True):
        _group(axes, y + BAR / 2, item.staff, STAFF_COLOUR, digest.k, t, language)
        _group(axes, y - BAR / 2, item.service_users, USERS_COLOUR, digest.k, t, language)

    axes.set_yticks(
        positions, [_label(framework.items[i.item_id].name(language), i) for i in items]
    )
    axes.tick_params(axis="y", labelsize=12, length=0)
    axes.tick_params(axis="x", labelsize=11)
    axes.set_xlim(1, 5.65)
    axes.set_xticks([1, 2, 3, 4, 5])
    axes.set_ylim(-0.8, len(items) - 0.2)
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)

    where = digest.org_name + (f" · {digest.unit_name}" if digest.unit_name else "")
    week = t("Week {week}", week=digest.period)
    if digest.is_demo:
        week = t("Demo data") + " · " + week
    lines = [*textwrap.wrap(where, 60), week, *textwrap.wrap(framework.name(language), 60)]
    figure.suptitle("\n".join(lines), fontsize=14, fontweight="bold")
    figure.legend(
        handles=[
            Patch(color=STAFF_COLOUR, label=t("Staff")),
            Patch(color=USERS_COLOUR, label=t("Service users")),
            _previous_marker(t("Week before")),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=11,
        frameon=False,
    )
    axes.set_xlabel(
        t("Scores 1–5. Groups of fewer than {k} people are not shown.", k=digest.k),
        fontsize=10,
        color=MUTED,
        labelpad=10,
    )
    return figure


def _group(
    axes: Axes, y: float, group: GroupScore, colour: str, k: int, t: Translator, language: str
) -> None:
    if group.mean is None:
        note = t("fewer than {k}", k=k) if group.suppressed else t("no answers")
        axes.text(1.05, y, note, va="center", fontsize=10, color=MUTED, style="italic")
        return
    axes.barh(y, group.mean - 1, left=1, height=BAR * 0.92, color=colour)
    # The numbers stand in their own column, clear of the bars and last week's tick.
    label = formatting.score(group.mean, language)
    axes.text(VALUES_AT, y, label, va="center", fontsize=11, color=colour, fontweight="bold")
    if group.previous_mean is not None:
        axes.add_line(_previous_marker(None, group.previous_mean, y))


def _previous_marker(label: str | None, x: float | None = None, y: float | None = None) -> Line2D:
    """Last week's mean: a black tick across the bar (also the legend's sample)."""
    return Line2D(
        [] if x is None else [x],
        [] if y is None else [y],
        color="black",
        marker="|",
        markersize=18,
        markeredgewidth=2.5,
        linestyle="",
        label=label,
    )


def _label(name: str, item: ItemScore) -> str:
    return "\n".join(textwrap.wrap(name, 22)) or item.item_id
