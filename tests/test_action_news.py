""" "You said, we did" on Telegram: an action marked done reaches its unit's staff, once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.infra.i18n import translator
from bot.services.checkin_schedule import Sent
from bot.services.digests.action_news import NewsReport, deliver_news
from bot.services.digests.improvement_actions import set_action_status
from bot.telegram.jobs import Scheduler
from storage.actions import Action, ActionRepo
from storage.orgs import OrgRepo
from storage.people import Membership, Person
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness, button

T = translator("en")
SL = translator("sl")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TITLE = "Breaks <planned> & kept"


def scheduler(bot: Harness) -> Scheduler:
    assert bot.app is not None and bot.app.bot_data.scheduler is not None
    return bot.app.bot_data.scheduler


def news(bot: Harness, user: User) -> list[StoredMessage]:
    return [m for m in bot.api.messages(user.id) if T("You said, we did") in (m.text or "")]


def news_sl(bot: Harness, user: User) -> list[StoredMessage]:
    return [m for m in bot.api.messages(user.id) if SL("You said, we did") in (m.text or "")]


async def join(
    bot: Harness, org: int, role: str, name: str, language: str = "en", **kw: int
) -> User:
    user = bot.user(name, language)
    await bot.command(user, "/start", await bot.invite(org, role, **kw))
    return user


async def test_done_reaches_its_units_staff_once(bot: Harness) -> None:
    bot.clock.now = NOW
    org = await bot.org()
    ward_a = await OrgRepo(bot.rt.db).create_unit(org, "Ward A")
    ward_b = await OrgRepo(bot.rt.db).create_unit(org, "Ward B")
    ana = await join(bot, org, "staff", "Ana", "sl", unit_id=ward_a)
    bor = await join(bot, org, "staff", "Bor", unit_id=ward_a)
    quiet = await join(bot, org, "staff", "Quiet", unit_id=ward_a)
    await bot.command(quiet, "/stop")
    other = await join(bot, org, "staff", "Other", unit_id=ward_b)
    maja = await join(bot, org, "manager", "Maja")
    action = await ActionRepo(bot.rt.db).create(
        org, ward_a, "equass", "rights", TITLE, None, date(2026, 12, 21), 3.1, None
    )

    listed = await bot.command(maja, "/actions")
    assert TITLE in listed.text
    # A double press: both taps reach the bot before it has answered the first.
    done = button(listed, T("✓ Done"))
    taps = [bot.api.press(maja, listed, done), bot.api.press(maja, listed, done, check=False)]
    answers = await bot.settle(
        lambda: (
            [bot.api.callback_answers.get(q) for q in taps]
            if all(q in bot.api.callback_answers for q in taps)
            else None
        )
    )
    assert T("The action already has that status.") in [a.get("text") for a in answers]
    told = await bot.settle(lambda: news(bot, bor) and news_sl(bot, ana))
    assert told
    [message] = news(bot, bor)
    expected = T("Changed after your feedback on “{principle}”.", principle="Rights")
    assert message.text == f"✅ {T('You said, we did')}\n{TITLE}\n{expected}"
    [in_slovene] = news_sl(bot, ana)
    assert SL("Changed after your feedback on “{principle}”.", principle="Pravice") in (
        in_slovene.text
    )

    # A restart, and the every-minute job after it: nothing is sent again.
    await bot.restart()
    report = await scheduler(bot).tell_staff()
    assert report.sent == 0
    assert [len(news(bot, bor)), len(news_sl(bot, ana))] == [1, 1]
    # Another unit's staff, and someone who used /stop, are not told.
    assert news(bot, other) == [] and news(bot, quiet) == []
    assert (await bot.rt.db.fetchall("SELECT * FROM action_news_due")) == []
    assert action.id


async def test_done_elsewhere_is_told_by_the_next_run(bot: Harness) -> None:
    """Marked done outside the chat (as a command line would): the next tick tells everyone
    of an organisation-wide action, and a reopened action is not announced."""
    bot.clock.now = NOW
    org = await bot.org()
    ward_a = await OrgRepo(bot.rt.db).create_unit(org, "Ward A")
    ward_b = await OrgRepo(bot.rt.db).create_unit(org, "Ward B")
    ana = await join(bot, org, "staff", "Ana", unit_id=ward_a)
    bor = await join(bot, org, "staff", "Bor", unit_id=ward_b)
    repo = ActionRepo(bot.rt.db)
    whole = await repo.create(org, None, "equass", "rights", TITLE, None, None, None, None)
    reopened = await repo.create(
        org, ward_a, "equass", "rights", "Reopened", None, None, None, None
    )
    console = [Membership(0, None, None, "admin")]
    await set_action_status(bot.rt.db, console, whole.id, "done", NOW.date())
    await set_action_status(bot.rt.db, console, reopened.id, "done", NOW.date())
    await set_action_status(bot.rt.db, console, reopened.id, "started", NOW.date())

    first = await scheduler(bot).run_due(NOW)
    again = await scheduler(bot).run_due(NOW)
    news_reports = [x for x in first.extra + again.extra if isinstance(x, NewsReport)]
    assert [r.sent for r in news_reports] == [2, 0]
    assert [len(news(bot, u)) for u in (ana, bor)] == [1, 1]
    assert all("Reopened" not in m.text for u in (ana, bor) for m in bot.api.messages(u.id))


async def test_a_failed_send_is_tried_again_alone(bot: Harness) -> None:
    """The service with its port: a send that failed keeps the action queued, and the next
    run sends to that person only."""
    bot.clock.now = NOW
    org = await bot.org()
    ana = await join(bot, org, "staff", "Ana")
    bor = await join(bot, org, "staff", "Bor")
    action = await ActionRepo(bot.rt.db).create(
        org, None, "equass", "rights", TITLE, None, None, None, None
    )
    await ActionRepo(bot.rt.db).set_status(action.id, "done", NOW.date())
    calls: list[tuple[int, str | None]] = []
    failing = {bor.id}

    async def send(person: Person, done: Action, principle: str | None) -> Sent:
        calls.append((person.telegram_id, principle))
        return "failed" if person.telegram_id in failing else "sent"

    first = await deliver_news(bot.rt.db, bot.rt.own_frameworks, send)
    assert (first.sent, first.failed) == (1, 1)
    assert await bot.rt.db.fetchall("SELECT action_id FROM action_news_due") != []
    failing.clear()
    second = await deliver_news(bot.rt.db, bot.rt.own_frameworks, send)
    third = await deliver_news(bot.rt.db, bot.rt.own_frameworks, send)
    assert (second.sent, third.sent) == (1, 0)
    assert sorted(calls) == sorted([(ana.id, "Rights"), (bor.id, "Rights"), (bor.id, "Rights")])
    assert await bot.rt.db.fetchall("SELECT action_id FROM action_news_due") == []
