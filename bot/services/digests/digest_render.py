"""The digest in words, for a manager in their language: Telegram messages, text, report, JSON.

Templates live in `templates/` and autoescape everything, so a comment, an
action title or a translation containing `<` or `&` arrives as text, never as
markup. Translated strings reach the templates through `t`; their msgids are
listed in `digest_phrases` for extraction.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.infra.i18n import translator
from bot.infra.message_split import split_message
from bot.services.digests import locale_format as formatting
from bot.services.digests.digest_chart import render_chart
from bot.services.digests.digest_model import ActionLine, Comment, Digest, GroupScore, ItemScore
from bot.services.digests.digest_phrases import ACTION_KINDS, ACTION_MARKS, AUDIENCE_LABELS
from frameworks import Frameworks

TEMPLATES = Path(__file__).with_name("templates")
# Comments shown in Telegram; the report shows every one the digest holds.
TELEGRAM_COMMENTS = 5


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

    @property
    def parts(self) -> tuple[str, ...]:
        """What is sent, in order, each on its own: it is delivered, or retried, alone."""
        messages = tuple(f"message {n}" for n in range(1, len(self.messages) + 1))
        return (*messages, "chart", "report", *(("plan",) if self.weak_items else ()))


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
    template = _environment().get_template("telegram.html.j2")
    return template.render(_context(digest, frameworks, language)).strip() + "\n"


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
    )


def weak_spots(digest: Digest, frameworks: Frameworks, language: str) -> list[tuple[str, str]]:
    """(item id, item name) of the weakest items: the "Plan an action" buttons."""
    framework = frameworks.get(digest.lens)
    return [(i, framework.items[i].name(language)) for i in digest.weakest]


def _context(digest: Digest, frameworks: Frameworks, language: str) -> dict[str, Any]:
    t = translator(language)
    framework = frameworks.get(digest.lens)

    def name(item: ItemScore) -> str:
        return framework.items[item.item_id].name(language)

    def score(value: float | None) -> str:
        return formatting.score(value, language)

    def cell(group: GroupScore) -> str:
        if group.mean is not None:
            moved = formatting.change(group.delta, language)
            return f"{score(group.mean)} ({moved})" if moved else score(group.mean)
        return t("fewer than {k}", k=digest.k) if group.suppressed else "—"

    def ranking(ids: Iterable[str]) -> str:
        return " · ".join(f"{name(digest.item(i))} {score(digest.item(i).score)}" for i in ids)

    def who(comment: Comment) -> str:
        return t(AUDIENCE_LABELS[comment.audience])

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

    def check(action: ActionLine) -> str:
        if action.baseline is None:
            return t("{item}: no baseline to compare with", item=action_item(action))
        if action.now is None:
            return t("{item}: not enough answers this week to compare", item=action_item(action))
        return t(
            "{item}: {before} → {now} ({change})",
            item=action_item(action),
            before=score(action.baseline),
            now=score(action.now),
            change=formatting.change(action.change, language),
        )

    answered = [i for i in digest.items if i.has_answers]
    unanswered = [name(i) for i in digest.items if not i.has_answers]
    more = max(0, len(digest.comments) - TELEGRAM_COMMENTS)
    where = digest.org_name + (f" · {digest.unit_name}" if digest.unit_name else "")
    return {
        "d": digest,
        "t": t,
        "language": t.language,
        "where": where,
        "span": formatting.week_span(digest.start, digest.end, language),
        "lens_name": framework.name(language),
        "generated": _generated(digest.generated_at, language),
        "staff_line": t(
            "Staff: {answered} of {enrolled} answered",
            answered=digest.staff_answered,
            enrolled=digest.staff_enrolled,
        ),
        "users_line": t.plural(
            "{n} service-user response", "{n} service-user responses", digest.service_user_responses
        ),
        "answered": answered,
        "unanswered": ", ".join(unanswered),
        "gaps": [digest.item(i) for i in digest.gaps],
        "gap_threshold": formatting.score(digest.gap_threshold, language, 2),
        "strongest": digest.strongest,
        "weakest": digest.weakest,
        "comments": _balanced(digest.comments, TELEGRAM_COMMENTS),
        "more_comments": (
            t.plural("…and {n} more in the full report.", "…and {n} more in the full report.", more)
            if more
            else ""
        ),
        "action_mark": ACTION_MARKS,
        "kind_label": {kind: t(label) for kind, label in ACTION_KINDS.items()},
        "name": name,
        "score": score,
        "score2": lambda v: formatting.score(v, language, 2),
        "change2": lambda v: formatting.change(v, language, 2),
        "cell": cell,
        "ranking": ranking,
        "who": who,
        "day": day,
        "action_item": action_item,
        "action_tail": action_tail,
        "check": check,
    }


def _balanced(comments: tuple[Comment, ...], limit: int) -> list[Comment]:
    """The newest comments, taken in turn from staff and service users so neither drowns out."""
    queues = [[c for c in comments if c.audience == a] for a in ("staff", "service_user")]
    picked: list[Comment] = []
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
