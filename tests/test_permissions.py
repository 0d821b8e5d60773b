"""Permission matrix: every command and callback action, for every role, in two organisations.

The table below is the policy as people meet it. Each case is tried by each role
through the real bot; a role is refused when the bot answers with the case's
refusal sentence, and a role that is not refused must see the action happen (its
`done` check: the screen, link, digest or stored change it leads to). Everything is
decided on the server from the stored roles, so callback data naming another
organisation, unit, session or action get nowhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.infra.i18n import translator
from storage.actions import ActionRepo
from storage.orgs import OrgRepo
from storage.people import PeopleRepo
from tests.fakebotapi.models import StoredMessage, User
from tests.harness import Harness
from tests.test_hostile import gate_of, idle

T = translator("en")
ROLES = (
    "none",
    "service_user",
    "staff",
    "unit_manager",
    "unit_admin",
    "manager",
    "org_admin",
    "global_admin",
)
EVERYONE = frozenset(ROLES)
UNIT_ROLES = frozenset({"unit_manager", "unit_admin"})
CHECKERS = frozenset({"staff", "manager", "org_admin"}) | UNIT_ROLES
MANAGERS = frozenset({"manager", "org_admin"})
ADMINS = frozenset({"org_admin", "global_admin"})
NOBODY: frozenset[str] = frozenset()
GLOBAL = frozenset({"global_admin"})
ORG_ADMIN = frozenset({"org_admin"})

NOT_STAFF = T("Check-ins are for staff who joined with an invitation link.")
NOT_VALID = T("This button is no longer valid.")
NO_INVITES = T("Only managers and administrators can make invitation links.")
NO_DIGEST = T("Digests are for managers and administrators.")
NO_UNIT = T("You cannot see that unit's digest.")
NO_ACTIONS = T("Improvement actions are for managers and administrators.")
NO_SCRIPTS = T("Only administrators can manage scripts.")
ADMIN_ONLY = T("Only administrators can do this.")
NOT_YOURS = T("This button is not for you.")
NO_PLAN = T("Only managers of this organisation can plan actions.")
NO_CHANGE = T("Only managers of this organisation can change actions.")
USAGE = T("Usage: /digest [unit number] [week like 2026-W47]")
NO_DIGEST_SEEN = T("You cannot see that digest.")
NO_SETTINGS = T("Only administrators of the whole organisation can change its settings.")
NO_MARK = T("Only this organisation's safeguarding contacts and managers can mark alerts.")


# Where the bot does not yet follow the table. "Plan an action" checks the manager's
# organisation but not that the unit in the button belongs to it: the button is
# taken, and only the last step of the plan fails ("That did not work"), storing
# nothing. The refusal should come at the first press.
KNOWN_GAPS: set[tuple[str, str]] = set()


Done = Callable[["Stage", str, list[str]], Awaitable[bool]]


def says(*sentences: str) -> Done:
    """Done when one of these sentences (or a text starting with it) reached the person."""

    async def check(stage: Stage, role: str, texts: list[str]) -> bool:
        return any(text.startswith(s) for text in texts for s in sentences)

    return check


def contains(*fragments: str) -> Done:
    async def check(stage: Stage, role: str, texts: list[str]) -> bool:
        return any(f in text for text in texts for f in fragments)

    return check


def action_now(status: str, which: str) -> Done:
    """Done when the stored action has the status the button asked for."""

    async def check(stage: Stage, role: str, texts: list[str]) -> bool:
        action_id = stage.home_action if which == "home" else stage.away_action
        action = await ActionRepo(stage.bot.rt.db).get(action_id)
        return action is not None and action.status == status

    return check


WHICH_ORG = T("Which organisation?")
INVITED = contains("?start=", WHICH_ORG)
ACTIONS_LISTED = contains(
    "More team meetings",
    T("No open improvement actions. Plan one from a weak spot in /digest."),
    WHICH_ORG,
)
STARTED_OR_RESUMED = contains("1/", T("Welcome back: continuing where you left off."))
NO_SUCH_VERSION = says(T("That version does not exist."))
PLAN_ENDED = says(T("This plan has ended. Start again from the digest."))
DRAFT_GONE = says(T("This draft is gone. Please send the file again."))


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[str]
    refusals: tuple[str, ...]
    command: str | None = None
    payload: Callable[[Stage], str] | str | None = None
    data: Callable[[Stage], str] | str | None = None
    done: Done | None = None  # None: only for cases no role is allowed


def refused_invite(role: str) -> tuple[str, ...]:
    return (NO_INVITES, T("You cannot invite this role: {role}.", role=T(role)))


CASES = (
    # ------------------------------------------------ commands
    Case("/checkin", CHECKERS, (NOT_STAFF,), command="/checkin", done=STARTED_OR_RESUMED),
    Case(
        "/invite staff",
        MANAGERS | UNIT_ROLES | GLOBAL,
        refused_invite("staff member"),
        "/invite",
        "staff",
        done=INVITED,
    ),
    Case(
        "/invite service_user",
        MANAGERS | UNIT_ROLES | GLOBAL,
        refused_invite("service user"),
        "/invite",
        "service_user",
        done=INVITED,
    ),
    Case(
        "/invite manager",
        frozenset({"org_admin", "unit_admin", "global_admin"}),
        refused_invite("manager"),
        "/invite",
        "manager",
        done=INVITED,
    ),
    Case(
        "/invite admin",
        frozenset({"org_admin", "unit_admin", "global_admin"}),
        refused_invite("administrator"),
        "/invite",
        "admin",
        done=INVITED,
    ),
    Case(
        "/digest",
        MANAGERS | UNIT_ROLES | GLOBAL,
        (NO_DIGEST, NO_UNIT),
        command="/digest",
        done=contains(T("Quality digest"), WHICH_ORG),
    ),
    Case(
        "/digest, a unit of the other organisation",
        NOBODY,
        (NO_DIGEST, NO_UNIT, USAGE),
        "/digest",
        lambda s: str(s.away_unit),
    ),
    Case(
        "/actions",
        MANAGERS | UNIT_ROLES | GLOBAL,
        (NO_ACTIONS,),
        command="/actions",
        done=ACTIONS_LISTED,
    ),
    Case(
        "/scripts", ADMINS, (NO_SCRIPTS,), command="/scripts", done=contains("staff-pulse, version")
    ),
    Case(
        "/settings",
        ORG_ADMIN | GLOBAL,
        (NO_SETTINGS,),
        command="/settings",
        done=contains(T("Settings of {org}", org="Dom Sonce"), WHICH_ORG),
    ),
    Case(
        "/help",
        EVERYONE,
        (),
        command="/help",
        done=says(T("carecheck asks short questions about the quality of our service.")),
    ),
    Case("/language", EVERYONE, (), command="/language", done=says(T("Choose your language:"))),
    Case(
        "/privacy",
        EVERYONE,
        (),
        command="/privacy",
        done=says(T("What carecheck stores about you:"), T("carecheck stores nothing about you.")),
    ),
    Case(
        "/forget",
        EVERYONE,
        (),
        command="/forget",
        done=contains(
            T("Delete it now?"),
            T("carecheck stores nothing about you, so there is nothing to delete."),
        ),
    ),
    Case(
        "/stop",
        CHECKERS,
        (T("There is nothing to stop: you get no weekly check-ins."),),
        command="/stop",
        done=says(T("You will get no more weekly check-ins.")),
    ),
    # ------------------------------------------------ buttons
    Case("start the check-in", CHECKERS, (NOT_STAFF,), data="1:go", done=STARTED_OR_RESUMED),
    Case(
        "remind me later",
        CHECKERS,
        (NOT_VALID,),
        data="1:later",
        done=says(T("All right, I will remind you in about three hours.")),
    ),
    Case(
        "choose a language",
        EVERYONE,
        (NOT_VALID,),
        data="1:L:en:",
        done=says(T("Language: {name}", name="English")),
    ),
    Case(
        "keep my data", EVERYONE, (NOT_VALID,), data="1:fg:no", done=says(T("Nothing was deleted."))
    ),
    Case(
        "answer a colleague's check-in",
        NOBODY,
        (NOT_YOURS,),
        data=lambda s: s.buttons["colleague"],
    ),
    Case(
        "answer a check-in in the other organisation",
        NOBODY,
        (NOT_YOURS,),
        data=lambda s: s.buttons["foreigner"],
    ),
    Case("answer someone's feedback", NOBODY, (NOT_YOURS,), data=lambda s: s.buttons["visitor"]),
    Case("skip in someone's feedback", NOBODY, (NOT_YOURS,), data=lambda s: s.skip["visitor"]),
    # A safeguarding alert is marked only by its organisation's contacts and managers; one
    # that does not exist (or a forged id) by nobody. tests/test_safeguarding.py has the rest.
    Case("mark a safeguarding alert", NOBODY, (NO_MARK, NOT_VALID), data="1:sg:999:f"),
    Case("preview a draft", ADMINS, (ADMIN_ONLY,), data="1:dp:nodraft", done=DRAFT_GONE),
    Case("publish a draft", ADMINS, (ADMIN_ONLY,), data="1:du:nodraft", done=DRAFT_GONE),
    Case("discard a draft", ADMINS, (ADMIN_ONLY,), data="1:dx:nodraft", done=DRAFT_GONE),
    # An own framework is an organisation's: only an admin of the whole organisation acts
    # on one (a global admin publishes it from the command line, `--org`).
    Case(
        "publish a framework draft", ORG_ADMIN, (ADMIN_ONLY,), data="1:fu:nodraft", done=DRAFT_GONE
    ),
    Case(
        "discard a framework draft", ORG_ADMIN, (ADMIN_ONLY,), data="1:fx:nodraft", done=DRAFT_GONE
    ),
    Case(
        "make a framework the organisation's lens",
        ORG_ADMIN,
        (ADMIN_ONLY,),
        data="1:fl:own-values",
        done=says(T("Your organisation cannot use that framework as its lens.")),
    ),
    Case(
        "download the organisation's script",
        ADMINS,
        (ADMIN_ONLY,),
        data=lambda s: f"1:sx:{s.home}:staff-pulse:99:y",
        done=NO_SUCH_VERSION,
    ),
    Case(
        "download the other organisation's script",
        GLOBAL,
        (ADMIN_ONLY,),
        data=lambda s: f"1:sx:{s.away}:staff-pulse:99:y",
        done=NO_SUCH_VERSION,
    ),
    Case(
        "download the global script",
        ADMINS,
        (ADMIN_ONLY,),
        data="1:sx:0:staff-pulse:99:x",
        done=NO_SUCH_VERSION,
    ),
    Case(
        "roll back the organisation's script",
        ADMINS,
        (ADMIN_ONLY,),
        data=lambda s: f"1:sr:{s.home}:staff-pulse:99",
        done=NO_SUCH_VERSION,
    ),
    Case(
        "roll back the other organisation's script",
        GLOBAL,
        (ADMIN_ONLY,),
        data=lambda s: f"1:sr:{s.away}:staff-pulse:99",
        done=NO_SUCH_VERSION,
    ),
    Case(
        "roll back the global script",
        GLOBAL,
        (ADMIN_ONLY,),
        data="1:sr:0:staff-pulse:99",
        done=NO_SUCH_VERSION,
    ),
    # A plan's own steps act only on the presser's plan under way (here: none).
    Case("a plan without an owner", EVERYONE, (NO_PLAN,), data="1:ao", done=PLAN_ENDED),
    Case("a plan due in two weeks", EVERYONE, (NO_PLAN,), data="1:aw:2", done=PLAN_ENDED),
    Case(
        "plan an action",
        MANAGERS | GLOBAL,
        (NO_PLAN,),
        data=lambda s: f"1:ap:{s.home}:0:equass:leadership",
        done=says(T("What is the action? Send a short title.")),
    ),
    Case(
        "plan an action in the other organisation",
        GLOBAL,
        (NO_PLAN,),
        data=lambda s: f"1:ap:{s.away}:0:equass:leadership",
        done=says(T("What is the action? Send a short title.")),
    ),
    Case(
        # The unit does not belong to the organisation the button names: refused for all.
        "plan an action for a unit of the other organisation",
        frozenset(),
        (NO_PLAN,),
        data=lambda s: f"1:ap:{s.home}:{s.away_unit}:equass:leadership",
    ),
    Case(
        "mark an action started",
        MANAGERS | GLOBAL,
        (NO_CHANGE,),
        data=lambda s: f"1:as:{s.home_action}:s",
        done=action_now("started", "home"),
    ),
    Case(
        "mark an action of the other organisation done",
        GLOBAL,
        (NO_CHANGE,),
        data=lambda s: f"1:as:{s.away_action}:d",
        done=action_now("done", "away"),
    ),
    Case(
        "an action that does not exist",
        NOBODY,
        (NO_CHANGE,),
        data=lambda s: f"1:as:{s.away_action + 1000}:d",
    ),
    # A global administrator's choice of organisation, after /digest, /actions, /invite.
    Case(
        "the organisation's digest, chosen",
        MANAGERS | GLOBAL,
        (NO_UNIT,),
        data=lambda s: f"1:dg:{s.home}:",
        done=contains(T("Quality digest")),
    ),
    Case(
        "the other organisation's digest, chosen",
        GLOBAL,
        (NO_UNIT,),
        data=lambda s: f"1:dg:{s.away}:",
        done=contains(T("Quality digest")),
    ),
    Case(
        "the organisation's actions, chosen",
        MANAGERS | GLOBAL,
        (NO_ACTIONS,),
        data=lambda s: f"1:ac:{s.home}",
        done=ACTIONS_LISTED,
    ),
    Case(
        "the other organisation's actions, chosen",
        GLOBAL,
        (NO_ACTIONS,),
        data=lambda s: f"1:ac:{s.away}",
        done=contains("Quieter nights"),
    ),
    Case(
        "an invitation into the organisation, chosen",
        MANAGERS | GLOBAL,
        refused_invite("staff member"),
        data=lambda s: f"1:iv:staff:{s.home}",
        done=INVITED,
    ),
    Case(
        "an invitation into the other organisation, chosen",
        GLOBAL,
        refused_invite("staff member"),
        data=lambda s: f"1:iv:staff:{s.away}",
        done=INVITED,
    ),
    # Anonymous replies: the comment list is a digest's; a Reply must be to a comment in
    # the digest the presser sees, and only a comment's author has their routes' buttons.
    Case(
        "the organisation's comments",
        MANAGERS | GLOBAL,
        (NO_DIGEST_SEEN,),
        data=lambda s: f"1:cm:{s.home}:0:",
        done=says(T("This digest holds no comments.")),
    ),
    Case(
        "the other organisation's comments",
        GLOBAL,
        (NO_DIGEST_SEEN,),
        data=lambda s: f"1:cm:{s.away}:0:",
        done=says(T("This digest holds no comments.")),
    ),
    Case(
        "reply to a comment in no digest",
        NOBODY,
        (NO_DIGEST_SEEN, T("That comment is not shown in this digest, so it cannot be answered.")),
        data=lambda s: f"1:rp:{s.home}:0::123456789",
    ),
    Case(
        "answer a reply that is not one's own",
        NOBODY,
        (T("That comment can no longer be answered."),),
        data="1:ra:123456789",
    ),
    Case("agree to replies to another's comment", NOBODY, (NOT_VALID,), data="1:ry:1:00:y"),
    # Settings last: a settings button edits the message pressed, which the cases above
    # read after their own edits.
    Case(
        "the organisation's settings",
        ORG_ADMIN | GLOBAL,
        (NO_SETTINGS,),
        data=lambda s: f"1:st:{s.home}:m:",
        done=contains(T("Settings of {org}", org="Dom Sonce")),
    ),
    Case(
        "a setting of the organisation, chosen",
        ORG_ADMIN | GLOBAL,
        (NO_SETTINGS,),
        data=lambda s: f"1:st:{s.home}:k:6",
        done=says(T("Saved.")),
    ),
    Case(
        "the other organisation's settings",
        GLOBAL,
        (NO_SETTINGS,),
        data=lambda s: f"1:st:{s.away}:k:",
        done=contains(T("Choose: {setting}", setting=T("Smallest group"))),
    ),
)


@dataclass
class Stage:
    bot: Harness
    home: int
    away: int
    away_unit: int
    home_action: int
    away_action: int
    users: dict[str, User]
    anchors: dict[str, StoredMessage]
    buttons: dict[str, str]
    skip: dict[str, str]


async def build(bot: Harness) -> Stage:
    assert bot.app is not None
    gate_of(bot).burst = 10_000  # this test sends much, on purpose
    db = bot.rt.db
    orgs = OrgRepo(db)
    home, away = await bot.org("Dom Sonce"), await bot.org("Dom Luna")
    home_unit = await orgs.create_unit(home, "Ward A")
    away_unit = await orgs.create_unit(away, "Ward B")
    people = PeopleRepo(db)
    users: dict[str, User] = {}
    roles: dict[str, tuple[int | None, str]] = {
        "staff": (home, "staff"),
        "manager": (home, "manager"),
        "org_admin": (home, "admin"),
        "unit_manager": (home, "manager"),
        "unit_admin": (home, "admin"),
        "global_admin": (None, "admin"),
        "colleague": (home, "staff"),
        "foreigner": (away, "staff"),
    }
    for name in (*ROLES, "colleague", "foreigner", "visitor"):
        users[name] = bot.user(name.title())
        if name in roles:
            org, role = roles[name]
            unit = home_unit if name in UNIT_ROLES else None
            person = await people.get_or_create(users[name].id, "en")
            await people.add_membership(person.id, org, unit, role)  # type: ignore[arg-type]
    poster = await bot.invite(home, "service_user")
    buttons, skip = {}, {}
    for name in ("service_user", "visitor", "colleague", "foreigner"):
        if name in ("service_user", "visitor"):
            bot.api.send_command(users[name], "/start", poster)
        else:
            bot.api.send_command(users[name], "/checkin")
        message = await bot.settle(
            lambda name=name: next(
                (m for m in bot.api.messages(users[name].id) if "1/" in (m.text or "")), None
            )
        )
        buttons[name] = next(d for d in message.callback_data if d.startswith("1:a:"))
        skip[name] = next(d for d in message.callback_data if d.startswith("1:s:"))
    actions = ActionRepo(db)
    home_action = await actions.create(
        home, None, "equass", "leadership", "More team meetings", None, None, None, None
    )
    away_action = await actions.create(
        away, None, "equass", "leadership", "Quieter nights", None, None, None, None
    )
    anchors = {}
    for role in ROLES:
        anchors[role] = await bot.command(users[role], "/help")
    await idle(bot)
    return Stage(
        bot, home, away, away_unit, home_action.id, away_action.id, users, anchors, buttons, skip
    )


def resolve(value: Any, stage: Stage) -> Any:
    return value(stage) if callable(value) else value


async def attempt(stage: Stage, role: str, case: Case) -> list[str]:
    """What the bot answers this role for this case: its button notice and new messages."""
    bot = stage.bot
    user = stage.users[role]
    last = bot.api.last_message(user.id)
    after = last.message_id if last else 0
    texts = []
    if case.command is not None:
        await bot.command(user, case.command, resolve(case.payload, stage))
    else:
        answer = await bot.press(user, stage.anchors[role], resolve(case.data, stage), check=False)
        texts.append(answer["text"] or "")
    await idle(bot)
    texts += [m.text or "" for m in bot.api.messages(user.id) if m.message_id > after]
    if case.data is not None:  # a button may edit the message it is on
        texts.append(bot.api.message(user.id, stage.anchors[role].message_id).text or "")
    return texts


async def test_every_command_and_button_for_every_role(bot: Harness) -> None:
    stage = await build(bot)
    wrong = []
    for case in CASES:
        for role in ROLES:
            texts = await attempt(stage, role, case)
            refused = any(text in case.refusals for text in texts)
            if refused == (role in case.allowed) and (case.name, role) not in KNOWN_GAPS:
                verdict = "refused" if refused else "allowed"
                wrong.append(f"{case.name} / {role}: {verdict} ({texts})")
            elif refused != (role in case.allowed) and (case.name, role) in KNOWN_GAPS:
                wrong.append(f"{case.name} / {role}: fixed, take it off KNOWN_GAPS")
            elif role in case.allowed and not refused:
                assert case.done is not None, f"{case.name} allows {role}: say what it does"
                if not await case.done(stage, role, texts):
                    wrong.append(f"{case.name} / {role}: allowed, but nothing happened ({texts})")
    assert wrong == [], "\n".join(wrong)


async def test_the_menus_offer_what_the_server_allows(bot: Harness) -> None:
    stage = await build(bot)
    await bot.restart()  # the menus are published when the bot starts
    wrong = []
    for role in ROLES:
        user = stage.users[role]
        menu = bot.api.commands_for({"type": "chat", "chat_id": user.id}) or bot.api.commands_for(
            {"type": "default"}
        )
        offered = {command["command"] for command in menu}
        allowed = {
            case.command.lstrip("/") for case in CASES if case.command and role in case.allowed
        }
        if offered != allowed:
            wrong.append(f"{role}: the menu offers {sorted(offered)}, the server {sorted(allowed)}")
    assert wrong == [], "\n".join(wrong)
    # A restart with no role changed sets no menu again: only changes are sent.
    chat_menus = len([c for c in bot.api.calls_to("setMyCommands") if "chat" in c["scope"]])
    assert chat_menus >= len(ROLES) - 2  # everyone with a role got theirs once
    await bot.restart()
    again = len([c for c in bot.api.calls_to("setMyCommands") if "chat" in c["scope"]])
    assert again == chat_menus


def test_every_allowed_case_says_what_it_does() -> None:
    assert [c.name for c in CASES if c.allowed and c.done is None] == []


def test_the_table_covers_every_command_and_callback_kind() -> None:
    from bot.telegram.app import register
    from bot.telegram.callbacks import KINDS

    commands = {case.command for case in CASES if case.command}
    assert commands >= {f"/{name}" for name in registered_commands(register)} - {"/start"}
    pressed = {str(resolve(case.data, FAKE)).split(":")[1] for case in CASES if case.data}
    dialog = {"a", "t", "c", "s", "b", "p", "r"}  # one ownership check covers them all
    assert pressed | dialog >= set(KINDS) | {"fg"}


def registered_commands(register: Callable[..., None]) -> set[str]:
    """The commands the bot registers, read from the real registration."""
    from telegram.ext import Application, CommandHandler

    application = Application.builder().token("1:x").build()
    register(application)
    names: set[str] = set()
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                names |= set(handler.commands)
    return names


_SESSIONS = ("colleague", "foreigner", "visitor")
FAKE = Stage(
    None,  # type: ignore[arg-type]
    1,
    2,
    3,
    4,
    5,
    {},
    {},
    dict.fromkeys(_SESSIONS, "1:a:1:0:0"),
    dict.fromkeys(_SESSIONS, "1:s:1:0"),
)
