"""Numbers, figures, changes and dates the way the manager's language writes them.

Every number a digest prints passes through here, so the rules hold everywhere: the
locale's decimal separator (3,8 in Slovenian); an interval narrower than the last digit
shown is "±<0.1", never "±0.0"; a change that rounds to nothing carries no sign, never
"−0.0"; a change between two windows is said in words ("up from 3.1"), not as a
signed number a reader would take for exact.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date, format_interval
from babel.numbers import format_decimal, format_percent

from bot.infra.i18n import Translator
from bot.services.digests.digest_model import Change, Digest, Figure, GroupScore, Span
from bot.services.digests.digest_phrases import NOT_ASSESSED, STATUS_TEXTS

DECIMALS = 1
LEVEL = 0.9  # of every interval the digest shows
# The organisations are in Europe: their English readers put the day before the month.
_LOCALES = {"en": "en_GB"}


def _locale(language: str) -> str:
    return _LOCALES.get(language, language)


def _pattern(decimals: int) -> str:
    return "0." + "0" * decimals if decimals else "0"


def score(value: float | None, language: str, decimals: int = DECIMALS) -> str:
    """A mean on the 1-5 scale, e.g. "3.8" or "3,8"; a dash for none."""
    if value is None:
        return "—"
    return format_decimal(value, _pattern(decimals), locale=_locale(language))


def magnitude(value: float, language: str, decimals: int = DECIMALS) -> str:
    """A size without a sign: "0.3", or "<0.1" when it would round to nothing."""
    text = score(abs(value), language, decimals)
    if text == score(0.0, language, decimals):
        return "<" + score(10.0**-decimals, language, decimals)
    return text


def signed(value: float | None, language: str, decimals: int = DECIMALS) -> str:
    """ "+0.3" or "−0.2" with a real minus; a change that rounds to nothing has no sign."""
    if value is None:
        return ""
    zero = score(0.0, language, decimals)
    text = score(abs(value), language, decimals)
    if text == zero:
        return zero
    return ("+" if value > 0 else "−") + text


def figure(found: Figure, t: Translator, decimals: int = DECIMALS) -> str:
    """A shown score in a few characters: "3.4 ±0.3 · n 11" (just the n without an interval)."""
    mean = score(found.mean, t.language, decimals)
    if found.half_width is None:
        return t("{mean} · n {n}", mean=mean, n=found.n)
    half = magnitude(found.half_width, t.language, decimals)
    return t("{mean} ±{half} · n {n}", mean=mean, half=half, n=found.n)


def status(group: GroupScore, k: int, t: Translator) -> str:
    """Why an asked group has no figure: "fewer than 5", "withheld: …", "no answers"."""
    return t(STATUS_TEXTS[group.status], k=k)


def change_words(group: GroupScore, t: Translator, decimals: int = DECIMALS) -> str | None:
    """ "up from 3.1", "down from 3.6" or "steady"; None without a previous figure.

    A change too small to see at `decimals` shows the previous score one digit finer,
    so "3.1, up from 3.1" cannot happen.
    """
    if group.change is None or group.previous is None or group.figure is None:
        return None
    direction = group.change.direction
    if direction == "steady":
        return t("steady")
    then = score(group.previous.mean, t.language, decimals)
    if then == score(group.figure.mean, t.language, decimals):
        then = score(group.previous.mean, t.language, decimals + 1)
    if direction == "up":
        return t("up from {score}", score=then)
    return t("down from {score}", score=then)


def not_assessed(digest: Digest, names: dict[str, str], t: Translator) -> str:
    """The items of the lens no live question asks about, by number and name; "" when none."""
    numbers = {i.item_id: i.number for i in digest.items}
    listed = [f"{numbers[i]}. {names[i]}" for i in digest.not_assessed if i in names]
    return t(NOT_ASSESSED, items="; ".join(listed)) if listed else ""


def shift(change: Change | None, t: Translator, decimals: int = DECIMALS) -> str:
    """A change against a window further back: "up by 0.4", "down by 0.3", "steady"."""
    if change is None:
        return t("not enough data")
    size = magnitude(change.value, t.language, decimals)
    if change.direction == "up":
        return t("up by {change}", change=size)
    if change.direction == "down":
        return t("down by {change}", change=size)
    return t("steady")


def level(language: str) -> str:
    """The intervals' level as the language writes a percentage: "90%", "90 %".

    A placeholder rather than part of the msgids: gettext reads "90% i" as a format.
    """
    return format_percent(LEVEL, locale=_locale(language))


def day(value: date | None, language: str) -> str:
    """A day, e.g. "28 Dec 2026" or "28. dec. 2026"; empty for none."""
    return "" if value is None else format_date(value, "medium", locale=_locale(language))


def span_dates(span: Span, language: str) -> str:
    """A window's days as the language writes a range, e.g. "7 Sept – 1 Nov 2026"."""
    return format_interval(span.start, span.end, "yMMMd", locale=_locale(language))


def span_weeks(span: Span) -> str:
    """A window's ISO weeks, the year said once when it does not change: "2026-W37–W44"."""
    first_year, _sep, _week = span.first_week.partition("-")
    last_year, _sep, last_week = span.last_week.partition("-")
    if span.first_week == span.last_week:
        return span.first_week
    tail = last_week if first_year == last_year else span.last_week
    return f"{span.first_week}–{tail}"


def month(value: date, language: str) -> str:
    """A month on its own, for a date axis: "Sept", "zář"."""
    return format_date(value, "LLL", locale=_locale(language))


def year(value: date, language: str) -> str:
    return format_date(value, "y", locale=_locale(language))
