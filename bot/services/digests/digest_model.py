"""What a digest says, as numbers only: no names, no ids of people, no suppressed means.

Every renderer (Telegram, chart, report, JSON) reads these objects, so a mean that
is not here cannot leak through any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Audience = Literal["staff", "service_user"]
ActionKind = Literal["overdue", "due_soon", "open", "done"]


@dataclass(frozen=True)
class GroupScore:
    """One audience's view of one item; `mean` is None whenever `n` is below k.

    `previous_mean` and `delta` exist only when both weeks reached k respondents,
    so a change can never reveal a suppressed week's mean either.
    """

    n: int  # respondents with at least one scored answer on the item
    answers: int
    mean: float | None
    suppressed: bool  # 0 < n < k
    previous_mean: float | None
    delta: float | None

    @property
    def shown(self) -> bool:
        return self.mean is not None


@dataclass(frozen=True)
class ItemScore:
    framework: str
    item_id: str
    number: int
    staff: GroupScore
    service_users: GroupScore
    score: float | None  # the mean of the shown group means: what ranks and baselines use
    gap: float | None  # staff minus service users, when both are shown

    @property
    def has_answers(self) -> bool:
        return self.staff.n > 0 or self.service_users.n > 0


@dataclass(frozen=True)
class Comment:
    """Free text a person wrote, already trimmed and scrubbed; escaped only when rendered.

    It carries no day: the week is enough, and a day narrows down who wrote it.
    """

    audience: Audience
    text: str
    item_ids: tuple[str, ...]  # the question's items under the digest's lens


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
    period: str
    previous_period: str
    start: date
    end: date
    lens: str
    k: int
    gap_threshold: float
    staff_answered: int
    staff_enrolled: int
    service_user_responses: int
    previous_staff_answered: int
    previous_service_user_responses: int
    items: tuple[ItemScore, ...]  # every item of the lens, in framework order
    gaps: tuple[str, ...]  # item ids, widest gap first
    strongest: tuple[str, ...]
    weakest: tuple[str, ...]
    comments: tuple[Comment, ...]  # newest first, only from groups of at least k
    actions: tuple[ActionLine, ...]
    generated_at: datetime

    def item(self, item_id: str) -> ItemScore:
        for item in self.items:
            if item.item_id == item_id:
                return item
        raise KeyError(item_id)

    def actions_of(self, kind: ActionKind) -> tuple[ActionLine, ...]:
        return tuple(a for a in self.actions if a.kind == kind)
