"""Screens to Telegram messages: HTML text (escaped) and inline keyboards.

Script texts and translations may contain `<`, `>` and `&`; everything that is
not our own markup goes through `html.escape`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.infra.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, _
from bot.services.dialog_phrases import YES_NO_LABELS, pick
from bot.services.dialog_service import Step
from bot.telegram.callbacks import encode
from dialogs.model import Question

BACK = _("◀ Back")
SKIP = _("Skip ▶")
PAUSE = _("⏸ Later")
DONE = _("Done ✓")
CONTINUE = _("▶ Continue")
START = _("▶ Start now")
LATER = _("⏰ Remind me later")
TYPE_COMMENT = _("Type your comment as a message, or tap Skip.")
TYPE_ANSWER = _("Type your answer as a message.")


@dataclass(frozen=True, slots=True)
class View:
    text: str
    keyboard: InlineKeyboardMarkup | None = None

    def key(self) -> tuple[str, tuple[tuple[tuple[str, str], ...], ...]]:
        """What Telegram compares for "message is not modified": text and buttons."""
        if self.keyboard is None:
            return self.text, ()
        rows = tuple(
            tuple((b.text, b.callback_data or b.url or "") for b in row)  # type: ignore[misc]
            for row in self.keyboard.inline_keyboard
        )
        return self.text, rows


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def question_view(step: Step, t: Translator) -> View:
    screen = step.screen
    question = screen.question
    assert question is not None
    lang = t.language
    script = step.loaded.script
    head = f"<b>{escape(pick(script.title, lang))}</b> · {screen.number}/{screen.total}"
    lines = [head, "", escape(pick(question.text, lang))]
    sid, at = step.session_id, screen.step
    rows: list[list[InlineKeyboardButton]] = []
    if screen.phase == "follow_up":
        assert question.follow_up is not None
        lines += ["", f"<b>{escape(pick(question.follow_up.text, lang))}</b>"]
        lines.append(f"<i>{escape(t(TYPE_COMMENT))}</i>")
    else:
        if question.hint:
            lines.append(f"<i>{escape(pick(question.hint, lang))}</i>")
        if question.type == "text":
            lines.append(f"<i>{escape(t(TYPE_ANSWER))}</i>")
        rows = _option_rows(step, question, t)
    nav = []
    if screen.can_back:
        nav.append(button(t(BACK), encode("b", sid, at)))
    if screen.can_skip:
        nav.append(button(t(SKIP), encode("s", sid, at)))
    nav.append(button(t(PAUSE), encode("p", sid, at)))
    rows.append(nav)
    return View("\n".join(lines), InlineKeyboardMarkup(rows))


def _option_rows(step: Step, question: Question, t: Translator) -> list[list[InlineKeyboardButton]]:
    screen = step.screen
    sid, at = step.session_id, screen.step
    lang = t.language
    current = screen.answer
    chosen = None if current is None or current.skipped else current.value

    def mark(value: object, label: str) -> str:
        is_chosen = chosen == value or (
            current is not None and value == "n" and current.not_applicable
        )
        return f"✓ {label}" if is_chosen else label

    if question.type == "yes_no":
        return [
            [
                button(mark(value, t(label)), encode("a", sid, at, i))
                for i, (value, label) in enumerate(YES_NO_LABELS.items())
            ]
        ]
    if question.type == "nps":
        cells = [button(mark(n, str(n)), encode("a", sid, at, n)) for n in range(11)]
        return [cells[:6], cells[6:]]
    if question.type == "text":
        return []
    options = step.loaded.engine.options(question)
    if question.type == "multi":
        rows = [
            [button(("☑ " if str(o.value) in screen.selected else "☐ ") + _label(o, lang),
                    encode("t", sid, at, i))]
            for i, o in enumerate(options)
        ]  # fmt: skip
        rows.append([button(t(DONE), encode("c", sid, at))])
        return rows
    rows = [
        [button(mark(o.value, _label(o, lang)), encode("a", sid, at, i))]
        for i, o in enumerate(options)
    ]
    if question.type == "scale" and question.scale:
        not_applicable = step.loaded.script.scales[question.scale].not_applicable
        if not_applicable:
            rows.append([button(mark("n", pick(not_applicable, lang)), encode("a", sid, at, "n"))])
    return rows


def _label(option: object, lang: str) -> str:
    text = pick(option.label, lang)  # type: ignore[attr-defined]
    emoji = option.emoji  # type: ignore[attr-defined]
    return f"{emoji} {text}" if emoji else text


def finished_view(step: Step, t: Translator, changes: list[str] | None = None) -> View:
    script = step.loaded.script
    lines = [
        f"<b>{escape(pick(script.title, t.language))}</b>",
        "",
        escape(pick(script.thanks, t.language)),
    ]
    if changes:
        lines += ["", f"<b>{escape(t('What we changed after your feedback:'))}</b>"]
        lines += [escape(change) for change in changes]
    return View("\n".join(lines))


def paused_view(step: Step, t: Translator) -> View:
    script = step.loaded.script
    text = f"<b>{escape(pick(script.title, t.language))}</b>\n\n" + escape(
        t("Paused. Your answers so far are saved; continue whenever you like.")
    )
    return View(text, InlineKeyboardMarkup([[button(t(CONTINUE), encode("r", step.session_id))]]))


def intro_text(step: Step, t: Translator) -> str:
    script = step.loaded.script
    lines = [f"<b>{escape(pick(script.title, t.language))}</b>"]
    if script.intro:
        lines += ["", escape(pick(script.intro, t.language))]
    return "\n".join(lines)


def checkin_invitation(t: Translator, reminder: bool) -> View:
    text = (
        t("A gentle reminder: your weekly check-in is still open. It takes about a minute.")
        if reminder
        else t("Your weekly check-in is ready. It takes about a minute.")
    )
    keyboard = InlineKeyboardMarkup(
        [[button(t(START), encode("go"))], [button(t(LATER), encode("later"))]]
    )
    return View(escape(text), keyboard)


def language_keyboard(code: str = "") -> InlineKeyboardMarkup:
    rows = [[button(LANGUAGE_NAMES[lang], encode("L", lang, code))] for lang in LANGUAGES]
    return InlineKeyboardMarkup(rows)


def plain(text: str) -> str:
    """A translated sentence as HTML message text."""
    return escape(text)
