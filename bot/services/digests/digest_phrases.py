"""Every msgid the digest templates use, marked for extraction.

pybabel reads only Python files, so a string translated inside a template must
also appear here; keep the two in step when a template changes.
"""

from __future__ import annotations

from bot.infra.i18n import _

AUDIENCE_LABELS = {"staff": _("Staff"), "service_user": _("Service user")}

ACTION_KINDS = {
    "overdue": _("Overdue"),
    "due_soon": _("Due soon"),
    "open": _("Open"),
    "done": _("Done"),
}
ACTION_MARKS = {"overdue": "⏰", "due_soon": "🔜", "open": "▫️", "done": "✅"}

TEMPLATE_PHRASES = (
    # telegram.html.j2 and report.html.j2
    _("Demo data"),
    _("not real answers"),
    _("Weekly digest"),
    _("Week {week}: {dates}"),
    _("Scores"),
    _("staff / service users, change since the week before"),
    _("No answers this week yet."),
    _("No answers this week: {items}"),
    _("Staff and service users see it differently"),
    _("staff {staff}, service users {users}"),
    _("Strongest"),
    _("Weakest"),
    _("What people wrote"),
    _("Improvement actions"),
    _("Check"),
    _("Groups of fewer than {k} people show no numbers or comments: answers stay anonymous."),
    # report.html.j2 only
    _("Quality digest"),
    _("Generated {when}"),
    _("staff answered / enrolled"),
    _("service-user responses"),
    _("staff · service users, the week before"),
    _("Service users"),
    _("Change"),
    _("Gap"),
    _("fewer than {k}"),
    _("no answers"),
    _(
        "Mean of all answers on a 1–5 scale; n is the number of people who answered."
        " Change: against week {week}."
    ),
    _("Chart: staff and service users per item"),
    _("No item where staff rate at least {gap} higher than service users."),
    _("No comments to show this week."),
    _("Action"),
    _("Item"),
    _("Status"),
    _("Due"),
    _("Baseline"),
    _("Now"),
    _("No open or recently finished actions."),
    _("Comments are shortened and contact details are removed."),
    _("The report contains no names and no Telegram accounts."),
    _("Made with carecheck from the answers stored for this week."),
)
