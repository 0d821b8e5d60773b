"""Button presses per second of `carecheck run` against a bare PTB bot, the ceiling.

    python bench/bot_load.py [--people 200] [--rounds 5] [--warmup 40] [--seconds 240]
                             [--profile FILE]

Both bots run as their own OS process, so each one's CPU is read from
``/proc/<pid>/stat`` (all its threads, the database thread included). Each talks to its own
fake Bot API server (``tests.fakebotapi``), and both servers run in this process,
which owns the simulated people and so sees the moment each edit arrives.

What is measured, per round and bot: N fresh people (``--people``) answer their
check-in at once. Each presses an option on the question in front of them, waits
until the bot has both edited the message to the next screen and answered the
callback query, and presses again at once, until the check-in is finished. Fresh
people each round, rather than the same people answering again, mean every press is
a first answer to a new question and becomes one new row in ``answers``; the rows of
the measured sessions must equal the presses acknowledged. Onboarding
(``/start <code>``, then "Start now") happens before the clock starts.

* answers/s: acknowledged presses over the wall time from the first press to the
  last acknowledgement of the round, summed over the rounds;
* latency: from the press (the update queued at the server) to the edit showing
  the next screen arriving at the server;
* CPU ms/answer: the bot process's user+system CPU over the same window.

The ceiling is a PTB application built like carecheck's (the same
``AiohttpRequest`` transport, pool sizes, concurrent updates and allowed updates)
whose CallbackQueryHandler makes the same Bot API calls: ``editMessageText`` to a
new HTML text and a keyboard of the same shape, then ``answerCallbackQuery``. It
has no dialog engine, no storage and no rate limiter. Rounds alternate between the
two bots, so drift on the machine hits both alike; a small unmeasured warm-up round
runs first on each.

The machine may be shared: each round also records the CPU every other process
used (from ``/proc/stat``). The target is judged on the quiet rounds when both bots
have some; throughput and latency of contended rounds say more about the neighbours
than about the bot, while CPU per answer stays comparable. This process's own share
is printed too: near 100 % of a core, the load generator would set the pace.

The people answer with the three upper options of the scale (values 3 to 5): a
low answer opens a typed follow-up question, which a button-pressing load cannot
drive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from asyncio import FIRST_COMPLETED
from asyncio.subprocess import DEVNULL, PIPE
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SELF = Path(__file__).resolve()
ROOT = SELF.parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakebotapi.http_layer import CallParams  # noqa: E402
from tests.fakebotapi.models import User  # noqa: E402
from tests.fakebotapi.server import FakeBotAPI  # noqa: E402

TOKEN = "123456789:TEST-fake-token-for-carecheck"
GO = "1:go"
ANSWER_PREFIX = "1:a:"
# Scale option indexes 2-4 (values 3-5): no typed follow-up question.
OPTIONS = ("2", "3", "4")
MAX_PRESSES = 10  # per check-in; the staff pulse has five questions
PRESS_TIMEOUT = 30.0
ONBOARD_TIMEOUT = 60.0
BOT_START_TIMEOUT = 30.0
BOT_STOP_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET = 0.8  # carecheck's share of the ceiling's throughput
QUIET = 0.25  # a round is quiet if other processes used less than this share of a core


# ------------------------------------------------------------------ simulated people


@dataclass(eq=False)
class Person:
    """One simulated person and what the bot last did in their chat."""

    user: User
    message_id: int = 0
    session: int = 0
    query: str | None = None
    pressed_at: float | None = None
    edited_at: float | None = None
    answered: bool = False
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def arm(self) -> None:
        """Forget the previous press before the next one."""
        self.query, self.pressed_at, self.edited_at, self.answered = None, None, None, False

    def acknowledged(self) -> bool:
        """The bot showed the next screen and answered the callback query."""
        return self.answered and self.edited_at is not None

    async def settle(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109 - one bounded wait per step
        """Wait until ``predicate()`` holds; woken by each call the bot makes in this chat."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.event.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self.event.wait()
        return True


class LoadAPI(FakeBotAPI):
    """The fake Bot API, telling each person the moment the bot acts in their chat."""

    def __init__(self) -> None:
        super().__init__(TOKEN, record_calls=False)
        self.people: dict[int, Person] = {}
        self.polled = asyncio.Event()

    def person(self, name: str) -> Person:
        """A new simulated person with a private chat."""
        user = self.new_user(name, language_code="en")
        self.add_private_chat(user)
        person = self.people[user.id] = Person(user)
        return person

    async def _get_updates(self, params: CallParams) -> list[dict[str, Any]]:
        self.polled.set()
        return await super()._get_updates(params)

    def _send_message(self, params: CallParams) -> dict[str, Any]:
        result = super()._send_message(params)
        person = self.people.get(result["chat"]["id"])
        if person is not None:
            person.event.set()
        return result

    def _edit_message_text(self, params: CallParams) -> dict[str, Any]:
        now = time.perf_counter()
        result = super()._edit_message_text(params)
        person = self.people.get(result["chat"]["id"])
        if person is not None:
            if (
                person.pressed_at is not None
                and person.edited_at is None
                and result["message_id"] == person.message_id
            ):
                person.edited_at = now
            person.event.set()
        return result

    def _answer_callback_query(self, params: CallParams) -> bool:
        query_id = params.str("callback_query_id") or ""
        result = super()._answer_callback_query(params)
        query = self._queries.get(query_id)
        person = self.people.get(query.user.id) if query is not None else None
        if person is not None:
            if query_id == person.query:
                person.answered = True
            person.event.set()
        return result


async def onboard(api: LoadAPI, person: Person, code: str) -> bool:
    """``/start <code>``, then "Start now": leaves the person on question 1."""
    chat = person.user.id

    def invitation() -> bool:
        last = api.last_message(chat)
        return last is not None and GO in last.callback_data

    api.send_command(person.user, "/start", code)
    if not await person.settle(invitation, ONBOARD_TIMEOUT):
        return False
    message = api.last_message(chat)
    assert message is not None
    person.arm()
    person.message_id = message.message_id
    person.query = api.press(person.user, message, GO)

    def first_question() -> bool:
        current = api.message(chat, person.message_id)
        return person.answered and any(d.startswith(ANSWER_PREFIX) for d in current.callback_data)

    if not await person.settle(first_question, ONBOARD_TIMEOUT):
        return False
    data = next(d for d in api.message(chat, person.message_id).callback_data if d.startswith("1:"))
    person.session = int(data.split(":")[2])
    person.arm()
    return True


async def answer_checkin(
    api: LoadAPI, person: Person, rng: random.Random, latencies: list[float]
) -> tuple[int, bool]:
    """Press an option on each question as soon as the last press was acknowledged.

    Returns the presses acknowledged and whether the check-in reached its end.
    """
    chat = person.user.id
    presses = 0
    for _ in range(MAX_PRESSES):
        message = api.message(chat, person.message_id)
        options = [
            data
            for data in message.callback_data
            if data.startswith(ANSWER_PREFIX) and data.rsplit(":", 1)[1] in OPTIONS
        ]
        if not options:
            return presses, not message.callback_data
        person.arm()
        person.pressed_at = time.perf_counter()
        person.query = api.press(person.user, message, rng.choice(options))
        if not await person.settle(person.acknowledged, PRESS_TIMEOUT):
            return presses, False
        assert person.edited_at is not None
        latencies.append(person.edited_at - person.pressed_at)
        presses += 1
    return presses, False


# ------------------------------------------------------------------ bot processes


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float:
    """CPU seconds all processes on the machine have used (every core, idle excluded)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def bot_env(api: FakeBotAPI, directory: Path) -> dict[str, str]:
    """Environment of a bot process pointed at ``api``; no config file of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECHECK_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.api_base_url,
            "TELEGRAM_FILE_URL": api.file_base_url,
            "CARECHECK_DB": str(directory / "carecheck.db"),
            "CARECHECK_SECRET_FILE": str(directory / "carecheck.secret"),
            "CARECHECK_LOG_LEVEL": "INFO",
        }
    )
    return env


async def carecheck_cli(env: dict[str, str], directory: Path, *args: str) -> dict[str, Any]:
    """Run a ``carecheck ... --json`` set-up command and return its JSON."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, "--json",
        cwd=directory, env=env, stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"carecheck {' '.join(args)} failed: {err.decode().strip()}")
    return json.loads(out)  # type: ignore[no-any-return]


@dataclass
class BotProcess:
    """A bot in its own process, with its fake Bot API and its log."""

    name: str
    api: LoadAPI
    process: asyncio.subprocess.Process
    log: Path
    code: str

    @classmethod
    async def launch(
        cls, name: str, api: LoadAPI, command: list[str], directory: Path, code: str
    ) -> BotProcess:
        """Start the bot process against ``api``, logging to a file in ``directory``."""
        log = directory / f"{name}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=directory,
                env=bot_env(api, directory),
                stdin=DEVNULL,
                stdout=out,
                stderr=out,
            )
        return cls(name, api, process, log, code)

    @property
    def cpu(self) -> float:
        """CPU seconds the bot has used so far."""
        return proc_cpu(self.process.pid)

    async def wait_polling(self) -> None:
        """Wait until the bot long-polls, or fail with its log."""
        exited = asyncio.ensure_future(self.process.wait())
        polled = asyncio.ensure_future(self.api.polled.wait())
        await asyncio.wait({exited, polled}, timeout=BOT_START_TIMEOUT, return_when=FIRST_COMPLETED)
        exited.cancel()
        polled.cancel()
        if not self.api.polled.is_set():
            raise RuntimeError(f"{self.name} did not start polling:\n{self.tail()}")

    async def stop(self) -> int | None:
        """SIGTERM (finish what is in flight), then kill after a bounded wait."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(BOT_STOP_TIMEOUT):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                return None
        return self.process.returncode

    def tail(self, lines: int = 20) -> str:
        """The end of the bot's log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def start_bots(
    directory: Path, uses: int, profile: Path | None, bots: list[BotProcess]
) -> None:
    """carecheck on a fresh database with one org and one staff invite, and the ceiling.

    Each bot goes into ``bots`` as soon as its process exists, so the caller stops it
    whatever fails next.
    """
    api = LoadAPI()
    await api.start("127.0.0.1", 0)
    env = bot_env(api, directory)
    try:
        org = await carecheck_cli(env, directory, "org", "create", "--name", "Bench home")
        invite = await carecheck_cli(
            env, directory, "invite", "create", "--org", str(org["id"]), "--role", "staff",
            "--uses", str(uses),
        )  # fmt: skip
        command = [sys.executable, "-m", "bot", "run", "--no-jobs"]
        if profile is not None:
            command[1:1] = ["-m", "cProfile", "-o", str(profile)]
        bots.append(await BotProcess.launch("carecheck", api, command, directory, invite["code"]))
    except BaseException:
        await api.stop()
        raise
    api = LoadAPI()
    await api.start("127.0.0.1", 0)
    command = [sys.executable, str(SELF), "--serve-ceiling"]
    try:
        bots.append(await BotProcess.launch("ceiling", api, command, directory, "bench"))
    except BaseException:
        await api.stop()
        raise
    for bot in bots:
        await bot.wait_polling()


# ------------------------------------------------------------------ one round


@dataclass
class Round:
    """One bot's measured round."""

    bot: str
    people: int
    answers: int
    finished: int
    failed: int
    wall: float
    bot_cpu: float
    driver_cpu: float
    other_cpu: float
    latencies: list[float]
    presses: dict[int, int]


async def run_round(bot: BotProcess, people: int, seed: int, tag: str) -> Round:
    """Onboard ``people`` fresh people (unmeasured), then time their check-ins."""
    persons = [bot.api.person(f"{tag}-{i}") for i in range(people)]
    onboarded = await asyncio.gather(*(onboard(bot.api, p, bot.code) for p in persons))
    if not all(onboarded):
        raise RuntimeError(
            f"{bot.name}: {onboarded.count(False)} of {people} people could not start "
            f"their check-in; errors: {bot.api.errors[-3:]}\n{bot.tail()}"
        )
    rng = random.Random(seed)
    latencies: list[float] = []
    cpu0, driver0, busy0 = bot.cpu, time.process_time(), machine_busy()
    wall0 = time.perf_counter()
    outcomes = await asyncio.gather(
        *(answer_checkin(bot.api, p, random.Random(rng.random()), latencies) for p in persons)
    )
    wall = time.perf_counter() - wall0
    bot_cpu, driver_cpu = bot.cpu - cpu0, time.process_time() - driver0
    other_cpu = max(0.0, machine_busy() - busy0 - bot_cpu - driver_cpu)
    for person in persons:
        del bot.api.people[person.user.id]
    return Round(
        bot=bot.name,
        people=people,
        answers=sum(presses for presses, _ in outcomes),
        finished=sum(1 for _, done in outcomes if done),
        failed=sum(1 for _, done in outcomes if not done),
        wall=wall,
        bot_cpu=bot_cpu,
        driver_cpu=driver_cpu,
        other_cpu=other_cpu,
        latencies=latencies,
        presses={p.session: n for p, (n, _) in zip(persons, outcomes, strict=True)},
    )


# ------------------------------------------------------------------ results


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index] * 1000


@dataclass
class Summary:
    """All measured rounds of one bot."""

    bot: str
    rounds: list[Round]
    stored: int | None = None

    @property
    def answers(self) -> int:
        return sum(r.answers for r in self.rounds)

    @property
    def wall(self) -> float:
        return sum(r.wall for r in self.rounds)

    @property
    def rate(self) -> float:
        return self.answers / self.wall if self.wall else 0.0

    @property
    def cpu_ms(self) -> float:
        return sum(r.bot_cpu for r in self.rounds) * 1000 / max(self.answers, 1)

    @property
    def latencies(self) -> list[float]:
        return [x for r in self.rounds for x in r.latencies]

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.rounds)


def count_stored(db: Path, presses: dict[int, int]) -> tuple[int, list[int]]:
    """Answer rows of the measured sessions, and the sessions whose count is off."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        rows = dict(
            connection.execute("SELECT session_id, COUNT(*) FROM answers GROUP BY session_id")
        )
    wrong = [session for session, n in presses.items() if rows.get(session, 0) != n]
    return sum(rows.get(session, 0) for session in presses), wrong


def report(summaries: list[Summary], people: int) -> None:
    """Per-round lines, then the compact table and the ratio to the ceiling."""
    print("CPU columns are shares of one core: the bot process, this process (the fake")
    print("servers and the people), and every other process on the machine.")
    print(f"{'round':<5} {'bot':<10} {'answers':>7} {'s':>6} {'answers/s':>9} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'CPU ms/ans':>10} {'bot':>5} {'this':>5} {'other':>5}")  # fmt: skip
    rounds = max(len(s.rounds) for s in summaries)
    for index in range(rounds):
        for summary in summaries:
            if index >= len(summary.rounds):
                continue
            r = summary.rounds[index]
            p50, p99 = percentile(r.latencies, 50), percentile(r.latencies, 99)
            cpu_ms = r.bot_cpu * 1000 / max(r.answers, 1)
            print(
                f"{index + 1:<5} {r.bot:<10} {r.answers:>7} {r.wall:>6.2f} "
                f"{r.answers / r.wall:>9.0f} {p50:>7.1f} {p99:>7.1f} {cpu_ms:>10.2f} "
                f"{r.bot_cpu / r.wall:>5.0%} {r.driver_cpu / r.wall:>5.0%} "
                f"{r.other_cpu / r.wall:>5.0%}"
            )
    print()
    print(f"{people} people at once, {rounds} measured round(s) per bot:")
    header = (
        f"| {'bot':<10} | {'answers':>7} | {'answers/s':>9} | {'p50 ms':>6} | {'p99 ms':>6} "
        f"| {'CPU ms/answer':>13} | {'stored':>11} |"
    )
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for s in summaries:
        stored = "-" if s.stored is None else f"{s.stored}/{s.answers}"
        p50, p99 = percentile(s.latencies, 50), percentile(s.latencies, 99)
        print(
            f"| {s.bot:<10} | {s.answers:>7} | {s.rate:>9.0f} | {p50:>6.1f} | {p99:>6.1f} "
            f"| {s.cpu_ms:>13.2f} | {stored:>11} |"
        )
    carecheck, ceiling = summaries
    if not carecheck.answers or not ceiling.answers:
        return
    calm = [
        Summary(s.bot, [r for r in s.rounds if r.other_cpu < QUIET * r.wall]) for s in summaries
    ]
    if all(s.rounds for s in calm):
        judged = calm
        basis = f"the quiet rounds ({len(calm[0].rounds)} + {len(calm[1].rounds)})"
    else:
        judged = summaries
        basis = "all rounds, none quiet: rerun on a quiet machine"
    ratio = judged[0].rate / judged[1].rate
    overall = "" if judged is summaries else f"; {carecheck.rate / ceiling.rate:.0%} on all rounds"
    print(f"throughput carecheck/ceiling: {ratio:.0%} on {basis}{overall}")
    print(
        f"CPU per answer ceiling/carecheck: {ceiling.cpu_ms / carecheck.cpu_ms:.0%} "
        "(what the throughput ratio tends to when both bots are CPU-bound)"
    )
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(f"target: carecheck >= {TARGET:.0%} of the ceiling: {verdict}")
    other = sum(r.other_cpu for s in summaries for r in s.rounds)
    wall = sum(s.wall for s in summaries)
    if other > QUIET * wall:
        print(
            f"note: other processes used {other / wall:.0%} of a core during the rounds; "
            "throughput and latency are contended, CPU ms/answer much less so"
        )


# ------------------------------------------------------------------ the benchmark


async def bench(args: argparse.Namespace) -> int:
    """Start both bots, alternate measured rounds, verify storage, report."""
    started = time.perf_counter()
    uses = args.warmup + args.people * args.rounds
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="carecheck-load-") as tmp:
        directory = Path(tmp)
        bots: list[BotProcess] = []
        try:
            await start_bots(directory, uses, args.profile, bots)
            for bot in bots:
                await run_round(bot, args.warmup, seed=0, tag=f"warm-{bot.name}")
            summaries = [Summary(bot.name, []) for bot in bots]
            pair = 0.0  # seconds the last pair of rounds took, onboarding included
            for index in range(args.rounds):
                if index and time.perf_counter() - started + pair > args.seconds:
                    print(f"time budget spent: stopping after {index} round(s)", file=sys.stderr)
                    break
                pair_started = time.perf_counter()
                for bot in bots if index % 2 == 0 else bots[::-1]:
                    result = await run_round(bot, args.people, seed=index + 1, tag=f"r{index}")
                    next(s for s in summaries if s.bot == bot.name).rounds.append(result)
                pair = time.perf_counter() - pair_started
            carecheck = bots[0]
            exit_code = await carecheck.stop()
            if exit_code != 0:
                problems.append(f"carecheck exited with {exit_code}:\n{carecheck.tail()}")
            presses: dict[int, int] = {}
            for r in summaries[0].rounds:
                presses.update(r.presses)
            summaries[0].stored, wrong = count_stored(directory / "carecheck.db", presses)
            report(summaries, args.people)
        finally:
            for bot in bots:
                await bot.stop()
                await bot.api.stop()
        for bot in bots:
            errors, unanswered = bot.api.errors, bot.api.unanswered_callbacks()
            if errors:
                problems.append(f"{bot.name} drew {len(errors)} Bot API errors: {errors[:3]}")
            if unanswered:
                problems.append(f"{bot.name} left {len(unanswered)} callback queries unanswered")
        for s in summaries:
            if s.failed:
                problems.append(f"{s.bot}: {s.failed} check-ins did not reach their end")
        if wrong:
            problems.append(f"answers stored wrongly in {len(wrong)} sessions, e.g. {wrong[:5]}")
        if summaries[0].stored != summaries[0].answers:
            problems.append(
                f"stored {summaries[0].stored} answers for {summaries[0].answers} presses"
            )
        if args.profile is not None:
            print(f"carecheck's profile: {args.profile} (python -m pstats)")
        for problem in problems:
            print("FAIL:", problem, file=sys.stderr)
        return 1 if problems else 0


# ------------------------------------------------------------------ the ceiling bot

CEILING_STATEMENTS = (
    "I know where our organisation is heading and why.",
    "Our managers act on the values we say we stand for.",
    "I have what I need to do my work well.",
    "People we support have a real say in the service they get.",
    "When something goes wrong, we learn from it.",
)
CEILING_OPTIONS = (
    "😞 Strongly disagree",
    "🙁 Disagree",
    "😐 Neither agree nor disagree",
    "🙂 Agree",
    "😀 Strongly agree",
    "Don't know / not applicable",
)


def serve_ceiling() -> None:
    """A bare PTB bot on carecheck's transport: the same calls, no engine, no storage."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.constants import ParseMode
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
    )

    from bot.infra.transport import build_requests
    from bot.telegram.app import ALLOWED_UPDATES, CONCURRENT_UPDATES

    def question(session: int, number: int) -> tuple[str, InlineKeyboardMarkup | None]:
        total = len(CEILING_STATEMENTS)
        if number > total:
            return "<b>Weekly quality check-in</b>\n\nThank you!", None
        text = (
            f"<b>Weekly quality check-in</b> · {number}/{total}\n\n{CEILING_STATEMENTS[number - 1]}"
        )
        rows = [
            [InlineKeyboardButton(label, callback_data=f"1:a:{session}:{number}:{i}")]
            for i, label in enumerate(CEILING_OPTIONS)
        ]
        # The same navigation row as carecheck's: Back (after the first), Skip, Later.
        nav = [
            InlineKeyboardButton("Skip ▶", callback_data=f"1:s:{session}:{number}"),
            InlineKeyboardButton("⏸ Later", callback_data=f"1:p:{session}:{number}"),
        ]
        if number > 1:
            nav.insert(0, InlineKeyboardButton("◀ Back", callback_data=f"1:b:{session}:{number}"))
        rows.append(nav)
        return text, InlineKeyboardMarkup(rows)

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("▶ Start now", callback_data=GO)]])
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "Welcome! Your check-in is ready.", reply_markup=keyboard
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None and query.data is not None
        parts = query.data.split(":")
        session = query.message.chat.id % 1_000_000
        number = 1 if parts[1] == "go" else int(parts[3]) + 1
        text, keyboard = question(session, number)
        await context.bot.edit_message_text(
            text,
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
        )
        await query.answer()

    requests = build_requests(connection_pool_size=CONCURRENT_UPDATES)
    application = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .base_file_url(os.environ["TELEGRAM_FILE_URL"])
        .request(requests[0])
        .get_updates_request(requests[1])
        .concurrent_updates(CONCURRENT_UPDATES)
        .job_queue(None)
        .build()
    )
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CallbackQueryHandler(on_button))
    application.run_polling(allowed_updates=ALLOWED_UPDATES)


def main() -> int:
    """Parse the command line; run the benchmark or, as a child, the ceiling bot."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=200, help="people answering at once")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per bot")
    parser.add_argument("--warmup", type=int, default=40, help="people in the warm-up round")
    parser.add_argument(
        "--seconds", type=float, default=240, help="time budget: no new round after it"
    )
    parser.add_argument("--profile", type=Path, help="run carecheck under cProfile into FILE")
    parser.add_argument("--serve-ceiling", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling()
        return 0
    if not 1 <= args.people <= 5000 or not 1 <= args.rounds <= 50 or args.warmup < 1:
        parser.error("--people 1..5000, --rounds 1..50, --warmup at least 1")
    if args.profile is not None:
        args.profile = args.profile.resolve()
    return asyncio.run(asyncio.wait_for(bench(args), timeout=args.seconds + 120))


if __name__ == "__main__":
    raise SystemExit(main())
