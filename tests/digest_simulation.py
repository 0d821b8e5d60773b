"""Synthetic teams with known true means, run through the real storage and digest code.

Each team member has a lasting level of their own; in every window each member has the
answers they would give to the six leadership statements a full rotation asks (their
level, the statement's lean, the window's shift and some noise, rounded to the 1-5
scale), and their value is the mean of those six. The members who answer are a random
share of the team, and answer all six. The true mean of a window is the mean of every
member's would-be value: what the whole team would have said. That is what a staff
score estimates, which is why its interval carries the finite-population correction:
when everyone answered, it is known exactly.

Steady teams never shift, so any "changed" is a false alarm; moving teams shift by 0.5
between windows, so every window should be called a change once enough people answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.services.digests.digest_compute import compute_digest
from bot.services.digests.digest_windows import WindowPlan
from bot.services.periods import iso_week
from bot.services.script_registry import ScriptRegistry
from frameworks import Frameworks
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

QUESTIONS = (
    "lead_heading", "lead_values", "lead_listen", "lead_support"
)  # fmt: skip
ITEM = "leadership"
WINDOWS = 6
SHIFT = 0.5
PERSON_SPREAD = 0.6  # between members' lasting levels
NOISE = 0.8  # one answer around the member's level
LEAN = 0.3  # between statements
FIRST = date(2025, 1, 6)  # a Monday; windows from here on are whole 8-week windows


@dataclass
class Rates:
    """How often the digest's intervals and change flags told the truth."""

    intervals: int = 0
    covered: int = 0
    steady: int = 0
    false_changes: int = 0
    moved: int = 0  # windows after a real shift, with at least 15 respondents both times
    detected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered / self.intervals

    @property
    def false_rate(self) -> float:
        return self.false_changes / self.steady

    @property
    def power(self) -> float:
        return self.detected / self.moved


async def simulate(
    db: Database, scripts: ScriptRegistry, frameworks: Frameworks, teams: int, seed: int
) -> Rates:
    """`teams` steady and `teams` moving teams of 5 to 40 people, six windows each."""
    rng = random.Random(seed)
    rates = Rates()
    plan = WindowPlan([])
    windows = [plan.window_of(FIRST + timedelta(weeks=8 * w)) for w in range(WINDOWS)]
    for number in range(2 * teams):
        moving = number % 2 == 1
        size = rng.randint(5, 40)
        turnout = rng.uniform(0.55, 0.95)
        centre = rng.uniform(2.4, 3.1)
        levels = [rng.gauss(centre, PERSON_SPREAD) for _ in range(size)]
        leans = [rng.gauss(0, LEAN) for _ in QUESTIONS]
        org_id = await OrgRepo(db).create_org(f"Team {number}", k=3)
        unit_id = await OrgRepo(db).create_unit(org_id, "Team")
        loaded = await scripts.active("staff-pulse", org_id)
        assert loaded.version is not None
        version = loaded.version.id
        rows = DemoRows(
            [DemoPerson(-(10_000_000 + 1000 * number + i), "en") for i in range(size)],
            [DemoMembership(i, org_id, unit_id, "staff") for i in range(size)],
            [],
            [],
        )
        truths = []
        for w, window in enumerate(windows):
            shift = SHIFT * (w % 2) if moving else 0.0
            would = [
                [
                    float(min(5, max(1, round(level + lean + shift + rng.gauss(0, NOISE)))))
                    for lean in leans
                ]
                for level in levels
            ]
            truths.append(sum(sum(answers) / len(answers) for answers in would) / size)
            for person, answers in enumerate(would):
                if rng.random() >= turnout:
                    continue
                day = window.start + timedelta(days=rng.randrange(7 * window.weeks))
                period = iso_week(day)
                rows.sessions.append(
                    DemoSession(version, org_id, unit_id, "staff", person, period, 6, day)
                )
                rows.answers.extend(
                    DemoAnswer(len(rows.sessions) - 1, question, answer, answer, None, False,
                               False, None, day, org_id, unit_id, "staff", period, version)
                    for question, answer in zip(QUESTIONS, answers, strict=True)
                )  # fmt: skip
        await fill_demo(db, rows)
        for w, window in enumerate(windows):
            after = window.end + timedelta(days=2)
            digest = await compute_digest(
                db, frameworks, org_id, None, iso_week(window.end),
                now=datetime.combine(after, datetime.min.time(), UTC),
            )  # fmt: skip
            staff = digest.item(ITEM).staff
            figure = staff.figure
            if figure is not None and figure.half_width is not None:
                rates.intervals += 1
                if abs(figure.mean - truths[w]) <= figure.half_width + 1e-9:
                    rates.covered += 1
                else:
                    rates.misses.append(f"team {number} window {w}: {figure} vs {truths[w]:.3f}")
            if w == 0 or staff.change is None or staff.previous is None or figure is None:
                continue
            if not moving:
                rates.steady += 1
                rates.false_changes += staff.change.real
            elif min(figure.n, staff.previous.n) >= 15:
                rates.moved += 1
                rates.detected += staff.change.real
    return rates
