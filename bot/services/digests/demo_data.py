"""A demo organisation full of synthetic answers, so a newcomer sees a digest at once.

The numbers tell a story a manager would recognise: participation improving
week by week, staff workload getting worse, staff rating rights well above
what service users say, and comments in the organisation's language. The data
uses the live shipped scripts' question ids and is written in one transaction.
The same seed gives the same answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from bot.infra.i18n import Translator, _, translator
from bot.services.digests.digest_access import CONSOLE
from bot.services.digests.digest_model import Audience
from bot.services.digests.improvement_actions import plan_action, set_action_status
from bot.services.periods import iso_week
from bot.services.script_registry import LoadedScript, ScriptRegistry
from dialogs.conditions import holds
from dialogs.model import Question, Script
from frameworks import Frameworks
from storage.actions import ActionStatus
from storage.db import Database
from storage.demo_fill import (
    DemoAnswer,
    DemoMembership,
    DemoPerson,
    DemoRows,
    DemoSession,
    fill_demo,
)
from storage.orgs import OrgRepo

DEFAULT_NAME = "Demo Care Home"
STAFF_SCRIPT = "staff-pulse"
USER_SCRIPT = "service-user"
QUESTIONS_PER_CHECKIN = 5
# Demo staff get negative "Telegram ids": real users' ids are positive, so none can collide.
_FAKE_TELEGRAM_BASE = 1_000_000

# By EQUASS principle: (staff mean in the first week, change per week).
STAFF_STORY: dict[str, tuple[float, float]] = {
    "leadership": (3.6, 0.0),
    "staff": (3.7, -0.06),
    "rights": (4.3, 0.0),
    "ethics": (4.0, 0.0),
    "partnership": (3.5, 0.01),
    "participation": (2.9, 0.06),
    "person-centred": (3.9, 0.0),
    "comprehensiveness": (3.4, 0.0),
    "result-orientation": (3.5, 0.02),
    "continuous-improvement": (3.0, 0.03),
}
# By question: service users see rights and having a say less rosily than staff do.
USER_STORY: dict[str, tuple[float, float]] = {
    "su_respect": (3.3, 0.0),
    "su_say": (2.8, 0.06),
    "su_yourself": (3.3, 0.03),
    "su_safe": (3.0, 0.0),
    "su_times": (3.0, 0.01),
    "su_difference": (3.4, 0.02),
    "su_complain": (3.1, 0.02),
}
# How often a service user picks each open question (the rest pick none or skip).
USER_OPEN = (("good", 0.12), ("better", 0.18))
UNIT_NAMES = (_("Residential unit"), _("Day centre"), _("Home care"))
UNIT_OFFSETS = (0.1, -0.15, 0.0)
# What staff write after a low answer, by EQUASS principle; the rest get a general one.
STAFF_COMMENTS: dict[str, tuple[str, ...]] = {
    "staff": (
        _("Cover for sick leave is a constant worry."),
        _("Supervision was cancelled again this month."),
    ),
    "participation": (_("Residents' ideas get lost between meetings."),),
    "leadership": (_("I would like to hear back when we report a problem."),),
    "comprehensiveness": (_("We need more time for handovers between shifts."),),
    "": (_("Too many forms, too little time with the people we support."),),
}
# What service users write, by the open question they picked.
USER_COMMENTS: dict[str, tuple[str, ...]] = {
    "better": (
        _("The evening meals could be warmer."),
        _("I would like to go outside more often."),
        _("Staff are kind, but they are always in a hurry."),
        _("I did not know I could complain, or to whom."),
        _("Please tell us earlier when activities change."),
        _("Please call my daughter on 041 555 123 about the evening meals."),
    ),
    "good": (
        _("Thank you for the new garden benches."),
        _("The afternoon music group is the best part of my week."),
    ),
}
# (EQUASS principle, title, owner, weeks before the last one it was planned, due in weeks,
# status now)
ACTIONS: tuple[tuple[str, str, str, int, int, ActionStatus], ...] = (
    ("participation", _("Monthly residents' meeting with an open agenda"), _("Head of care"),
     9, 4, "done"),
    ("staff", _("Review the rota and cover for sick leave"), _("Director"), 3, 2, "started"),
    ("rights", _("Easy-read leaflet on how to complain"), _("Quality lead"), 0, 4, "open"),
    ("continuous-improvement", _("Suggestion box in the day centre, answered every month"),
     _("Day centre team leader"), 0, 2, "open"),
)  # fmt: skip


@dataclass(frozen=True)
class DemoResult:
    org_id: int
    name: str
    units: tuple[tuple[int, str], ...]
    staff: int
    sessions: int
    answers: int
    actions: int
    first_period: str
    last_period: str


async def create_demo(
    db: Database,
    scripts: ScriptRegistry,
    frameworks: Frameworks,
    *,
    today: date,
    name: str = DEFAULT_NAME,
    weeks: int = 26,
    staff: int = 40,
    users: int = 200,
    seed: int = 1,
    language: str = "en",
    lens: str = "equass",
    timezone: str = "Europe/Ljubljana",
) -> DemoResult:
    """Create the demo organisation with `weeks` complete weeks of answers before `today`."""
    if weeks < 1 or staff < 1 or users < 1:
        raise ValueError("weeks, staff and users must each be at least 1")
    t = translator(language)
    title = name if "demo" in name.lower() else f"Demo: {name}"
    orgs = OrgRepo(db)
    org_id = await orgs.create_org(title, timezone, language, is_demo=True)
    await orgs.update_settings(org_id, lens=lens)
    units = tuple([(await orgs.create_unit(org_id, t(u)), t(u)) for u in UNIT_NAMES])
    staff_script = await scripts.active(STAFF_SCRIPT, org_id)
    user_script = await scripts.active(USER_SCRIPT, org_id)

    rng = random.Random(seed)
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=weeks - w) for w in range(weeks)]
    plan = _plan(
        rng, org_id, [u for u, _name in units], staff_script, user_script, mondays, staff, users,
        t,
    )  # fmt: skip
    await fill_demo(db, plan)

    planned = 0
    for principle, title_msg, owner_msg, weeks_before, due_weeks, status in ACTIONS:
        item = _lens_item(staff_script.script, lens, principle)
        index = max(0, weeks - 1 - weeks_before)
        planned_on = mondays[index] + timedelta(days=7)
        action = await plan_action(
            db,
            frameworks,
            CONSOLE,
            org_id=org_id,
            unit_id=None,
            framework=lens,
            item_id=item,
            title=t(title_msg),
            owner=t(owner_msg),
            weeks=due_weeks,
            today=min(planned_on, today),
            period=iso_week(mondays[index]),
        )
        planned += 1
        if status == "done":
            done_on = min(planned_on + timedelta(weeks=due_weeks + 1), today)
            await set_action_status(db, CONSOLE, action.id, status, done_on)
        elif status != "open":
            await set_action_status(db, CONSOLE, action.id, status, planned_on)

    return DemoResult(
        org_id=org_id,
        name=title,
        units=units,
        staff=staff,
        sessions=len(plan.sessions),
        answers=len(plan.answers),
        actions=planned,
        first_period=iso_week(mondays[0]),
        last_period=iso_week(mondays[-1]),
    )


def _lens_item(script: Script, lens: str, principle: str) -> str:
    """The lens item the staff pulse's questions on an EQUASS principle report under."""
    for question in script.questions():
        mapping = script.mapping(question)
        if mapping.get("equass", [""])[0] == principle and mapping.get(lens):
            return principle if lens == "equass" else mapping[lens][0]
    raise ValueError(f"no {lens} item covers the questions on EQUASS {principle!r}")


# One answer before its session and day are known:
# (question, score, value, value_text, not_applicable, skipped, comment)
_Row = tuple[str, float | None, float | None, str | None, bool, bool, str | None]


def _plan(
    rng: random.Random,
    org_id: int,
    unit_ids: list[int],
    staff_script: LoadedScript,
    user_script: LoadedScript,
    mondays: list[date],
    staff: int,
    users: int,
    t: Translator,
) -> DemoRows:
    people = [DemoPerson(-(_FAKE_TELEGRAM_BASE * org_id + i), t.language) for i in range(staff)]
    memberships = [
        DemoMembership(i, org_id, unit_ids[i % len(unit_ids)], "staff") for i in range(staff)
    ]
    bank = [q for q in staff_script.script.questions() if q.type == "scale"]
    # A small fixed lean per question, so the items are not all flat.
    lean = {q.id: rng.uniform(-0.2, 0.2) for q in bank}
    sessions: list[DemoSession] = []
    answers: list[DemoAnswer] = []

    def add(audience: Audience, unit: int, person: int | None, day: date, rows: list[_Row]) -> None:
        loaded = staff_script if audience == "staff" else user_script
        assert loaded.version is not None  # the live scripts, never a draft
        index = len(sessions)
        period = iso_week(day)
        version = loaded.version.id
        sessions.append(
            DemoSession(version, org_id, unit_ids[unit], audience, person, period, len(rows), day)
        )
        answers.extend(
            DemoAnswer(index, *row, day, org_id, unit_ids[unit], audience, period, version)
            for row in rows
        )

    last = max(1, len(mondays) - 1)
    for w, monday in enumerate(mondays):
        turnout = 0.65 + 0.15 * w / last
        for i in range(staff):
            if rng.random() < turnout:
                start = (i * 7 + w * QUESTIONS_PER_CHECKIN) % len(bank)
                asked = [bank[(start + j) % len(bank)] for j in range(QUESTIONS_PER_CHECKIN)]
                unit = i % len(unit_ids)
                rows = [_staff_answer(staff_script, q, rng, w, unit, lean[q.id], t) for q in asked]
                add("staff", unit, i, monday + timedelta(days=rng.randint(0, 2)), rows)
        # Service users give one feedback a window (8 weeks): about 1 in 10 a week.
        for _n in range(round(users * rng.uniform(0.08, 0.12))):
            unit = rng.randrange(len(unit_ids))
            rows = _user_rows(user_script, rng, w, unit, t)
            add("service_user", unit, None, monday + timedelta(days=rng.randint(0, 6)), rows)
    return DemoRows(people, memberships, sessions, answers)


def _staff_answer(
    loaded: LoadedScript,
    question: Question,
    rng: random.Random,
    week: int,
    unit: int,
    lean: float,
    t: Translator,
) -> _Row:
    if rng.random() < 0.05:
        return _skip(question.id, not_applicable=True)
    principle = loaded.script.mapping(question)["equass"][0]
    base, trend = STAFF_STORY[principle]
    value, score = _scale(loaded, question, rng, base + trend * week + UNIT_OFFSETS[unit] + lean)
    # Low answers get the follow-up "What would help?", and some people write something.
    comment = None
    if score <= 2 and rng.random() < 0.4:
        comment = t(rng.choice(STAFF_COMMENTS.get(principle, STAFF_COMMENTS[""])))
    return (question.id, score, float(value), None, False, False, comment)


@dataclass(frozen=True)
class _Given:
    """A demo answer as `show_if` conditions read it."""

    value: object
    skipped: bool = False
    not_applicable: bool = False


def _user_rows(
    loaded: LoadedScript, rng: random.Random, week: int, unit: int, t: Translator
) -> list[_Row]:
    """One feedback: the questions its answers make visible, as a person would meet them."""
    rows: list[_Row] = []
    given: dict[str, _Given] = {}
    for question in loaded.script.questions():
        if question.show_if is not None and not holds(question.show_if, given, None):
            continue
        row = _user_answer(loaded, question, rng, week, unit, t, given)
        given[question.id] = _Given(row[3] if row[2] is None else row[2], row[5], row[4])
        rows.append(row)
    return rows


def _user_answer(
    loaded: LoadedScript,
    question: Question,
    rng: random.Random,
    week: int,
    unit: int,
    t: Translator,
    given: dict[str, _Given],
) -> _Row:
    if question.type == "choice":  # which open question: its option's value, as text
        draw, picked = rng.random(), "nothing"
        for option, chance in USER_OPEN:
            if draw < chance:
                picked = option
                break
            draw -= chance
        return (question.id, None, None, picked, False, False, None)
    if question.type == "text":
        chosen = [str(g.value) for g in given.values() if str(g.value) in USER_COMMENTS]
        pool = USER_COMMENTS[chosen[-1] if chosen else "better"]
        if rng.random() < 0.8:
            return (question.id, None, None, None, False, False, t(rng.choice(pool)))
        return _skip(question.id)
    if rng.random() < 0.04:
        return _skip(question.id, not_applicable=True)
    base, trend = USER_STORY.get(question.id, (3.5, 0.0))
    value, score = _scale(loaded, question, rng, base + trend * week + UNIT_OFFSETS[unit])
    return (question.id, score, float(value), None, False, False, None)


def _scale(
    loaded: LoadedScript, question: Question, rng: random.Random, mean: float
) -> tuple[int | str, float]:
    """A 1-5 answer drawn around `mean`, as the option value and score the engine stores."""
    options = loaded.engine.options(question)
    level = min(5, max(1, round(rng.gauss(mean, 0.85))))
    option = options[round((level - 1) * (len(options) - 1) / 4)]
    position = options.index(option)
    score = option.score or round(1 + 4 * position / (len(options) - 1), 4)
    return option.value, score


def _skip(question_id: str, *, not_applicable: bool = False) -> _Row:
    return (question_id, None, None, None, not_applicable, not not_applicable, None)
