"""What a digest says, as numbers only: no names, no ids of people, nothing withheld.

Every renderer (Telegram, chart, report, JSON) reads these objects, so a figure that
is not here cannot leak through any of them: a withheld group has a status and no n.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.services.safeguard_line import SafeguardLine

Audience = Literal["staff", "service_user"]
AUDIENCES: tuple[Audience, ...] = ("staff", "service_user")
ActionKind = Literal["overdue", "due_soon", "open", "done"]
# shown; "few": fewer than k respondents; "withheld": shown, it would give away a
# smaller group; "none": asked, nobody answered; "not_asked": no question of the
# audience's scripts is about the item.
Status = Literal["shown", "few", "withheld", "none", "not_asked"]
Direction = Literal["up", "down", "steady"]


@dataclass(frozen=True)
class Span:
    """A window as people read it: its days, its ISO weeks and its length."""

    start: date
    end: date
    first_week: str
    last_week: str
    weeks: int


@dataclass(frozen=True)
class Figure:
    """A released score on the 1-5 scale: its n (distinct respondents), 90% half-width.

    `leans`: a unit's figure that owes more to its organisation's than to its own
    answers, because it has few (the interval is then the shrunk one).
    """

    n: int
    mean: float
    half_width: float | None
    leans: bool = False


@dataclass(frozen=True)
class Change:
    """A difference between two shown figures, and whether the data support calling it one."""

    value: float
    half_width: float | None
    real: bool

    @property
    def direction(self) -> Direction:
        if not self.real:
            return "steady"
        return "up" if self.value > 0 else "down"


@dataclass(frozen=True)
class GroupScore:
    """One audience's view of one item in the digest's window, and against the window before."""

    status: Status
    figure: Figure | None = None
    previous: Figure | None = None
    change: Change | None = None  # only when both windows are shown

    @property
    def shown(self) -> bool:
        return self.figure is not None

    @property
    def mean(self) -> float | None:
        return None if self.figure is None else self.figure.mean


@dataclass(frozen=True)
class ItemScore:
    framework: str
    item_id: str
    number: int
    staff: GroupScore
    service_users: GroupScore
    gap: Change | None  # staff minus service users, when both are shown

    def of(self, audience: Audience) -> GroupScore:
        return self.staff if audience == "staff" else self.service_users

    @property
    def flagged_gap(self) -> bool:
        return self.gap is not None and self.gap.real


@dataclass(frozen=True)
class Participation:
    """Who answered in a window: counts below k (or that would give one away) are None."""

    staff: int | None
    staff_enrolled: int  # active staff, and anyone who answered and has left since
    service_users: int | None


@dataclass(frozen=True)
class WindowScores:
    """One window of the trend: per item (framework order), staff and service-user figures."""

    span: Span
    staff: tuple[Figure | None, ...]
    service_users: tuple[Figure | None, ...]


@dataclass(frozen=True)
class Comparison:
    """The digest's window against one further back (half a year, a year)."""

    label: Literal["half_year", "year"]
    span: Span
    staff: tuple[Change | None, ...]  # per item, framework order
    service_users: tuple[Change | None, ...]


@dataclass(frozen=True)
class Comment:
    """Free text a person wrote, already trimmed and scrubbed; escaped only when rendered.

    It carries no day: the window is enough, and a day narrows down who wrote it.
    """

    audience: Audience
    text: str
    item_ids: tuple[str, ...]  # the question's items under the digest's lens
    route: int | None = None  # a reply route, if its author agreed to replies


@dataclass(frozen=True)
class ActionLine:
    """An improvement action as a digest shows it; `now` is the check for done ones."""

    id: int
    kind: ActionKind
    title: str
    owner: str | None
    status: str
    framework: str
    item_id: str
    unit_id: int | None
    due_on: date | None
    done_on: date | None
    baseline: float | None
    now: float | None

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.now is None:
            return None
        return round(self.now - self.baseline, 2)


@dataclass(frozen=True)
class Digest:
    org_id: int
    org_name: str
    is_demo: bool
    unit_id: int | None
    unit_name: str | None
    period: str  # the week asked for; the scores are of the newest window complete by then
    window: Span
    previous_window: Span
    next_scores: date  # the first day the next window's scores can be read
    lens: str
    k: int
    gap_threshold: float
    participation: Participation
    previous_participation: Participation
    items: tuple[ItemScore, ...]  # every item of the lens, in framework order
    coverage: dict[Audience, tuple[str, ...]]  # the items each audience is asked about
    gaps: tuple[str, ...]  # item ids of real gaps, widest first
    strongest: dict[Audience, tuple[str, ...]]  # ranked on the shown figures
    weakest: dict[Audience, tuple[str, ...]]
    comments: tuple[Comment, ...]  # newest first, only from groups that are shown
    actions: tuple[ActionLine, ...]
    trend: tuple[WindowScores, ...]  # oldest first, ending with the digest's window
    comparisons: tuple[Comparison, ...]
    generated_at: datetime
    # Items of the lens no question of the organisation's live scripts maps to: said so,
    # never silently missing. Their scores, if any, come from earlier versions' answers.
    not_assessed: tuple[str, ...] = ()
    # Safeguarding alerts of this scope not yet followed up (`bot.services.safeguarding`).
    safeguarding: tuple[SafeguardLine, ...] = ()

    def item(self, item_id: str) -> ItemScore:
        for item in self.items:
            if item.item_id == item_id:
                return item
        raise KeyError(item_id)

    def actions_of(self, kind: ActionKind) -> tuple[ActionLine, ...]:
        return tuple(a for a in self.actions if a.kind == kind)

    @property
    def weak_items(self) -> tuple[str, ...]:
        """The weakest items, staff's first: where "Plan an action" points."""
        ordered = [*self.weakest.get("staff", ()), *self.weakest.get("service_user", ())]
        return tuple(dict.fromkeys(ordered))
