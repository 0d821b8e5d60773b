"""Simulated people for the crash and fault suites, and the bot as a process to kill.

Each person answers through the fake Bot API the way a person does: look at the newest
screen, tap or type, wait for the bot, and try again when nothing happened (a
"Something went wrong" notice, or silence because the bot died). What the bot
acknowledged, meaning it showed the next screen, is recorded, so a suite can hold it
against the database afterwards with `audit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.infra.i18n import translator
from bot.services.onboarding import ALREADY_ANSWERED
from bot.services.script_registry import shipped_texts
from bot.telegram.replies import SOMETHING_WRONG
from dialogs import SHIPPED_SCRIPTS
from dialogs.validate import validate_source
from frameworks import default_frameworks
from storage.secret import load_or_create_secret
from tests.fakebotapi.models import StoredMessage, User
from tests.fakebotapi.server import ApiCall, FakeBotAPI
from tests.replica_harness import PUBLIC_URL, SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent
ALREADY_ANSWERED_START = translator("en")(ALREADY_ANSWERED).split("{day}")[0]  # then the day
WELCOME_BACK = "Welcome back: continuing where you left off."
TYPE_COMMENT = "Type your comment as a message, or tap Skip."
TYPE_ANSWER = "Type your answer as a message."
DIALOG_KINDS = frozenset("atcsbpr")
ANSWERS_PER_PERSON = 6  # five check-in questions or seven feedback questions, roughly
SOMETHING_WRONG_EN = translator("en")(SOMETHING_WRONG)

Kind = Literal["none", "asking", "follow_up", "text", "paused", "done"]


# ---------------------------------------------------------------- the scripts


@dataclass(frozen=True)
class Catalogue:
    """What the shipped scripts say in English, to read a screen back into a question."""

    titles: frozenset[str]
    thanks: frozenset[str]
    questions: dict[str, str]  # English question text -> question id
    types: dict[str, str]  # question id -> question type
    choices: dict[str, tuple[str, ...]]  # a choice question's option values, in order

    @classmethod
    def load(cls) -> Catalogue:
        titles, thanks, questions, types, choices = set(), set(), {}, {}, {}
        frameworks = default_frameworks()
        for name, text in shipped_texts(SHIPPED_SCRIPTS):
            script = validate_source(text, name, frameworks).script
            assert script is not None, name
            titles.add(script.title["en"])
            thanks.add(script.thanks["en"])
            for question in script.questions():
                questions[question.text["en"]] = question.id
                types[question.id] = question.type
                if question.type == "choice":
                    choices[question.id] = tuple(str(o.value) for o in question.options or [])
        return cls(frozenset(titles), frozenset(thanks), questions, types, choices)


@dataclass(frozen=True)
class Screen:
    """What a person sees now: the newest message of their dialog, read back."""

    kind: Kind
    message: StoredMessage | None = None
    session: int | None = None
    step: int | None = None
    question: str | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """Where in the dialog this is; a different key means the dialog moved on."""
        return (self.kind, self.session, self.question)

    def data(self, kind: str) -> str | None:
        """The callback data of the first button of a kind ("a", "p", "r"...)."""
        assert self.message is not None
        for data in self.message.callback_data:
            if data.split(":")[1] == kind:
                return data
        return None


def read_screen(message: StoredMessage, catalogue: Catalogue) -> Screen | None:
    """The dialog screen a message shows, or None if it is not one (an intro, a notice)."""
    text = message.text or ""
    lines = text.split("\n")
    if text.startswith(ALREADY_ANSWERED_START) or any(line in catalogue.thanks for line in lines):
        return Screen("done", message)
    fields = [d.split(":") for d in message.callback_data]
    dialog = [f for f in fields if len(f) > 2 and f[1] in DIALOG_KINDS]
    if not dialog:
        return None
    session = int(dialog[0][2])
    if dialog[0][1] == "r":
        return Screen("paused", message, session)
    step = int(dialog[0][3])
    question = catalogue.questions.get(lines[2]) if len(lines) > 2 else None
    if question is None:
        raise AssertionError(f"unknown question screen: {text!r}")
    kind: Kind = "asking"
    if TYPE_COMMENT in lines:
        kind = "follow_up"
    elif TYPE_ANSWER in lines:
        kind = "text"
    return Screen(kind, message, session, step, question)


def is_pending(message: StoredMessage, catalogue: Catalogue) -> bool:
    """A message that comes before the screen (an intro, "welcome back"): keep waiting."""
    text = message.text or ""
    return text == WELCOME_BACK or text.split("\n")[0] in catalogue.titles


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class Ack:
    """One input the bot acknowledged: `kind` answer (a button), comment or text."""

    session: int
    question: str
    kind: Literal["answer", "comment", "text"]
    value: int | str


@dataclass
class Person:
    index: int
    user: User
    audience: Literal["staff", "service_user"]
    code: str | None = None  # service users: the poster's invite code
    seed: int = 0
    acks: list[Ack] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    inputs: int = 0
    done: bool = False

    def value(self, question: str) -> int:
        """The option this person picks for a question, the same on every attempt."""
        rng = random.Random(f"{self.seed}:{self.index}:{question}")
        return rng.choice((1, 2, 3, 4, 4, 5, 5))

    def comment(self, question: str) -> str:
        return f"note {self.index} on {question}: more time <with> people & less paper"


@dataclass
class Crowd:
    """People answering at once through one fake Bot API, each at their own pace."""

    api: FakeBotAPI
    people: list[Person]
    catalogue: Catalogue = field(default_factory=Catalogue.load)
    patience: float = 6.0  # seconds without any reaction before a person tries again
    think: tuple[float, float] = (0.0, 0.05)  # seconds between seeing a screen and acting
    max_inputs: int = 120  # a person who needs more than this is stuck: the suite fails
    seed: int = 0

    def screen(self, person: Person) -> Screen:
        for message in reversed(self.api.messages(person.user.id)):
            screen = read_screen(message, self.catalogue)
            if screen is not None:
                return screen
        return Screen("none")

    async def run(self) -> None:
        await asyncio.gather(*(self.person(p) for p in self.people))

    @property
    def acknowledged(self) -> int:
        return sum(1 for p in self.people for a in p.acks if a.kind != "comment")

    async def person(self, person: Person) -> None:
        rng = random.Random(f"{self.seed}:think:{person.index}")
        pending: tuple[tuple[Any, ...], Ack | None] | None = None
        nudged = False
        while person.inputs < self.max_inputs:
            screen = self.screen(person)
            if screen.session is not None:
                person.sessions.add(screen.session)
            if pending is not None and screen.key != pending[0] and screen.kind != "paused":
                if pending[1] is not None:
                    person.acks.append(pending[1])
                pending, nudged = None, False
            if screen.kind == "done":
                person.done = True
                return
            await asyncio.sleep(rng.uniform(*self.think))
            person.inputs += 1
            if screen.kind == "none":
                if person.audience == "staff":
                    await self._type(person, "/checkin")
                else:
                    await self._type(person, f"/start {person.code}")
                continue
            if screen.kind == "paused":
                await self._press(person, screen, screen.data("r"))
                continue
            assert screen.session is not None and screen.question is not None
            if screen.kind == "asking":
                value = person.value(screen.question)
                options = self.catalogue.choices.get(screen.question)
                if options:  # a choice: one of its options, stored as its value
                    value = 1 + value % len(options)
                given: int | str = options[value - 1] if options else value
                ack = Ack(screen.session, screen.question, "answer", given)
                pending = (screen.key, ack)
                await self._press(person, screen, self._option(screen, value))
                continue
            # A typed answer. If one got no reaction, it may have been stored while the
            # next screen was lost: a tap on this screen's "Later" then shows where the
            # dialog is (or pauses it, and "Continue" brings this screen back).
            if pending is not None and pending[0] == screen.key and not nudged:
                nudged = True
                await self._press(person, screen, screen.data("p"))
                continue
            text = person.comment(screen.question)
            kind: Literal["comment", "text"] = "comment" if screen.kind == "follow_up" else "text"
            pending = (screen.key, Ack(screen.session, screen.question, kind, text))
            nudged = False
            await self._type(person, text)
        notices = [
            a["text"]
            for q, a in self.api.callback_answers.items()
            if q.startswith(str(person.user.id))
        ]
        raise AssertionError(
            f"person {person.index} ({person.audience}) is stuck after {person.inputs} inputs "
            f"on {self.screen(person).key}; last messages: "
            f"{[m.text for m in self.api.messages(person.user.id)[-4:]]}; "
            f"last notices: {notices[-4:]}"
        )

    @staticmethod
    def _option(screen: Screen, value: int) -> str:
        """Buttons carry option indexes: a scale's first five are the values 1-5."""
        return f"1:a:{screen.session}:{screen.step}:{value - 1}"

    async def _press(self, person: Person, screen: Screen, data: str | None) -> None:
        """Tap a button as it was seen: the message may have changed meanwhile."""
        assert screen.message is not None and data is not None
        before = self._mark(person)
        query = self.api.press(person.user, screen.message, data, check=False)
        await self._wait(person, before, lambda: query in self.api.callback_answers)

    async def _type(self, person: Person, text: str) -> None:
        before = self._mark(person)
        if text.startswith("/"):
            command, _, payload = text.partition(" ")
            self.api.send_command(person.user, command, payload or None)
        else:
            self.api.send_text(person.user, text)
        last = before[0]

        def answered() -> bool:
            return any(
                m.message_id > last and read_screen(m, self.catalogue) is None
                and not is_pending(m, self.catalogue)
                for m in self.api.messages(person.user.id)[-3:]
            )  # fmt: skip

        await self._wait(person, before, answered)

    def _mark(self, person: Person) -> tuple[int, tuple[Any, ...], int]:
        last = self.api.last_message(person.user.id)
        screen = self.screen(person)
        edits = screen.message.edits if screen.message is not None else -1
        return (last.message_id if last else 0, screen.key, edits)

    async def _wait(
        self, person: Person, before: tuple[int, tuple[Any, ...], int], answered: Any
    ) -> None:
        def moved() -> bool:
            screen = self.screen(person)
            edits = screen.message.edits if screen.message is not None else -1
            return (screen.key, edits) != before[1:] or answered()

        with contextlib.suppress(TimeoutError):
            await self.api.wait_for(moved, timeout=self.patience)


# ---------------------------------------------------------------- setting up


async def populate(
    db_path: Path | str, api: FakeBotAPI, staff: int, service_users: int, seed: int = 0
) -> list[Person]:
    """An organisation with `staff` registered staff and a poster for service users."""
    from storage.db import Database
    from storage.invites import InviteRepo
    from storage.orgs import OrgRepo
    from storage.people import PeopleRepo
    from storage.times import system_clock

    people: list[Person] = []
    db = await Database.open(db_path, clock=system_clock)
    try:
        org = await OrgRepo(db).create_org("Dom Sonce", timezone="UTC")
        unit = await OrgRepo(db).create_unit(org, "Ward A")
        repo = PeopleRepo(db)
        for index in range(staff):
            user = api.new_user(f"Staff {index}", language_code="en")
            api.add_private_chat(user)
            person = await repo.get_or_create(user.id, "en")
            await repo.add_membership(person.id, org, unit, "staff")
            people.append(Person(index, user, "staff", seed=seed))
        poster = await InviteRepo(db).create(org, unit, "service_user", None, None, None)
        for index in range(staff, staff + service_users):
            user = api.new_user(f"Guest {index}", language_code="en")
            api.add_private_chat(user)
            people.append(Person(index, user, "service_user", poster.code, seed=seed))
    finally:
        await db.close()
    return people


# ---------------------------------------------------------------- the bot as a process


class Deliveries:
    """What the fake server handed the bot, and the call behind each error it returned.

    A bot killed after handling a batch of updates but before its next getUpdates
    confirmed them is handed the same updates again when it restarts; that is how
    Telegram works too. Redoing such a button press is harmless (nothing is stored
    twice), but its edit or answer may already have happened, and Telegram then says
    "message is not modified" or "query is too old". `errors` tells those apart from
    errors the bot caused on its own.
    """

    NOT_MODIFIED = "message is not modified"
    ANSWERED = "query is too old"

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.polls = 0
        self.times: Counter[int] = Counter()
        self.presses: dict[int, dict[str, Any]] = {}  # update id -> its callback query
        self.failed: list[tuple[str, str, dict[str, Any]]] = []
        name, fetch = api._handlers["getupdates"]

        async def fetched(params: Any) -> Any:
            self.polls += 1
            batch = await fetch(params)
            for update in batch:
                self.times[update["update_id"]] += 1
                if "callback_query" in update:
                    self.presses[update["update_id"]] = update["callback_query"]
            return batch

        api._handlers["getupdates"] = (name, fetched)
        respond = api._error_response

        def failed(method: str, error: Any) -> Any:
            call = api.calls[-1].params if api.calls else {}
            self.failed.append((method, error.description, call))
            return respond(method, error)

        api._error_response = failed  # type: ignore[method-assign]

    def errors(self) -> tuple[list[str], list[str]]:
        """(errors explained by a press handed over twice, every other error)."""
        again = [self.presses[u] for u, n in self.times.items() if n > 1 and u in self.presses]
        messages = {
            (str(q["message"]["chat"]["id"]), str(q["message"]["message_id"])) for q in again
        }
        queries = {str(q["id"]) for q in again}
        explained, other = [], []
        for method, description, call in self.failed:
            line = f"{method}: {description}"
            target = (str(call.get("chat_id")), str(call.get("message_id")))
            if (self.NOT_MODIFIED in description and target in messages) or (
                self.ANSWERED in description and str(call.get("callback_query_id")) in queries
            ):
                explained.append(line)
            else:
                other.append(line)
        return explained, other

    @property
    def redelivered(self) -> int:
        return sum(1 for n in self.times.values() if n > 1)


def bot_env(api: FakeBotAPI, directory: Path, log_level: str = "INFO") -> dict[str, str]:
    """The environment of a `carecheck run` process against the fake server."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CARECHECK_DB": str(directory / "carecheck.db"),
        "CARECHECK_SECRET_FILE": str(directory / "carecheck.secret"),
        "CARECHECK_LOG_LEVEL": log_level,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.api_base_url,
        "TELEGRAM_FILE_URL": api.file_base_url,
    }


async def spawn_run(
    directory: Path, env: dict[str, str], log_path: Path, *options: str
) -> asyncio.subprocess.Process:
    """`python -m bot run OPTIONS` in `directory`, its output appended to `log_path`."""
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            *options,
            cwd=directory,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


async def terminate(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, and SIGKILL if it has not exited within 30 s; its exit status."""
    if process.returncode is None:
        process.send_signal(15)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode or 0


class BotProcess:
    """`carecheck run --no-jobs` against the fake server; SIGKILL and restart at will."""

    def __init__(self, api: FakeBotAPI, directory: Path, log_level: str = "INFO") -> None:
        self.api = api
        self.directory = directory
        self.db_path = directory / "carecheck.db"
        self.log_path = directory / "bot.log"
        self.deliveries = Deliveries(api)
        self.env = bot_env(api, directory, log_level)
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        seen = self.deliveries.polls
        self.process = await spawn_run(self.directory, self.env, self.log_path, "--no-jobs")
        self.starts += 1
        process = self.process
        try:
            await self.api.wait_for(
                lambda: self.deliveries.polls > seen or process.returncode is not None, timeout
            )
        except TimeoutError:
            raise AssertionError(f"the bot did not start: {self.log_tail()}") from None
        if process.returncode is not None:
            raise AssertionError(f"the bot exited with {process.returncode}: {self.log_tail()}")

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine loses the process."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
            self.kills += 1
        self.process = None

    async def stop(self) -> int:
        """SIGTERM: finish the updates in flight and exit."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        return await terminate(process)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def secret(self) -> bytes:
        return load_or_create_secret(self.directory / "carecheck.secret")


class WebhookProcess:
    """`carecheck run --webhook` on its own port; SIGKILL and restart at will.

    `database` is a PostgreSQL URL shared by all replicas (default: the SQLite file
    in `directory`); `jobs` lets it run the scheduler as well, as a real replica does.
    """

    def __init__(
        self,
        api: FakeBotAPI,
        directory: Path,
        index: int,
        database: str | None = None,
        *,
        jobs: bool = False,
    ) -> None:
        self.api = api
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/carecheck/hook"
        self.log_path = directory / f"replica{index}.log"
        self.directory = directory
        self.env = bot_env(api, directory)
        if database is not None:
            self.env["CARECHECK_DB"] = database
        self.jobs = jobs
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        sets = len(self.api.calls_to("setWebhook"))
        self.process = await spawn_run(
            self.directory,
            self.env,
            self.log_path,
            *("--webhook", PUBLIC_URL, "--listen", "127.0.0.1", "--port", str(self.port)),
            *("--secret", SECRET),
            *(() if self.jobs else ("--no-jobs",)),
        )
        await self.api.wait_for(lambda: len(self.api.calls_to("setWebhook")) > sets, 30)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        self.process = None

    async def stop(self) -> int:
        if self.process is None:
            return 0
        process, self.process = self.process, None
        return await terminate(process)


async def answer_through_kills(
    bot: BotProcess,
    crowd: Crowd,
    *,
    kills: int,
    seed: int,
    spread: tuple[float, float],
    delay: float,
    progress_timeout: float,
    finish_timeout: float,
) -> int:
    """Start the bot and let the crowd answer while the bot is SIGKILLed and restarted.

    The kill points are progress (answers acknowledged) drawn from ``spread``, a share
    of the answers expected, with an RNG seeded by ``seed`` so a failing run replays;
    each kill comes up to ``delay`` seconds after its point, mid-dialog. Once everyone
    is done the bot gets SIGTERM; its exit status is returned.
    """
    await bot.start()
    answering = asyncio.create_task(crowd.run())
    rng = random.Random(seed)
    expected = len(crowd.people) * ANSWERS_PER_PERSON
    points = sorted(rng.uniform(*spread) * expected for _ in range(kills))
    try:
        for point in points:
            await crowd.api.wait_for(
                lambda point=point: crowd.acknowledged >= point or answering.done(),
                progress_timeout,
            )
            if answering.done():
                break
            await asyncio.sleep(rng.uniform(0.0, delay))
            await bot.kill()
            await bot.start()
        await asyncio.wait_for(answering, finish_timeout)
    finally:
        answering.cancel()
        status = await bot.stop()
    return status


# ---------------------------------------------------------------- the audit


@dataclass
class Audit:
    """The acknowledged answers held against the database, after the run."""

    people: int = 0
    finished: int = 0  # people who saw the thank-you
    acknowledged: int = 0  # answers the person saw accepted
    stored: int = 0  # answer rows of the people's sessions
    duplicates: int = 0  # a second session per person, a second row per question and person
    sessions: int = 0
    completed: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"people {self.people}, finished {self.finished}, "
            f"answers acknowledged {self.acknowledged}, stored {self.stored}, "
            f"duplicates {self.duplicates}, sessions completed {self.completed}/{self.sessions}"
        )


def _reader(database: Path | str) -> Any:
    """A plain connection of the test's own to a SQLite file or a PostgreSQL URL."""
    if str(database).startswith("postgresql://"):
        from storage.connection import PgConnection

        return PgConnection.connect(str(database))
    conn = sqlite3.connect(database)
    conn.row_factory = sqlite3.Row
    return conn


def audit(db_path: Path | str, people: Iterable[Person], catalogue: Catalogue) -> Audit:
    """Every acknowledged answer stored exactly once; sessions and answers agree."""
    people = list(people)
    result = Audit(people=len(people), finished=sum(p.done for p in people))
    conn = _reader(db_path)
    try:
        sessions = {r["id"]: r for r in conn.execute("SELECT * FROM sessions")}
        rows: dict[int, dict[str, sqlite3.Row]] = {}
        for row in conn.execute("SELECT * FROM answers ORDER BY id"):
            rows.setdefault(row["session_id"], {})[row["question_id"]] = row
    finally:
        conn.close()
    result.sessions = len(sessions)
    result.completed = sum(s["status"] == "done" for s in sessions.values())
    result.stored = sum(len(r) for r in rows.values())
    owners: dict[int, Person] = {}
    for person in people:
        for session in person.sessions:
            owners[session] = person
        if len(person.sessions) != 1:
            result.duplicates += max(0, len(person.sessions) - 1)
            result.problems.append(f"person {person.index} saw sessions {person.sessions}")
    for session_id, session in sessions.items():
        if session_id not in owners:
            result.problems.append(f"session {session_id} belongs to nobody who answered")
        if session["status"] != "done":
            result.problems.append(f"session {session_id} is {session['status']}")
        result.problems += _consistent(session, rows.get(session_id, {}), catalogue)
    # The same person answering the same question twice, in any of their sessions.
    for person in people:
        counted: dict[str, int] = {}
        for session in person.sessions:
            for question in rows.get(session, {}):
                counted[question] = counted.get(question, 0) + 1
        result.duplicates += sum(n - 1 for n in counted.values() if n > 1)
    for person in people:
        seen: set[tuple[int, str]] = set()
        for ack in person.acks:
            row = rows.get(ack.session, {}).get(ack.question)
            if ack.kind != "comment" and (ack.session, ack.question) not in seen:
                seen.add((ack.session, ack.question))
                result.acknowledged += 1
            if row is None:
                result.problems.append(f"acknowledged but not stored: {ack}")
            elif ack.kind == "answer" and ack.value not in (row["value_num"], row["value_text"]):
                result.problems.append(f"stored {row['value_num']} for {ack}")
            elif ack.kind in ("comment", "text") and row["comment"] != ack.value:
                result.problems.append(f"stored comment {row['comment']!r} for {ack}")
    return result


def inconsistencies(db_path: Path | str, catalogue: Catalogue) -> list[str]:
    """Sessions whose answer rows differ from their own dialog state (none, we hope)."""
    conn = _reader(db_path)
    try:
        sessions = conn.execute("SELECT * FROM sessions").fetchall()
        rows: dict[int, dict[str, sqlite3.Row]] = {}
        for row in conn.execute("SELECT * FROM answers"):
            rows.setdefault(row["session_id"], {})[row["question_id"]] = row
    finally:
        conn.close()
    return [p for s in sessions for p in _consistent(s, rows.get(s["id"], {}), catalogue)]


def _consistent(
    session: sqlite3.Row, rows: dict[str, sqlite3.Row], catalogue: Catalogue
) -> list[str]:
    """The answers table holds exactly the answers of the session's own state."""
    state = json.loads(session["state_json"])
    answers: dict[str, dict[str, Any]] = state.get("answers", {})
    if set(answers) != set(rows):
        return [f"session {session['id']}: state has {sorted(answers)}, table has {sorted(rows)}"]
    problems = []
    for question, answer in answers.items():
        row = rows[question]
        comment = answer.get("comment")
        if catalogue.types[question] == "text":
            comment = answer.get("value")  # a text answer is stored as the comment
        if row["comment"] != comment or bool(row["skipped"]) != bool(answer.get("skipped")):
            problems.append(f"session {session['id']} {question}: {dict(row)} != {answer}")
    if (session["status"] == "done") != (state.get("state") == "done"):
        problems.append(f"session {session['id']} is {session['status']}, its state is not")
    return problems


@dataclass(frozen=True)
class Fault:
    index: int  # position of the faulted call in the server's call log
    call: ApiCall
    kind: str


def record_faults(api: FakeBotAPI) -> list[Fault]:
    """Note which call each injected fault struck (the call is logged just before)."""
    faults: list[Fault] = []
    pick = api.faults.pick

    def recording(method: str) -> Any:
        rule = pick(method)
        if rule is not None:
            faults.append(Fault(len(api.calls) - 1, api.calls[-1], rule.kind))
        return rule

    api.faults.pick = recording  # type: ignore[method-assign]
    return faults


def unhandled(api: FakeBotAPI, faults: list[Fault]) -> list[Fault]:
    """The faults neither retried nor shown to their person.

    A fault is retried when the bot made the same call again, or when the faulted
    call was itself a retry of a faulted one: retries are bounded, and the last of a
    chain may fail too. What must never happen is giving up at the first failure
    without a word to the person.
    """
    calls = api.calls
    faulted = {f.index for f in faults}
    owner = {qid: query.user.id for qid, query in api._queries.items()}

    def chat_of(call: ApiCall) -> int | None:
        if "chat_id" in call.params:
            return int(call.params["chat_id"])
        query = call.params.get("callback_query_id")
        return owner.get(query) if query else None

    def shown(after: int, chat: int | None) -> bool:
        for call in calls[after + 1 :]:
            text = call.params.get("text") or ""
            if SOMETHING_WRONG_EN in text and chat_of(call) == chat:
                return True
        return False

    left = []
    for fault in faults:
        retried = any(
            call.method == fault.call.method
            and call.params == fault.call.params
            and (index > fault.index or index in faulted)
            for index, call in enumerate(calls)
            if index != fault.index
        )
        if not retried and not shown(fault.index, chat_of(fault.call)):
            left.append(fault)
    return left


def fault_summary(api: FakeBotAPI) -> str:
    counts = api.fault_counts
    return ", ".join(f"{kind} {counts.get(kind, 0)}" for kind in ("429", "502", "drop"))


__all__ = [
    "SOMETHING_WRONG",
    "SOMETHING_WRONG_EN",
    "Ack",
    "Audit",
    "BotProcess",
    "Catalogue",
    "Crowd",
    "Fault",
    "Person",
    "Screen",
    "WebhookProcess",
    "answer_through_kills",
    "audit",
    "fault_summary",
    "inconsistencies",
    "populate",
    "read_screen",
    "record_faults",
    "unhandled",
]
