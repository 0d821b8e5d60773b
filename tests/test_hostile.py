"""Hostile input: whatever people (or forged clients) send, the bot keeps answering.

No handler exception escapes (nothing is logged at ERROR), the fake Bot API records no
error the bot caused, and nothing is stored that should not be.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.infra.i18n import translator
from bot.telegram.updates import BURST, SLOW_DOWN, FloodGate, PersonByPerson
from storage.invites import InviteRepo
from storage.people import PeopleRepo
from tests.fakebotapi.models import User
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import FakeClock, Harness, stored_rows


async def test_three_starts_at_once_make_one_session(bot: Harness) -> None:
    org = await bot.org()
    code = await bot.invite(org, "staff", uses=1)
    staff = bot.user("Mia")
    await bot.command(staff, "/start", code)
    guest = bot.user("Guest")
    poster = await bot.invite(org, "service_user")
    for _ in range(3):
        bot.api.send_command(staff, "/checkin")
        bot.api.send_command(guest, "/start", poster)

    def questions(user_id: int) -> list[object]:
        return [m for m in bot.api.messages(user_id) if "1/" in m.text]

    await bot.settle(lambda: len(questions(staff.id)) == 3 and len(questions(guest.id)) == 3)
    rows = await bot.rt.db.fetchall("SELECT audience FROM sessions ORDER BY audience")
    assert [r["audience"] for r in rows] == ["service_user", "staff"]


def gate_of(bot: Harness) -> FloodGate:
    """The running bot's per-person rate limit, which the update processor applies."""
    assert bot.app is not None
    processor = bot.app.update_processor
    assert isinstance(processor, PersonByPerson)
    return processor.gate


async def test_a_flood_from_one_person_is_answered_once(bot: Harness) -> None:
    assert bot.app is not None
    gate: FloodGate = gate_of(bot)
    gate.clock = lambda: 0.0  # no refill while the flood lasts
    flooder, other = bot.user("Flood"), bot.user("Calm")
    for number in range(BURST + 30):
        bot.api.send_text(flooder, f"spam {number}")
    reply = await bot.text(other, "hello")
    assert reply.text == translator("en")("Please use the buttons, or send /help.")
    polite = translator("en")(SLOW_DOWN)
    await bot.settle(lambda: any(m.text == polite for m in bot.api.messages(flooder.id)))
    # The polite sentence can overtake the replies to the updates let through: wait for all.
    await bot.settle(lambda: len(bot.api.messages(flooder.id)) >= BURST + 1)
    # Every update before the limit was answered, then one polite sentence, then silence.
    texts = [m.text for m in bot.api.messages(flooder.id)]
    assert texts.count(polite) == 1
    assert len(texts) == BURST + 1

    message = bot.api.last_message(flooder.id)
    query = bot.api.press(flooder, message, "1:go", check=False)
    answered = await bot.settle(lambda: bot.api.callback_answers.get(query))
    assert answered["text"] is None  # answered, as every query must be, but nothing more
    assert len(bot.api.messages(flooder.id)) == BURST + 1

    gate.clock = lambda: 60.0  # a minute later the bucket is full again
    after = await bot.text(flooder, "sorry")
    assert after.text == translator("en")("Please use the buttons, or send /help.")


# ---------------------------------------------------------------- a stream of anything

CAST = ("staff", "foreign_staff", "manager", "admin", "root", "guest", "stranger")
INVITES = ("staff", "poster", "expired", "revoked", "used_up", "foreign", "unknown")
COMMANDS = (
    "start", "checkin", "language", "help", "privacy", "stop", "invite", "scripts",
    "digest", "actions", "forget", "nonsense", "start@carecheck_test_bot", "START",
)  # fmt: skip
FORGED = (
    "1:go", "1:later", "1:L:xx:", "1:L:sl:nocode", "1:a:999999:0:0", "1:r:0",
    "1:sx:1:staff-pulse:1:yaml", "1:sr:2:staff-pulse:1", "1:dp:x", "1:du:x", "1:dx:x",
    "1:ap:2:0:equass:leadership", "1:ao", "1:aw:2", "1:as:1:d", "2:a:1:0:0", ":", "1:",
)  # fmt: skip

any_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=4200)
short_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
payload = st.one_of(
    st.none(), st.sampled_from(INVITES).map(lambda name: ("invite", name)), short_text
)
callback = st.one_of(
    st.sampled_from(FORGED),
    st.text(max_size=64).filter(lambda s: 0 < len(s.encode()) <= 64),
    # A real button of someone else's session: as it is, cut short, or another option.
    st.tuples(
        st.sampled_from(("foreign_staff", "guest")),
        st.sampled_from(("as-is", "cut", "option")),
        st.integers(0, 12),
    ),
)
cast = st.sampled_from(CAST)
event = st.one_of(
    st.tuples(st.just("text"), cast, any_text),
    st.tuples(st.just("command"), cast, st.sampled_from(COMMANDS), payload),
    st.tuples(st.just("media"), cast, st.sampled_from(("sticker", "photo", "document", "voice"))),
    st.tuples(st.just("edit"), cast, short_text),
    st.tuples(st.just("channel"), short_text),
    st.tuples(st.just("group"), cast, st.booleans(), st.one_of(short_text, st.just("/checkin"))),
    st.tuples(st.just("member"), cast, st.sampled_from(("member", "administrator", "left"))),
    st.tuples(st.just("inline"), cast, short_text),
    st.tuples(st.just("press"), cast, callback),
    st.tuples(st.just("flood"), cast, st.integers(BURST + 1, BURST + 12)),
)


@dataclass
class Stage:
    """One bot, two organisations, people in every role, and invites in every state."""

    bot: Harness
    users: dict[str, User]
    codes: dict[str, str]
    orgs: tuple[int, int]
    groups: list[dict[str, Any]] = field(default_factory=list)
    group_texts: list[str] = field(default_factory=list)
    staff_links: set[str] = field(default_factory=set)  # who sent a valid joining invite

    @classmethod
    async def build(cls, bot: Harness) -> Stage:
        db = bot.rt.db
        home, away = await bot.org("Dom Sonce"), await bot.org("Dom Luna")
        users = {name: bot.user(name.title()) for name in CAST}
        people = PeopleRepo(db)
        roles = {
            "staff": (home, "staff"),
            "foreign_staff": (away, "staff"),
            "manager": (home, "manager"),
            "admin": (home, "admin"),
            "root": (None, "admin"),
        }
        for name, (org, role) in roles.items():
            person = await people.get_or_create(users[name].id, "en")
            await people.add_membership(person.id, org, None, role)  # type: ignore[arg-type]
        invites = InviteRepo(db)
        now = bot.clock()
        codes = {
            "staff": await bot.invite(home, "staff"),
            "poster": await bot.invite(home, "service_user"),
            "expired": await bot.invite(home, "staff", expires_at=now - timedelta(days=1)),
            "revoked": await bot.invite(home, "staff"),
            "used_up": await bot.invite(home, "staff", uses=1),
            "foreign": await bot.invite(away, "manager", uses=1),
            "unknown": "A" * 22,
        }
        await invites.revoke(codes["revoked"], now)
        await invites.redeem(codes["used_up"], now)
        stage = cls(bot, users, codes, (home, away))
        # Sessions whose buttons others can try to press.
        bot.api.send_command(users["foreign_staff"], "/checkin")
        bot.api.send_command(users["guest"], "/start", codes["poster"])
        await bot.settle(lambda: stage.buttons("foreign_staff") and stage.buttons("guest"))
        return stage

    def buttons(self, name: str) -> list[str]:
        message = self.bot.api.last_message(self.users[name].id)
        return [d for d in message.callback_data if d.startswith("1:a:")] if message else []

    async def play(self, step: tuple[Any, ...]) -> None:
        api, kind = self.bot.api, step[0]
        user = self.users[step[1]] if kind != "channel" else None
        if kind == "text":
            api.send_text(user, step[2])
        elif kind == "command":
            argument = step[3]
            if isinstance(argument, tuple):
                argument = self.codes[argument[1]]
                # Both are valid links that register whoever uses them (the foreign
                # manager link only its first user; `allowed` may be a superset).
                joining = (self.codes["staff"], self.codes["foreign"])
                if step[2] == "start" and argument in joining:
                    self.staff_links.add(step[1])
            api.send_command(user, "/" + step[2], argument)
        elif kind == "media":
            self.media(user, step[2])
        elif kind == "edit":
            sent = api.send_text(user, "first")
            api.edit_user_message(user, sent, step[2])
        elif kind == "channel":
            api.channel_post(api.add_channel(), step[1])
            self.group_texts.append(step[1])
        elif kind == "group":
            group = api.add_group(supergroup=step[2])
            self.groups.append(group)
            api.send_text(user, step[3], chat=group)
            self.group_texts.append(step[3])
        elif kind == "member":
            group = api.add_group(supergroup=True)
            self.groups.append(group)
            api.my_chat_member(user, step[2], chat=group)
        elif kind == "inline":
            api.inline_query(user, step[2])
        elif kind == "press":
            await self.press(user, step[2])
        elif kind == "flood":
            for number in range(step[2]):
                api.send_text(user, f"flood {number}")

    def media(self, user: User, kind: str) -> None:
        api = self.bot.api
        if kind == "sticker":
            api.send_sticker(user)
        elif kind == "photo":
            api.send_photo(user, caption="a photo")
        elif kind == "document":
            api.send_document(user, b"\x00binary", file_name="x.bin")
        else:
            chat = api.chat(user.id) if user.id in api.chats else None
            assert chat is not None
            api.inject(
                "message",
                {
                    "message_id": chat.take_message_id(),
                    "from": user.to_dict(),
                    "chat": user.private_chat(),
                    "date": 1,
                    "voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 2},
                },
            )

    async def press(self, user: User, data: Any) -> None:
        api = self.bot.api
        message = api.last_message(user.id)
        if message is None:
            api.send_command(user, "/help")
            message = await api.wait_for_message(user.id, after=0, timeout=10)
        if isinstance(data, tuple):
            owner, how, number = data
            real = self.buttons(owner) or ["1:a:1:0:0"]
            data = real[number % len(real)]
            if how == "cut":
                data = data[: max(1, number % len(data))]
            elif how == "option":
                data = data.rsplit(":", 1)[0] + f":{number}"
        api.press(user, message, data, check=False)


async def idle(bot: Harness) -> None:
    """Every update fetched and handled, and every pressed button answered."""
    assert bot.app is not None
    processor = bot.app.update_processor
    quiet = 0
    for _ in range(3000):  # at most 30 s
        busy = (
            bot.api.pending_updates
            or bot.app.update_queue.qsize()
            or processor.current_concurrent_updates
            or bot.api.unanswered_callbacks()
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the bot is still busy: {bot.api.pending_updates[:3]}")


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def run_stream(steps: list[tuple[Any, ...]], directory: Path) -> None:
    api = FakeBotAPI()
    await api.start()
    bot = Harness(api, directory, FakeClock())
    errors = Errors()
    logging.getLogger().addHandler(errors)
    await bot.start()
    assert bot.app is not None
    # Frozen time for the flood gate: how many updates pass must not depend on how
    # fast a loaded machine happens to deliver them.
    gate_of(bot).clock = lambda: 0.0
    try:
        stage = await Stage.build(bot)
        for step in steps:
            await stage.play(step)
        await idle(bot)
        # Still answering, to a newcomer.
        probe = bot.user("Probe")
        reply = await bot.command(probe, "/help")
        assert reply.text
        await check_stored(stage)
        for group in stage.groups:
            chat = api.chat(group["id"])
            assert not chat.member, f"the bot stayed in {group}"
            assert not [m for m in chat.messages.values() if m.from_bot]
        assert [r.getMessage() for r in errors.records] == []
        api.assert_no_errors()
    finally:
        logging.getLogger().removeHandler(errors)
        await bot.stop()
        await api.stop()


async def check_stored(stage: Stage) -> None:
    """Only what the rules allow: people from valid invites, no id of anyone else."""
    db = stage.bot.rt.db
    registered = {"staff", "foreign_staff", "manager", "admin", "root"} | stage.staff_links
    allowed = {stage.users[name].id for name in registered}
    people = {r["telegram_id"] for r in await db.fetchall("SELECT telegram_id FROM people")}
    assert people <= allowed
    dump = await everything(stage)
    for name in set(CAST) - registered:
        assert str(stage.users[name].id) not in dump, f"{name}'s Telegram id is stored"
    for text in stage.group_texts:
        if len(text) >= 6 and text.strip():
            assert text not in dump, f"a group or channel text was stored: {text!r}"
    invites = {r["code"]: r for r in await db.fetchall("SELECT * FROM invites")}
    assert invites[stage.codes["expired"]]["uses"] == 0
    assert invites[stage.codes["revoked"]]["uses"] == 0
    assert invites[stage.codes["used_up"]]["uses"] == 1
    makers = {
        r["person_id"]
        for r in await db.fetchall(
            "SELECT person_id FROM memberships WHERE role IN ('manager', 'admin')"
        )
    }
    for invite in invites.values():
        assert invite["created_by"] is None or invite["created_by"] in makers
    # One open session at most per person and script, and sessions only in their own org.
    rows = await db.fetchall(
        "SELECT s.person_id, s.respondent_key, s.org_id, v.script_id, count(*) AS n FROM sessions s"
        " JOIN script_versions v ON v.id = s.script_version_id WHERE s.status <> 'done'"
        " GROUP BY s.person_id, s.respondent_key, s.org_id, v.script_id"
    )
    assert all(r["n"] == 1 for r in rows), [tuple(r) for r in rows]
    staff_sessions = await db.fetchall(
        "SELECT s.org_id, s.person_id FROM sessions s WHERE s.audience = 'staff'"
        " AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = s.person_id"
        " AND (m.org_id = s.org_id OR m.org_id IS NULL))"
    )
    assert [tuple(r) for r in staff_sessions] == []


async def everything(stage: Stage) -> str:
    return "\n".join(await stored_rows(stage.bot.rt.db))


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    # A failure reported at once: shrinking restarts the bot for every attempt and can
    # take many minutes. Which streams run is the profile's (fixed here, random in CI).
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(event, min_size=1, max_size=20))
def test_a_stream_of_anything_breaks_nothing(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(run_stream(steps, Path(directory)))
