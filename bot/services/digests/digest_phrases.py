"""Every msgid the digest templates use, and the phrases picked by a key, marked for extraction.

pybabel reads only Python files, so a string translated inside a template must
also appear here; keep the two in step when a template changes. Phrases the
renderers choose by a status or an audience live here too, as one table each.
"""

from __future__ import annotations

from typing import Literal

from bot.infra.i18n import _
from bot.services.digests.digest_model import ActionKind, Audience, Status

# One respondent's audience, beside a comment.
AUDIENCE_LABELS: dict[Audience, str] = {"staff": _("Staff"), "service_user": _("Service user")}
# A row of scores, a legend, a ranking: the audience as a group.
AUDIENCE_GROUPS: dict[Audience, str] = {"staff": _("Staff"), "service_user": _("Service users")}
# What stands where an asked group's score is not shown; "{k}" is the organisation's k.
STATUS_TEXTS: dict[Status, str] = {
    "few": _("fewer than {k}"),
    "withheld": _("withheld: it would reveal a smaller group"),
    "none": _("no answers"),
}
# Which items an audience is asked about (every one, some, none yet).
COVERAGE_ALL: dict[Audience, str] = {
    "staff": _("Staff are asked about all of these."),
    "service_user": _("Service users are asked about all of these."),
}
COVERAGE_SOME: dict[Audience, str] = {
    "staff": _("Staff are asked about: {items}."),
    "service_user": _("Service users are asked about: {items}."),
}
COVERAGE_NONE: dict[Audience, str] = {
    "staff": _("Staff have not answered on any of these yet."),
    "service_user": _("Service users have not answered on any of these yet."),
}
# The items of the lens that no question of the live scripts maps to.
NOT_ASSESSED = _("Not assessed by these questions: {items}.")
STRONGEST: dict[Audience, str] = {
    "staff": _("Strongest, staff"),
    "service_user": _("Strongest, service users"),
}
WEAKEST: dict[Audience, str] = {
    "staff": _("Weakest, staff"),
    "service_user": _("Weakest, service users"),
}
COMPARISONS: dict[Literal["half_year", "year"], str] = {
    "half_year": _("Half a year ago"),
    "year": _("A year ago"),
}

ACTION_KINDS: dict[ActionKind, str] = {
    "overdue": _("Overdue"),
    "due_soon": _("Due soon"),
    "open": _("Open"),
    "done": _("Done"),
}
ACTION_MARKS: dict[ActionKind, str] = {
    "overdue": "⏰",
    "due_soon": "🔜",
    "open": "▫️",
    "done": "✅",
}
# Beside a unit's figure that leans on its organisation's; explained once, below the scores.
LEANS_MARK = "†"
LEANS_NOTE = _("leans on the organisation's score: few answers")

TEMPLATE_PHRASES = (
    # telegram.html.j2 and report.html.j2
    _("Demo data"),
    _("not real answers"),
    _("Quality digest"),
    _("Scores"),
    _("No answers in this window yet."),
    _("Staff and service users see it differently"),
    _("Strongest and weakest"),
    _("ranked on the scores shown"),
    _("What people wrote"),
    _("Improvement actions"),
    _("Safeguarding alerts not yet followed up"),
    _("Check"),
    # report.html.j2 only
    _("Generated {when}"),
    _("Answered"),
    _("The window before"),
    _("Chart: staff and service users per item, with their {level} intervals"),
    _("Trend"),
    _("Staff"),
    _("Service users"),
    _("Compared with half a year and a year ago"),
    _("No comments to show in this window."),
    _("Action"),
    _("Item"),
    _("Status"),
    _("Due"),
    _("Baseline"),
    _("Now"),
    _("No open or recently finished actions."),
    _("How to read this report"),
    _("Comments are shortened and contact details are removed."),
    _("The report contains no names and no Telegram accounts."),
)
