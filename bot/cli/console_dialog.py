"""A dialog played in the terminal, with the same engine and storage as the bot.

It reads standard input line by line, so it can be piped. The end of input
pauses the session, and the next run resumes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TextIO

from bot.infra.i18n import Translator, translator
from bot.services.dialog_phrases import YES_NO_LABELS, explain, pick
from bot.services.dialog_service import AlreadySubmitted, Press, Respondent, Step
from bot.services.onboarding import already_answered
from bot.services.organisations import TERMINAL_USER, Organisations, SetupError
from bot.services.runtime import Runtime
from dialogs.engine import NOT_APPLICABLE_TOKEN, Action, Choice
from dialogs.model import Question
from dialogs.step_errors import DialogError, InvalidAnswer

# Telegram user ids are positive, so 0 is never a real person: it is the terminal.


@dataclass(frozen=True, slots=True)
class ConsoleRequest:
    script_id: str
    language: str
    audience: str  # "staff" | "service_user"
    org_id: int | None = None
    user: int = TERMINAL_USER


class Console:
    def __init__(self, runtime: Runtime, language: str, out: TextIO, read: TextIO) -> None:
        self.runtime = runtime
        self.language = language
        self.t: Translator = translator(language)
        self.out = out
        self.read = read

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self, request: ConsoleRequest) -> int:
        rt = self.runtime
        organisations = Organisations(rt.db)
        try:
            org = await (
                organisations.get(request.org_id) if request.org_id else organisations.default()
            )
        except SetupError:
            self.say(self.t("There is no organisation with the number {org}.", org=request.org_id))
            return 2
        if request.audience == "staff":
            person_id = await organisations.person(request.user, self.language)
            who = Respondent(request.user, person_id=person_id)
        else:
            who = Respondent(request.user, key=rt.identities.key(request.user))
        try:
            step = await rt.dialogs.begin(
                script_id=request.script_id,
                org_id=org.id,
                unit_id=None,
                respondent=who,
                language=self.language,
            )
        except AlreadySubmitted as answered:
            refusal = already_answered(answered, self.language)
            self.say(self.t(refusal.message, **refusal.params))
            return 0
        script = step.loaded.script
        if step.resumed:
            self.say(self.t("Welcome back: continuing where you left off."))
        else:
            self.say(pick(script.title, self.language))
            if script.intro:
                self.say(pick(script.intro, self.language))
        return await self._loop(step, who)

    async def _loop(self, step: Step, who: Respondent) -> int:
        dialogs = self.runtime.dialogs
        while step.screen.phase != "done":
            self.show(step)
            line = await asyncio.to_thread(self.read.readline)
            if line == "":  # end of input: keep the place for the next run
                await dialogs.press(Press(who.telegram_id, step.session_id, "pause"))
                self.say(self.t("Paused. Run the same command again to continue."))
                return 0
            try:
                action, value, token = self.parse(step, line.rstrip("\r\n"))
            except DialogError as error:
                self.say(explain(self.t, error))
                continue
            press = Press(who.telegram_id, step.session_id, action, token=token, value=value)
            reply = await dialogs.press(press)
            if reply.refusal is not None:
                self.say(explain(self.t, reply.refusal))
                continue
            assert reply.step is not None
            step = reply.step
            if step.help is not None:
                self.say()
                self.say(self.t("🤝 You can get help"))
                self.say(step.help)
            if step.screen.phase == "paused":
                self.say(self.t("Paused. Run the same command again to continue."))
                return 0
        self.say(pick(step.loaded.script.thanks, self.language))
        if step.offers:  # the console cannot receive a reply, so none is offered
            self.say(self.t("Anonymous replies to comments work on Telegram only; none is kept."))
        return 0

    def show(self, step: Step) -> None:
        screen = step.screen
        question = screen.question
        assert question is not None
        lang = self.language
        self.say()
        if screen.phase == "follow_up":
            assert question.follow_up is not None
            self.say(pick(question.follow_up.text, lang))
            self.say(self.t("Type a comment, or an empty line to skip. b = back, p = pause"))
            self.out.write("> ")
            self.out.flush()
            return
        self.say(f"[{screen.number}/{screen.total}] {pick(question.text, lang)}")
        if question.hint:
            self.say("  " + pick(question.hint, lang))
        for key, label in self.choices(step, question):
            self.say(f"  {key:>2}  {label}")
        if question.type == "text":
            help_text = self.t("Type your answer.")
        elif question.type == "multi":
            help_text = self.t("Type the numbers of all that apply, separated by spaces.")
        elif question.type == "nps":
            help_text = self.t("Type a number from 0 (not at all likely) to 10 (extremely likely).")
        else:
            help_text = self.t("Type a number.")
        keys = (
            self.t("b = back, s = skip, p = pause")
            if screen.can_skip
            else self.t("b = back, p = pause")
        )
        if question.type == "text" and screen.can_skip:
            keys = self.t("an empty line = skip, b = back, p = pause")
        self.say(f"{help_text} {keys}")
        self.out.write("> ")
        self.out.flush()

    def choices(self, step: Step, question: Question) -> list[tuple[str, str]]:
        """The engine's choices, numbered from 1 as typed; "n" for not applicable."""
        listed = []
        for number, choice in enumerate(step.loaded.engine.choices(question), 1):
            if choice.token == NOT_APPLICABLE_TOKEN:
                key = "n"
                label = pick(choice.label, self.language)
            elif choice.label is not None:
                key = str(number)
                text = pick(choice.label, self.language)
                label = f"{choice.emoji} {text}" if choice.emoji else text
            elif question.type == "yes_no":
                key, label = str(number), self.t(YES_NO_LABELS[str(choice.value)])
            else:
                continue  # 0-10 is typed as the number itself
            listed.append((key, label))
        return listed

    def parse(self, step: Step, line: str) -> tuple[Action, object, str | None]:
        """A typed line to a dialog action with a value or a choice's token."""
        screen = step.screen
        command = line.strip().lower()
        if command == "b":
            return "back", None, None
        if command == "p":
            return "pause", None, None
        question = screen.question
        assert question is not None
        free_text = screen.phase == "follow_up" or question.type == "text"
        if command == "" and free_text:
            return "skip", None, None
        if command == "s" and not free_text:
            return "skip", None, None
        if free_text or question.type == "nps":
            return "answer", line, None
        if question.type == "scale" and command == NOT_APPLICABLE_TOKEN:
            return "answer", None, NOT_APPLICABLE_TOKEN
        numbered = [c for c in step.loaded.engine.choices(question) if c.token.isdigit()]
        if question.type == "multi":
            picked = [_by_number(numbered, part) for part in command.replace(",", " ").split()]
            return "answer", [str(c.value) for c in picked], None
        return "answer", None, _by_number(numbered, command).token


def _by_number(choices: list[Choice], typed: str) -> Choice:
    """The choice at a typed 1-based number; out of range is said with the range."""
    try:
        number = int(typed)
    except ValueError:
        raise InvalidAnswer("not_a_number", f"not a number: {typed!r}") from None
    if not 1 <= number <= len(choices):
        raise InvalidAnswer("out_of_range", f"{number}", low=1, high=len(choices))
    return choices[number - 1]
