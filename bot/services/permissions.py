"""Who may do what: one table, checked on the server for every command and callback.

Callback data and command arguments can be forged, so every check starts from
the memberships stored for the sender, never from what the update claims. The
chat's commands are listed here with the action each needs, so /help and the
command menu offer a person exactly what the server lets them do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.infra.i18n import _
from storage.people import Membership

Action = Literal[
    "checkin",  # answer the staff check-in
    "invite_staff",  # invite staff and service users
    "invite_any",  # invite managers and admins too
    "digest",  # read digests and plan improvement actions
    "scripts",  # upload, publish and roll back scripts
    "settings",  # change the organisation's settings
]

# The roles in an organisation allowed each action; a global admin may do all.
POLICY: dict[Action, frozenset[str]] = {
    "checkin": frozenset({"staff", "manager", "admin"}),
    "invite_staff": frozenset({"manager", "admin"}),
    "invite_any": frozenset({"admin"}),
    "digest": frozenset({"manager", "admin"}),
    "scripts": frozenset({"admin"}),
    "settings": frozenset({"admin"}),
}


# What only a whole organisation's role covers: its questionnaires and settings are
# everyone's.
ORG_WIDE: frozenset[Action] = frozenset({"scripts", "settings"})


def is_global_admin(memberships: Iterable[Membership]) -> bool:
    return any(m.role == "admin" and m.org_id is None for m in memberships)


def allowed(
    memberships: Iterable[Membership],
    action: Action,
    org_id: int | None,
    unit_id: int | None = None,
) -> bool:
    """May someone with these memberships do `action` in this organisation (and unit)?

    A membership limited to a unit covers only that unit, and never what concerns the
    whole organisation (`ORG_WIDE`); `org_id=None` asks about global scope, which only
    global admins have.
    """
    memberships = list(memberships)
    if is_global_admin(memberships):
        return True
    if org_id is None:
        return False
    roles = POLICY[action]
    return any(
        m.org_id == org_id
        and m.role in roles
        and (m.unit_id is None or unit_id is None or m.unit_id == unit_id)
        and (m.unit_id is None or unit_id is not None or action == "checkin")
        and (m.unit_id is None or action not in ORG_WIDE)
        for m in memberships
    )


def may_somewhere(memberships: Iterable[Membership], action: Action) -> bool:
    """Whether any of these memberships allows the action (in its organisation or unit).

    A check-in is always someone's in their organisation: a global administrator
    without one has none to answer.
    """
    memberships = list(memberships)
    if is_global_admin(memberships) and action != "checkin":
        return True
    return any(
        m.org_id is not None and allowed(memberships, action, m.org_id, m.unit_id)
        for m in memberships
    )


@dataclass(frozen=True, slots=True)
class Command:
    """A chat command: who may use it (`needs`; None: everyone), its menu entry, its help."""

    name: str
    needs: Action | None
    menu: str  # msgid
    help: str  # msgid


COMMANDS = (
    Command(
        "checkin",
        "checkin",
        _("Answer this week's check-in"),
        _("/checkin: answer this week's check-in now"),
    ),
    Command("language", None, _("Change the language"), _("/language: change the language")),
    Command("privacy", None, _("What is stored about me"), _("/privacy: what is stored about you")),
    Command(
        "forget",
        None,
        _("Delete what is stored about me"),
        _("/forget: delete what is stored about you"),
    ),
    Command("stop", "checkin", _("No more weekly check-ins"), _("/stop: no more weekly check-ins")),
    Command(
        "digest",
        "digest",
        _("This week's digest"),
        _("/digest [unit] [week like 2026-W47]: a digest, as a message, chart and report"),
    ),
    Command(
        "actions",
        "digest",
        _("Improvement actions"),
        _("/actions: the improvement actions under way"),
    ),
    Command(
        "invite",
        "invite_staff",
        _("Make an invitation link"),
        _("/invite staff|service_user|manager|admin: make an invitation link"),
    ),
    Command(
        "scripts",
        "scripts",
        _("Scripts: versions, downloads, rollback"),
        _("/scripts: the questionnaires, their versions, downloads and rollback"),
    ),
    Command(
        "settings",
        "settings",
        _("Organisation settings"),
        _("/settings: the organisation's framework, check-in time, language and thresholds"),
    ),
    Command("help", None, _("What this bot can do"), _("/help: what this bot can do")),
)


def commands_for(memberships: Iterable[Membership]) -> tuple[Command, ...]:
    """The commands these memberships may use, in menu order."""
    memberships = list(memberships)
    return tuple(c for c in COMMANDS if c.needs is None or may_somewhere(memberships, c.needs))


def orgs_for(memberships: Iterable[Membership], action: Action) -> list[int]:
    """The organisations where the action is allowed (global admins: ask storage for all)."""
    return sorted(
        {m.org_id for m in memberships if m.org_id is not None and m.role in POLICY[action]}
    )


# Every role by its name, as people read it (msgids).
ROLE_NAMES = {
    "staff": _("staff member"),
    "manager": _("manager"),
    "admin": _("administrator"),
    "service_user": _("service user"),
}
