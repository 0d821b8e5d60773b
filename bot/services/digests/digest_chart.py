"""The digest as one picture: per item, each audience's score with its 90% interval.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe
in a worker thread). Sized for a phone: about 1200 px wide, large type, one row
per item. A score is a point with an error bar, so a wide interval looks as unsure
as it is; the window before is a hollow marker on the same row. A group not shown
gets only its status in words, and an audience never asked about an item gets no
row there, so the picture can show nothing the numbers hide.
"""

from __future__ import annotations

import io
import textwrap

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bot.infra.i18n import Translator, translator
from bot.services.digests import locale_format as formatting
from bot.services.digests.digest_model import AUDIENCES, Audience, Digest, GroupScore, ItemScore
from bot.services.digests.digest_phrases import AUDIENCE_GROUPS, LEANS_MARK, LEANS_NOTE
from frameworks import Frameworks

STAFF_COLOUR = "#0072B2"  # blue and orange stay apart for colour-blind readers
USERS_COLOUR = "#E69F00"
COLOURS: dict[Audience, str] = {"staff": STAFF_COLOUR, "service_user": USERS_COLOUR}
MARKERS: dict[Audience, str] = {"staff": "o", "service_user": "s"}
MUTED = "#666666"
DPI = 150
WIDTH = 8.0  # inches: 1200 px
ROW = 0.8  # inches per item
OFFSET = 0.19  # each audience's row within an item's
VALUES_AT = 5.12


def render_chart(digest: Digest, frameworks: Frameworks, language: str) -> bytes:
    """A PNG of every item some audience is asked about."""
    buffer = io.BytesIO()
    build_figure(digest, frameworks, language).savefig(
        buffer, format="png", dpi=DPI, metadata={"Software": None}
    )
    return buffer.getvalue()


def chart_rows(digest: Digest) -> list[tuple[ItemScore, list[Audience]]]:
    """The items drawn and, for each, the audiences asked about it (every item, with no
    audience, when nobody has answered anything yet)."""
    rows = [
        (item, [a for a in AUDIENCES if item.of(a).status != "not_asked"]) for item in digest.items
    ]
    return [row for row in rows if row[1]] or [(item, []) for item in digest.items]


def build_figure(digest: Digest, frameworks: Frameworks, language: str) -> Figure:
    """The chart as a matplotlib figure: one row per item, a point per audience shown."""
    t = translator(language)
    framework = frameworks.get(digest.lens)
    rows = chart_rows(digest)
    height = 3.0 + ROW * len(rows)
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    positions = list(range(len(rows)))[::-1]  # the first item on top
    for y, (item, audiences) in zip(positions, rows, strict=True):
        if not audiences:
            _note(axes, y, t("no answers"))
        offsets = [OFFSET, -OFFSET] if len(audiences) == 2 else [0.0]
        for audience, dy in zip(audiences, offsets, strict=False):
            _group(axes, y + dy, audience, item.of(audience), digest.k, t)

    axes.set_yticks(
        positions, [_label(framework.items[i.item_id].name(language), i) for i, _a in rows]
    )
    axes.tick_params(axis="y", labelsize=12, length=0)
    axes.tick_params(axis="x", labelsize=11)
    axes.set_xlim(1, 5.65)
    axes.set_xticks([1, 2, 3, 4, 5], [formatting.score(v, language, 0) for v in range(1, 6)])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)

    where = digest.org_name + (f" · {digest.unit_name}" if digest.unit_name else "")
    window = t(
        "Scores of the window {dates} ({weeks})",
        dates=formatting.span_dates(digest.window, language),
        weeks=formatting.span_weeks(digest.window),
    )
    if digest.is_demo:
        window = t("Demo data") + " · " + window
    lines = [*textwrap.wrap(where, 60), *textwrap.wrap(window, 70)]
    lines += textwrap.wrap(framework.name(language), 60)
    figure.suptitle(_literal("\n".join(lines)), fontsize=14, fontweight="bold")
    figure.legend(
        handles=[
            *(_marker(a, hollow=False, label=t(AUDIENCE_GROUPS[a])) for a in AUDIENCES),
            _marker(None, hollow=True, label=t("The window before")),
            Line2D(
                [],
                [],
                color=MUTED,
                marker="|",
                markersize=10,
                label=t("{level} interval", level=formatting.level(language)),
            ),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=11,
        frameon=False,
    )
    notes = [t("Scores 1–5. Groups of fewer than {k} people are not shown.", k=digest.k)]
    if any(
        (found := item.of(a).figure) is not None and found.leans
        for item, each in rows
        for a in each
    ):
        notes.append(f"{LEANS_MARK} {t(LEANS_NOTE)}")
    names = {i.item_id: framework.items[i.item_id].name(language) for i in digest.items}
    if missing := formatting.not_assessed(digest, names, t):
        notes += textwrap.wrap(missing, 90)
    axes.set_xlabel("\n".join(notes), fontsize=10, color=MUTED, labelpad=10)
    return figure


def _group(
    axes: Axes, y: float, audience: Audience, group: GroupScore, k: int, t: Translator
) -> None:
    colour = COLOURS[audience]
    found = group.figure
    if found is None:
        _note(axes, y, formatting.status(group, k, t))
        return
    axes.errorbar(
        [found.mean],
        [y],
        xerr=None if found.half_width is None else [[found.half_width], [found.half_width]],
        fmt=MARKERS[audience],
        color=colour,
        markersize=8,
        elinewidth=2.2,
        capsize=4,
    )
    if group.previous is not None:
        axes.add_line(_marker(audience, hollow=True, x=group.previous.mean, y=y))
    # The numbers stand in their own column, clear of the points and their intervals.
    label = formatting.score(found.mean, t.language) + (f" {LEANS_MARK}" if found.leans else "")
    axes.text(VALUES_AT, y, label, va="center", fontsize=11, color=colour, fontweight="bold")


def _note(axes: Axes, y: float, text: str) -> None:
    axes.text(1.05, y, text, va="center", fontsize=10, color=MUTED, style="italic")


def _marker(
    audience: Audience | None,
    *,
    hollow: bool,
    label: str | None = None,
    x: float | None = None,
    y: float | None = None,
) -> Line2D:
    """An audience's marker: filled for a score, hollow for the window before (grey in
    the legend, where it stands for both audiences)."""
    colour = MUTED if audience is None else COLOURS[audience]
    return Line2D(
        [] if x is None else [x],
        [] if y is None else [y],
        color=colour,
        marker=MARKERS[audience or "staff"],
        markersize=8,
        markerfacecolor="white" if hollow else colour,
        markeredgewidth=1.8,
        linestyle="",
        label=label,
    )


def _label(name: str, item: ItemScore) -> str:
    return _literal("\n".join(textwrap.wrap(name, 22)) or item.item_id)


def _literal(text: str) -> str:
    """Text matplotlib shows as written: a pair of `$` would start its math mode, and an
    organisation's own names (and its name) may hold any."""
    return text.replace("$", r"\$")
