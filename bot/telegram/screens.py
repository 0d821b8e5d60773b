"""A dialog's screens as Telegram messages: HTML text (escaped) and inline keyboards.

Script texts and translations may contain `<`, `>` and `&`; everything that is
not our own markup goes through `html.escape`. The buttons of a question are the
engine's choices, each carrying its token: rendering decides only how they look.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.infra.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, _
from bot.services.dialog_phrases import YES_NO_LABELS, pick
from bot.services.dialog_service import Step
from bot.services.digests.improvement_actions import WHAT_WE_CHANGED
from bot.telegram.callbacks import encode
from bot.telegram.replies import View, button
from dialogs.engine import NOT_APPLICABLE, Choice
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
    choices = step.loaded.engine.choices(question)
    current = screen.answer
    chosen = None if current is None or current.skipped else current.value

    def mark(choice: Choice) -> str:
        label = choice_label(choice, question, t)
        answered = chosen == choice.value or (
            current is not None and current.not_applicable and choice.value == NOT_APPLICABLE
        )
        return f"✓ {label}" if answered else label

    if question.type == "yes_no":
        return [[button(mark(c), encode("a", sid, at, c.token)) for c in choices]]
    if question.type == "nps":
        cells = [button(mark(c), encode("a", sid, at, c.token)) for c in choices]
        return [cells[:6], cells[6:]]
    if question.type == "multi":
        rows = [
            [button(("☑ " if str(c.value) in screen.selected else "☐ ")
                    + choice_label(c, question, t), encode("t", sid, at, c.token))]
            for c in choices
        ]  # fmt: skip
        rows.append([button(t(DONE), encode("c", sid, at))])
        return rows
    return [[button(mark(c), encode("a", sid, at, c.token))] for c in choices]


def choice_label(choice: Choice, question: Question, t: Translator) -> str:
    """How a choice reads: the script's label (with its emoji), a translated yes/no, a digit."""
    if choice.label is not None:
        text = pick(choice.label, t.language)
        return f"{choice.emoji} {text}" if choice.emoji else text
    if question.type == "yes_no":
        return t(YES_NO_LABELS[str(choice.value)])
    return str(choice.value)


def step_view(step: Step, t: Translator) -> View:
    """The screen a step leaves the session on."""
    phase = step.screen.phase
    if phase == "done":
        return finished_view(step, t)
    if phase == "paused":
        return paused_view(step, t)
    return question_view(step, t)


def help_view(help_text: str, t: Translator) -> View:
    """The organisation's safeguarding help, shown at once after an answer that calls for it."""
    return View(f"<b>{escape(t('🤝 You can get help'))}</b>\n\n{escape(help_text)}")


def finished_view(step: Step, t: Translator) -> View:
    script = step.loaded.script
    lines = [
        f"<b>{escape(pick(script.title, t.language))}</b>",
        "",
        escape(pick(script.thanks, t.language)),
    ]
    if step.changes:
        lines += ["", f"<b>{escape(t(WHAT_WE_CHANGED))}</b>"]
        lines += [escape(change) for change in step.changes]
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
