"""Who may do what: one table, checked on the server for every command and callback.

Callback data and command arguments can be forged, so every check starts from
the memberships stored for the sender, never from what the update claims.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from bot.infra.i18n import _
from storage.people import Membership

Action = Literal[
    "checkin",  # answer the staff check-in
    "invite_staff",  # invite staff and service users
    "invite_any",  # invite managers and admins too
    "digest",  # read digests and plan improvement actions
    "scripts",  # upload, publish and roll back scripts
]

# The roles in an organisation allowed each action; a global admin may do all.
POLICY: dict[Action, frozenset[str]] = {
    "checkin": frozenset({"staff", "manager", "admin"}),
    "invite_staff": frozenset({"manager", "admin"}),
    "invite_any": frozenset({"admin"}),
    "digest": frozenset({"manager", "admin"}),
    "scripts": frozenset({"admin"}),
}


def is_global_admin(memberships: Iterable[Membership]) -> bool:
    return any(m.role == "admin" and m.org_id is None for m in memberships)


def allowed(
    memberships: Iterable[Membership],
    action: Action,
    org_id: int | None,
    unit_id: int | None = None,
) -> bool:
    """May someone with these memberships do `action` in this organisation (and unit)?

    A membership limited to a unit covers only that unit; `org_id=None` asks
    about global scope, which only global admins have.
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
        for m in memberships
    )


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
