"""A4 posters drawn with matplotlib: the invitation with its QR code, and "you said, we did".

matplotlib (already used for the digest chart) writes both the PDF and the PNG from one
figure, and segno (already used for QR codes) gives the code as a matrix of modules, drawn
unsampled, so the PDF holds it crisp at any print size. No new runtime dependency. Fonts
are embedded as TrueType (not Type 3), so the PDF's text can be searched and copied, and
DejaVu Sans, bundled with matplotlib, has every Slovenian, Czech, Lithuanian and German
letter. Text is placed line by line after wrapping, and shrunk as a whole when there is
more of it than the page holds, so a long organisation name or five languages stay on the
page.
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import segno
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

Format = Literal["pdf", "png"]

A4 = (8.27, 11.69)  # inches
PNG_DPI = 150
MARGIN = 0.06  # of the page's width, each side
INK = "#1a1a1a"
MUTED = "#555555"
ACCENT = "#0072B2"
NAME_CHARS = 120  # an organisation name is at most this long, and its lines are cut to fit
# Roughly how wide a DejaVu Sans character is, as a share of its size, to wrap by.
CHAR_WIDTH = 0.56
RC: dict[str, Any] = {"pdf.fonttype": 42, "font.family": "DejaVu Sans", "svg.fonttype": "none"}


@dataclass(frozen=True)
class Line:
    """One paragraph of the poster: wrapped to the page, in points at full scale."""

    text: str
    size: float
    weight: str = "normal"
    colour: str = INK
    gap_after: float = 0.35  # in lines of its own size


def plain(text: str, limit: int) -> str:
    """Text safe to draw: no control or format characters (bidi overrides, zero-width
    joiners), whitespace collapsed, cut at `limit` characters."""
    kept = "".join(
        ch if unicodedata.category(ch)[0] not in "CZ" or ch == " " else " " for ch in text
    )
    clean = " ".join(kept.split())
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def render(fmt: Format, title: list[Line], body: list[Line], link: str | None = None) -> bytes:
    """The page: `title` at the top, then the QR code of `link` (if any), then `body`."""
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        figure = Figure(figsize=A4)
        FigureCanvasAgg(figure)  # measures text, so a line wider than the page is shrunk
        top = 0.955
        top = _place(figure, title, top, 0.16, align="center")
        if link is not None:
            top = _qr(figure, link, top - 0.01)
            figure.text(
                0.5, top, link, ha="center", va="top", fontsize=8, color=MUTED, parse_math=False
            )
            top -= 0.03
        else:
            top -= 0.025
        _place(figure, body, top, 0.035, align="left")
        buffer = io.BytesIO()
        metadata = {"Creator": "carecheck"} if fmt == "pdf" else {"Software": "carecheck"}
        figure.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=metadata)
    return buffer.getvalue()


def _qr(figure: Figure, link: str, top: float) -> float:
    """The QR code centred under `top`, a third of the page wide; returns its bottom."""
    matrix = [list(row) for row in segno.make(link, error="m").matrix]
    width = 0.40
    height = width * A4[0] / A4[1]
    axes = figure.add_axes((0.5 - width / 2, top - height, width, height))
    axes.imshow(matrix, cmap="gray_r", interpolation="none", vmin=0, vmax=1)
    axes.set_axis_off()
    # A quiet zone of four modules, as the standard asks: the axes' own margin.
    quiet = 4
    size = len(matrix)
    axes.set_xlim(-0.5 - quiet, size - 0.5 + quiet)
    axes.set_ylim(size - 0.5 + quiet, -0.5 - quiet)
    return top - height - 0.005


def _fit(figure: Figure, drawn: Text, size: float) -> None:
    """Shrink a line of wide letters (the wrapping guessed an average width) to the page."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    share = drawn.get_window_extent(renderer).width / figure.bbox.width
    usable = 1 - 2 * MARGIN
    if share > usable:
        drawn.set_fontsize(size * usable / share * 0.98)


def _wrapped(line: Line, scale: float) -> list[str]:
    usable = A4[0] * (1 - 2 * MARGIN) * 72  # points
    chars = max(12, int(usable / (line.size * scale * CHAR_WIDTH)))
    return textwrap.wrap(line.text, chars, break_long_words=True) or [""]


def _height(lines: list[Line], scale: float) -> float:
    """Their height as a share of the page at `scale`."""
    points = sum(
        (len(_wrapped(line, scale)) * 1.25 + line.gap_after) * line.size * scale for line in lines
    )
    return points / (A4[1] * 72)


def _place(figure: Figure, lines: list[Line], top: float, bottom: float, align: str) -> float:
    """Draw `lines` from `top`, shrunk until they end above `bottom`; returns where they end."""
    scale = 1.0
    while scale > 0.3 and _height(lines, scale) > top - bottom:
        scale *= 0.92
    x = 0.5 if align == "center" else MARGIN
    y = top
    for line in lines:
        size = line.size * scale
        step = size * 1.25 / (A4[1] * 72)
        for text in _wrapped(line, scale):
            drawn = figure.text(
                x, y, text, ha=align, va="top", fontsize=size, fontweight=line.weight,
                color=line.colour, parse_math=False, wrap=False,
            )  # fmt: skip
            _fit(figure, drawn, size)
            y -= step
        y -= line.gap_after * size / (A4[1] * 72)
    return y
