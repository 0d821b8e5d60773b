"""Translated phrases that the console and the Telegram renderer share."""

from __future__ import annotations

from bot.infra.i18n import Translator, _
from dialogs.model import Text
from dialogs.step_errors import DialogError

YES_NO_LABELS = {"yes": _("Yes"), "no": _("No"), "unsure": _("Not sure")}

ERRORS = {
    "not_a_number": _("Please type a number."),
    "out_of_range": _("Please choose a number from {low} to {high}."),
    "not_an_option": _("Please choose one of the options shown."),
    "too_long": _("That is too long: at most {limit} characters."),
    "empty": _("Please type an answer."),
    "required": _("This question needs an answer."),
    "no_previous": _("This is the first question."),
    "finished": _("This check-in is already finished."),
    "paused": _("This check-in is paused."),
    "stale": _("That button belongs to an earlier question."),
    "corrupt_state": _("This check-in cannot be continued. Please start a new one."),
    "not_yours": _("This button is not for you."),
    "preview_ended": _("This preview has ended."),
    "nothing_open": _("Please use the buttons, or send /help."),
    "use_buttons": _("Please answer with the buttons above."),
}


def explain(t: Translator, error: DialogError) -> str:
    """One translated line for a refused step."""
    message = ERRORS.get(error.code, _("That did not work. Please try again."))
    params = {k: v for k, v in error.params.items() if k in ("low", "high", "limit")}
    return t(message, **params)


def pick(text: Text | None, language: str) -> str:
    """A script text in the person's language, else English, else any."""
    if not text:
        return ""
    return text.get(language) or text.get("en") or next(iter(text.values()))  # type: ignore[call-overload]
