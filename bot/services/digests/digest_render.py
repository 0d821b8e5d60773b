"""The digest in words, for a manager in their language: Telegram messages, text, report, JSON.

Templates live in `templates/` and autoescape everything, so a comment, an
action title or a translation containing `<` or `&` arrives as text, never as
markup. The words are put together here, in one view both templates read, so the
message and the report say the same thing; translated strings reach the templates
through `t`, and the msgids the templates use are listed in `digest_phrases`.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.infra.i18n import Translator, translator
from bot.infra.message_split import split_message
from bot.services.digests import locale_format as formatting
from bot.services.digests.digest_chart import render_chart
from bot.services.digests.digest_model import (
    AUDIENCES,
    ActionLine,
    Audience,
    Change,
    Comment,
    Digest,
    Direction,
    GroupScore,
    Participation,
)
from bot.services.digests.digest_phrases import (
    ACTION_KINDS,
    ACTION_MARKS,
    AUDIENCE_GROUPS,
    AUDIENCE_LABELS,
    COMPARISONS,
    COVERAGE_ALL,
    COVERAGE_NONE,
    COVERAGE_SOME,
    LEANS_MARK,
    LEANS_NOTE,
    STRONGEST,
    WEAKEST,
)
from bot.services.digests.digest_trend import trend_charts
from bot.services.safeguarding import line_text
from frameworks import Frameworks

TEMPLATES = Path(__file__).with_name("templates")
# Comments shown in Telegram; the report shows every one the digest holds.
TELEGRAM_COMMENTS = 5


@dataclass(frozen=True)
class GroupLine:
    """One audience's row of an item, in words: its figure and change, or why there is none."""

    audience: Audience
    label: str  # "Staff", "Service users"
    figure: str | None  # "3.4 ±0.3 · n 11"
    leans: bool
    change: str | None  # "up from 3.1", "steady"; None without a previous figure
    direction: Direction | None
    status: str | None  # "fewer than 5" and the like, when there is no figure

    @property
    def text(self) -> str:
        """The row on one line: "3.4 ±0.3 · n 11 †, up from 3.1"."""
        if self.figure is None:
            return self.status or ""
        shown = f"{self.figure} {LEANS_MARK}" if self.leans else self.figure
        return f"{shown}, {self.change}" if self.change else shown


@dataclass(frozen=True)
class ItemLine:
    """An item with the rows of the audiences asked about it."""

    item_id: str
    number: int
    name: str
    groups: tuple[GroupLine, ...]


@dataclass(frozen=True)
class Ranking:
    mark: str
    label: str  # "Strongest, staff"
    text: str  # "Rights 4.2 · Ethics 4.1"


@dataclass(frozen=True)
class CommentLine:
    audience: Audience
    label: str  # "Staff · Rights, Ethics"
    text: str


@dataclass(frozen=True)
class ComparisonLine:
    """One item against a window further back, per audience asked: "up by 0.4"."""

    name: str
    shifts: tuple[tuple[str, str], ...]  # (audience label, words)


@dataclass(frozen=True)
class ComparisonView:
    title: str  # "Half a year ago: 9 Mar – 3 May 2026 (2026-W11–W18)"
    lines: tuple[ComparisonLine, ...]  # none: not enough data


@dataclass(frozen=True)
class RenderedDigest:
    """Everything the Telegram layer sends for one digest, in one language."""

    messages: tuple[str, ...]  # HTML parse mode, each within Telegram's 4096
    chart_png: bytes
    report_html: str
    report_name: str  # a file name for the document attachment
    org_id: int
    unit_id: int | None
    period: str
    lens: str
    weak_items: tuple[tuple[str, str], ...]  # (item id, name): the "Plan an action" buttons
    comments: int = 0  # comments the digest holds: the "All comments" button

    @property
    def parts(self) -> tuple[str, ...]:
        """What is sent, in order, each on its own: it is delivered, or retried, alone."""
        messages = tuple(f"message {n}" for n in range(1, len(self.messages) + 1))
        plan = ("plan",) if self.weak_items else ()
        return (*messages, "chart", "report", *plan, *(("comments",) if self.comments else ()))


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def telegram_html(digest: Digest, frameworks: Frameworks, language: str) -> str:
    """The whole Telegram text, before splitting into messages."""
    context = _context(digest, frameworks, language)
    context["comments"] = _balanced(context["comments"], TELEGRAM_COMMENTS)
    template = _environment().get_template("telegram.html.j2")
    return template.render(context).strip() + "\n"


def telegram_messages(digest: Digest, frameworks: Frameworks, language: str) -> list[str]:
    """The digest as Telegram HTML messages, split cleanly when longer than one."""
    return split_message(telegram_html(digest, frameworks, language))


def plain_text(digest: Digest, frameworks: Frameworks, language: str) -> str:
    """The Telegram text without markup, for a terminal or a plain e-mail."""
    text = telegram_html(digest, frameworks, language)
    text = re.sub(r"<blockquote>(.*?)</blockquote>", r"  > \1", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def report_html(
    digest: Digest, frameworks: Frameworks, language: str, chart_png: bytes | None = None
) -> str:
    """A self-contained printable page: styles inline, the chart as a data URI."""
    png = render_chart(digest, frameworks, language) if chart_png is None else chart_png
    context = _context(digest, frameworks, language)
    context["chart"] = base64.b64encode(png).decode("ascii") if png else ""
    context["trend"] = trend_charts(digest, context["names"], context["t"])
    return _environment().get_template("report.html.j2").render(context)


def digest_json(digest: Digest) -> str:
    """The computed numbers, nothing below k (the Digest holds no such mean to begin with)."""
    return json.dumps(dataclasses.asdict(digest), default=_json_value, ensure_ascii=False, indent=2)


def render_all(digest: Digest, frameworks: Frameworks, language: str) -> RenderedDigest:
    png = render_chart(digest, frameworks, language)
    scope = f"-unit{digest.unit_id}" if digest.unit_id is not None else ""
    return RenderedDigest(
        messages=tuple(telegram_messages(digest, frameworks, language)),
        chart_png=png,
        report_html=report_html(digest, frameworks, language, png),
        report_name=f"carecheck-{digest.org_id}{scope}-{digest.period}.html",
        org_id=digest.org_id,
        unit_id=digest.unit_id,
        period=digest.period,
        lens=digest.lens,
        weak_items=tuple(weak_spots(digest, frameworks, language)),
        comments=len(digest.comments),
    )


def comment_lines(digest: Digest, frameworks: Frameworks, language: str) -> list[CommentLine]:
    """Every comment the digest holds, labelled as the digest shows it (the full list)."""
    framework = frameworks.get(digest.lens)
    names = {i.item_id: framework.items[i.item_id].name(language) for i in digest.items}
    return [_comment_line(c, names, translator(language)) for c in digest.comments]


def weak_spots(digest: Digest, frameworks: Frameworks, language: str) -> list[tuple[str, str]]:
    """(item id, item name) of the weakest items: the "Plan an action" buttons."""
    framework = frameworks.get(digest.lens)
    return [(i, framework.items[i].name(language)) for i in digest.weak_items]


def _context(digest: Digest, frameworks: Frameworks, language: str) -> dict[str, Any]:
    """Everything both templates read, in words of `language`."""
    t = translator(language)
    framework = frameworks.get(digest.lens)
    names = {i.item_id: framework.items[i.item_id].name(language) for i in digest.items}

    def score(value: float | None) -> str:
        return formatting.score(value, language)

    def day(value: date | None) -> str:
        return formatting.day(value, language)

    def action_item(action: ActionLine) -> str:
        item = frameworks.item(action.framework, action.item_id)
        return item.name(language) if item is not None else action.item_id

    def action_tail(action: ActionLine) -> str:
        parts = [action.owner] if action.owner else []
        if action.due_on is not None:
            parts.append(t("due {date}", date=day(action.due_on)))
        return "".join(f" · {p}" for p in parts)

    def outcome(action: ActionLine) -> str:
        """A done action's check: its item's score when planned against now."""
        if action.baseline is None:
            return t("no baseline to compare with")
        if action.now is None:
            return t("not enough answers in this window to compare")
        return t(
            "{before} → {now} ({change})",
            before=score(action.baseline),
            now=score(action.now),
            change=formatting.signed(action.change, language),
        )

    def check(action: ActionLine) -> str:
        return f"{action_item(action)}: {outcome(action)}"

    def now(action: ActionLine) -> str:
        if action.now is None:
            return t("not enough answers in this window to compare")
        return f"{score(action.now)} ({formatting.signed(action.change, language)})"

    items = _item_lines(digest, names, t)
    level = formatting.level(language)
    where = digest.org_name + (f" · {digest.unit_name}" if digest.unit_name else "")
    comments = [_comment_line(c, names, t) for c in digest.comments]
    more = max(0, len(comments) - TELEGRAM_COMMENTS)
    return {
        "d": digest,
        "t": t,
        "language": t.language,
        "where": where,
        "names": names,
        "lens_name": framework.name(language),
        "generated": _generated(digest.generated_at, language),
        "window": t(
            "Scores of the window {dates} ({weeks})",
            dates=formatting.span_dates(digest.window, language),
            weeks=formatting.span_weeks(digest.window),
        ),
        "previous_window": t(
            "{dates} ({weeks})",
            dates=formatting.span_dates(digest.previous_window, language),
            weeks=formatting.span_weeks(digest.previous_window),
        ),
        "against": t(
            "change against the window before, {dates}",
            dates=formatting.span_dates(digest.previous_window, language),
        ),
        "level": level,
        "legend": t("± is the {level} interval, n the number of people who answered", level=level),
        "next_scores": t("The next scores come on {date}.", date=day(digest.next_scores)),
        "participation": _participation(digest.participation, digest.k, t),
        "previous_participation": _participation(digest.previous_participation, digest.k, t),
        "items": items,
        "coverage": _coverage(digest, names, t),
        "not_assessed": formatting.not_assessed(digest, names, t),
        "leans_note": f"{LEANS_MARK} {t(LEANS_NOTE)}"
        if any(g.leans for i in items for g in i.groups)
        else "",
        "gaps": [
            t(
                "{item}: staff {staff}, service users {users}",
                item=names[i],
                staff=score(digest.item(i).staff.mean),
                users=score(digest.item(i).service_users.mean),
            )
            for i in digest.gaps
        ],
        "gap_rule": t(
            "Where the two differ by at least {gap} and by more than their {level} interval.",
            gap=formatting.score(digest.gap_threshold, language, 2),
            level=level,
        ),
        "no_gaps": t("No item shows such a difference in this window."),
        "rankings": _rankings(digest, names, t),
        "comments": comments,
        "more_comments": (
            t.plural("…and {n} more in the full report.", "…and {n} more in the full report.", more)
            if more
            else ""
        ),
        "comparisons": _comparisons(digest, names, t),
        "trend_note": t.plural(
            "The last {n} window, oldest first.",
            "The last {n} windows, oldest first.",
            len(digest.trend),
        )
        + " "
        + t(
            "A gap in a line is a window whose score is not shown; a thin bar is a score's"
            " {level} interval.",
            level=level,
        ),
        "privacy": t(
            "Groups of fewer than {k} people show no numbers or comments: answers stay anonymous.",
            k=digest.k,
        ),
        "explanations": _explanations(digest, t),
        "action_mark": ACTION_MARKS,
        "kind_label": {kind: t(label) for kind, label in ACTION_KINDS.items()},
        "score": score,
        "day": day,
        "action_item": action_item,
        "action_tail": action_tail,
        "check": check,
        "check_now": now,
        "leans_mark": LEANS_MARK,
        "safeguarding": [line_text(line, t) for line in digest.safeguarding],
    }


def _item_lines(digest: Digest, names: dict[str, str], t: Translator) -> list[ItemLine]:
    """Every item with a row for each audience asked about it; items nobody is asked about
    are left out."""
    lines = []
    for item in digest.items:
        groups = tuple(
            _group_line(audience, item.of(audience), digest.k, t)
            for audience in AUDIENCES
            if item.of(audience).status != "not_asked"
        )
        if groups:
            lines.append(ItemLine(item.item_id, item.number, names[item.item_id], groups))
    return lines


def _group_line(audience: Audience, group: GroupScore, k: int, t: Translator) -> GroupLine:
    label = t(AUDIENCE_GROUPS[audience])
    found = group.figure
    if found is None:
        return GroupLine(audience, label, None, False, None, None, formatting.status(group, k, t))
    return GroupLine(
        audience,
        label,
        formatting.figure(found, t),
        found.leans,
        formatting.change_words(group, t),
        None if group.change is None else group.change.direction,
        None,
    )


def _participation(counts: Participation, k: int, t: Translator) -> tuple[str, str]:
    """Who answered in a window, staff then service users; a withheld count says so."""
    if counts.staff is None:
        staff = t("Staff: withheld to protect a group of fewer than {k}", k=k)
    else:
        staff = t(
            "Staff: {answered} of {enrolled} answered in the window",
            answered=counts.staff,
            enrolled=counts.staff_enrolled,
        )
    if counts.service_users is None:
        users = t("Service users: withheld to protect a group of fewer than {k}", k=k)
    else:
        users = t.plural(
            "Service users: {n} response in the window",
            "Service users: {n} responses in the window",
            counts.service_users,
        )
    return staff, users


def _coverage(digest: Digest, names: dict[str, str], t: Translator) -> list[str]:
    """One line per audience: the items it is asked about (by the live scripts: an item
    only earlier versions asked about is named as not assessed instead)."""
    lines = []
    for audience in AUDIENCES:
        asked = [i for i in digest.coverage.get(audience, ()) if i not in digest.not_assessed]
        if not asked:
            lines.append(t(COVERAGE_NONE[audience]))
        elif len(asked) == len(digest.items):
            lines.append(t(COVERAGE_ALL[audience]))
        else:
            lines.append(t(COVERAGE_SOME[audience], items=", ".join(names[i] for i in asked)))
    return lines


def _rankings(digest: Digest, names: dict[str, str], t: Translator) -> list[Ranking]:
    """Strongest and weakest per audience, each item with the score it is ranked on."""
    found = []
    for audience in AUDIENCES:
        for mark, label, ids in (
            ("👍", STRONGEST[audience], digest.strongest.get(audience, ())),
            ("👎", WEAKEST[audience], digest.weakest.get(audience, ())),
        ):
            if ids:
                text = " · ".join(
                    f"{names[i]} {formatting.score(digest.item(i).of(audience).mean, t.language)}"
                    for i in ids
                )
                found.append(Ranking(mark, t(label), text))
    return found


def _comment_line(comment: Comment, names: dict[str, str], t: Translator) -> CommentLine:
    """A comment under its writer's audience and the principles its question is about."""
    about = ", ".join(names.get(i, i) for i in comment.item_ids)
    label = t(AUDIENCE_LABELS[comment.audience]) + (f" · {about}" if about else "")
    return CommentLine(comment.audience, label, comment.text)


def _comparisons(digest: Digest, names: dict[str, str], t: Translator) -> list[ComparisonView]:
    """The window against half a year and a year before, for the items with data in both."""
    views = []
    by_label = {c.label: c for c in digest.comparisons}
    for label, when in COMPARISONS.items():
        found = by_label.get(label)
        if found is None:
            views.append(ComparisonView(t(when), ()))
            continue
        dates = t(
            "{dates} ({weeks})",
            dates=formatting.span_dates(found.span, t.language),
            weeks=formatting.span_weeks(found.span),
        )
        lines = []
        for index, item in enumerate(digest.items):
            sides: tuple[tuple[Audience, Change | None], ...] = (
                ("staff", found.staff[index]),
                ("service_user", found.service_users[index]),
            )
            asked = [(a, change) for a, change in sides if item.item_id in digest.coverage[a]]
            if any(change is not None for _a, change in asked):
                shifts = tuple(
                    (t(AUDIENCE_GROUPS[a]), formatting.shift(change, t)) for a, change in asked
                )
                lines.append(ComparisonLine(names[item.item_id], shifts))
        views.append(ComparisonView(t("{when}: {what}", when=t(when), what=dates), tuple(lines)))
    return views


def _explanations(digest: Digest, t: Translator) -> list[str]:
    """The footer of the report: how every number in it was made."""
    return [
        t(
            "Each score is the mean, on a 1–5 scale, of the people who answered in the window;"
            " n is the number of distinct people: each counts once, however often they answered."
        ),
        t.plural(
            "A window is {n} week. Windows never overlap, and a window's scores come out when"
            " it is over, so reading a digest twice gives the same numbers.",
            "A window is {n} weeks. Windows never overlap, and a window's scores come out when"
            " it is over, so reading a digest twice gives the same numbers.",
            digest.window.weeks,
        ),
        t(
            "± is the {level} interval: where the score would most likely be if everyone had"
            " answered. A change or a gap is called one only when its own {level} interval"
            " leaves out zero; otherwise it is steady.",
            level=formatting.level(t.language),
        ),
        t(
            "Groups of fewer than {k} people show no numbers or comments, and a group is also"
            " withheld when, with what is shown, it would reveal a smaller one: answers stay"
            " anonymous.",
            k=digest.k,
        ),
        t(
            "{mark} A unit's score with this mark leans on its organisation's: with few answers"
            " of its own, it is pulled toward the organisation's score.",
            mark=LEANS_MARK,
        ),
        t("Comments are shortened and contact details are removed."),
        t("The report contains no names and no Telegram accounts."),
    ]


def _balanced(comments: list[CommentLine], limit: int) -> list[CommentLine]:
    """The newest comments, taken in turn from staff and service users so neither drowns out."""
    queues = [[c for c in comments if c.audience == a] for a in AUDIENCES]
    picked: list[CommentLine] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return sorted(picked, key=comments.index)


def _generated(moment: datetime, language: str) -> str:
    return formatting.day(moment.date(), language) + moment.strftime(" %H:%M UTC")


def _json_value(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
