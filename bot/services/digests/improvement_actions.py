"""Improvement actions, the plan-do-check-act loop a digest closes.

A manager plans an action on a weak item; its baseline is the item's score in
the week it was planned from. Once done, each digest shows the item's score now
beside that baseline (the "check"), and service users see what changed.
Every function that acts for a person takes their memberships and checks them,
because callback data can name any action or organisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.infra.i18n import _
from bot.services.digests.comment_scrub import scrub
from bot.services.digests.digest_access import AccessDenied, can_view, require_view
from bot.services.digests.digest_compute import item_score
from bot.services.digests.digest_schedule import default_period
from bot.services.periods import iso_week, parse_period, previous_period
from frameworks import Frameworks
from storage.actions import Action, ActionRepo, ActionStatus
from storage.db import Database
from storage.orgs import OrgRepo
from storage.people import Membership

DUE_WEEKS = (2, 4, 8)
TITLE_LIMIT = 120
OWNER_LIMIT = 80
STATUSES: tuple[ActionStatus, ...] = ("open", "started", "done", "dropped")
OPEN: tuple[ActionStatus, ...] = ("open", "started")
DONE: tuple[ActionStatus, ...] = ("done",)
# Service users hear about changes made in this window.
CHANGED_WINDOW = timedelta(weeks=12)
WHAT_WE_CHANGED = _("What we changed after your feedback:")


class ActionError(Exception):
    """An action cannot be planned or moved as asked.

    `code` says which rule failed, for the Telegram layer to explain in the
    person's language; the message is one English sentence for logs and the CLI.
    """

    CODES = frozenset(
        {"no_title", "due", "unknown_item", "unknown_unit", "bad_week", "status",
         "unknown_action", "unchanged", "unknown_org"}
    )  # fmt: skip

    def __init__(self, code: str, message: str) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown action error code {code!r}")
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ActionCheck:
    """The "check" of PDCA: the item's score now against the baseline at planning."""

    baseline: float | None
    now: float | None
    period: str

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.now is None:
            return None
        return round(self.now - self.baseline, 2)


async def plan_action(
    db: Database,
    frameworks: Frameworks,
    memberships: Iterable[Membership],
    *,
    org_id: int,
    unit_id: int | None,
    framework: str,
    item_id: str,
    title: str,
    owner: str | None,
    weeks: int,
    today: date,
    period: str | None = None,
    created_by: int | None = None,
) -> Action:
    """Store an action due in `weeks` (2, 4 or 8), with the item's score in `period` as baseline.

    `period` is the week of the digest it was planned from; by default the last
    complete week before `today`.
    """
    require_view(memberships, org_id, unit_id)
    clean_title = scrub(title, TITLE_LIMIT)
    if not clean_title:
        raise ActionError("no_title", "an action needs a title")
    clean_owner = scrub(owner, OWNER_LIMIT) if owner else None
    if weeks not in DUE_WEEKS:
        raise ActionError("due", f"the due date is {', '.join(map(str, DUE_WEEKS))} weeks away")
    if frameworks.item(framework, item_id) is None:
        raise ActionError("unknown_item", f"{framework} has no item {item_id!r}")
    if unit_id is not None:
        unit = await OrgRepo(db).get_unit(unit_id)
        if unit is None or unit.org_id != org_id:
            raise ActionError("unknown_unit", f"organisation {org_id} has no unit {unit_id}")
    week = period or previous_period(iso_week(today))
    try:
        parse_period(week)
    except ValueError as exc:
        raise ActionError("bad_week", str(exc)) from None
    baseline = await item_score(db, frameworks, org_id, unit_id, framework, item_id, week)
    return await ActionRepo(db).create(
        org_id,
        unit_id,
        framework,
        item_id,
        clean_title,
        clean_owner or None,
        today + timedelta(weeks=weeks),
        baseline,
        created_by,
    )


async def may_plan(
    db: Database,
    frameworks: Frameworks,
    memberships: Iterable[Membership],
    org_id: int,
    unit_id: int | None,
    framework: str,
    item_id: str,
) -> str | None:
    """Why this person may not plan an action on this item, or None when they may.

    A "Plan an action" button can name any organisation, unit and item: it is checked
    at the first press, before anything is asked.
    """
    if not can_view(memberships, org_id, unit_id):
        return "access"
    if unit_id is not None:
        unit = await OrgRepo(db).get_unit(unit_id)
        if unit is None or unit.org_id != org_id:
            return "access"
    if frameworks.item(framework, item_id) is None:
        return "unknown_item"
    return None


async def list_actions(
    db: Database,
    memberships: Iterable[Membership],
    org_id: int,
    unit_id: int | None = None,
    *,
    include_closed: bool = False,
) -> list[Action]:
    """For /actions: the open and started ones (all with `include_closed`), soonest due first."""
    require_view(memberships, org_id, unit_id)
    statuses = None if include_closed else OPEN
    return await ActionRepo(db).list(org_id, unit_id, statuses)


async def set_action_status(
    db: Database,
    memberships: Iterable[Membership],
    action_id: int,
    status: ActionStatus,
    today: date,
) -> Action:
    """Mark an action started, done or dropped (or open again), after checking access.

    Setting the status it already has is refused, so a double tap does not
    re-edit a message to identical content.
    """
    if status not in STATUSES:
        raise ActionError("status", f"unknown status {status!r}")
    repo = ActionRepo(db)
    action = await repo.get(action_id)
    if action is None:
        # Refused as another organisation's would be: a forged button learns nothing
        # about which ids exist.
        raise AccessDenied(f"there is no action {action_id}")
    require_view(memberships, action.org_id, action.unit_id)
    if action.status == status:
        raise ActionError("unchanged", f"the action is already {status}")
    return await repo.set_status(action_id, status, today)


async def check_action(
    db: Database,
    frameworks: Frameworks,
    action: Action,
    period: str | None = None,
    *,
    now: datetime | None = None,
) -> ActionCheck:
    """The item's score in `period` (default: the last complete week) against the baseline."""
    if period is None:
        org = await OrgRepo(db).get_org(action.org_id)
        if org is None:
            raise ActionError("unknown_org", f"there is no organisation {action.org_id}")
        period = default_period(now or db.clock(), org.timezone)
    score = await item_score(
        db, frameworks, action.org_id, action.unit_id, action.framework, action.item_id, period
    )
    return ActionCheck(action.baseline, score, period)


async def what_we_changed(
    db: Database,
    org_id: int,
    unit_id: int | None,
    today: date,
    *,
    limit: int = 3,
) -> list[str]:
    """Lines for service users at the end of their feedback: recent done actions, newest first.

    Only titles: no item names (jargon to a service user), no owners (names of
    staff). The texts are plain; the Telegram layer escapes them and puts the
    translated `WHAT_WE_CHANGED` above them.
    """
    since = today - CHANGED_WINDOW
    done = [
        a
        for a in await ActionRepo(db).list(org_id, None, DONE)
        if a.done_on is not None
        and since <= a.done_on <= today
        and (a.unit_id is None or unit_id is None or a.unit_id == unit_id)
    ]
    done.sort(key=lambda a: (a.done_on, a.id), reverse=True)
    return [f"✓ {a.title}" for a in done[:limit]]


def ensure_access(memberships: Iterable[Membership], action: Action) -> None:
    """Raise `AccessDenied` unless the person may see and change this action."""
    require_view(memberships, action.org_id, action.unit_id)
