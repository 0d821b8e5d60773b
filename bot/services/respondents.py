"""Who counts toward k: one account is one respondent in a window, even across /forget.

Digests count distinct respondents per window (`storage.reports._WHO` is the one
definition): a staff member by person, or by the token their sessions keep after
/forget. Without more, a staff member who used /forget and rejoined with the same
invite link would come back as a new person and count twice, and check in twice a
week. So /forget keeps, under keyed marks only (an HMAC of the account's keyed hash
per period, `period_key`), what stops that until the period is over:

- for the week, that they checked in (`submissions`), until its Sunday;
- for the window in progress, the token their sessions of it now carry
  (`respondent_marks`), until its last day; a session started again with the same
  account in that window takes the same token.

Retention deletes each mark the day after its last day (with a day's margin for
time zones), so nothing then leads from an account to its answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from bot.services.digests.digest_windows import Window, WindowPlan, plan_of
from bot.services.org_calendar import OrgCalendar
from bot.services.periods import iso_week, local_today, parse_period
from storage.orgs import OrgRepo
from storage.people import KeptMarks, SessionSpan
from storage.sessions import period_key


def window_mark(key: str, org_id: int, window: Window) -> str:
    """The account's mark in one organisation's window: different in every window."""
    return period_key(key, f"{org_id}:{window.label}")


def kept_since(plan: WindowPlan, window: Window, spans: Iterable[SessionSpan]) -> date:
    """The first day whose sessions take the window's token.

    The window's start, moved back to an earlier window's start while a session
    runs across it: a session's answers all count as one respondent, so a window
    must never hold sessions with two tokens of the same person.
    """
    since = window.start
    listed = list(spans)
    while True:
        crossing = [s.started_on for s in listed if s.updated_on >= since > s.started_on]
        if not crossing:
            return since
        since = plan.window_of(min(crossing)).start


async def kept_marks(
    calendar: OrgCalendar, key: str, spans: Iterable[SessionSpan], now: datetime
) -> list[KeptMarks]:
    """What /forget keeps of a staff member with these sessions: one entry per
    organisation where they answered in the window in progress."""
    by_org: dict[int, list[SessionSpan]] = {}
    for span in spans:
        by_org.setdefault(span.org_id, []).append(span)
    kept = []
    for org_id, listed in sorted(by_org.items()):
        today = local_today(now, await calendar.timezone(org_id))
        plan = await calendar.plan(org_id)
        window = plan.window_of(today)
        since = kept_since(plan, window, listed)
        if not any(span.updated_on >= since for span in listed):
            continue  # nothing of theirs in the window: nothing to count once
        week = iso_week(today)
        kept.append(
            KeptMarks(
                org_id=org_id,
                since=since,
                window_mark=window_mark(key, org_id, window),
                until=window.end,
                week=week,
                week_mark=period_key(key, week),
                week_until=parse_period(week)[1],
            )
        )
    return kept


async def marks_in_progress(orgs: OrgRepo, key: str, now: datetime) -> list[str]:
    """The account's possible marks of every organisation's window in progress: a mark
    names no organisation, so what /privacy shows is found by making each of them."""
    plans = await orgs.every_window_segment()
    marks = []
    for org in await orgs.list_orgs():
        window = plan_of(plans.get(org.id, [])).window_of(local_today(now, org.timezone))
        marks.append(window_mark(key, org.id, window))
    return marks
