"""Who may see which digest and actions: checked on the server for every command and button.

Callback data can be forged, so the Telegram layer calls `can_view` with the
person's memberships from the database, never with anything the client sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.services.permissions import allowed
from storage.people import Membership

_VIEWER_ROLES = frozenset({"manager", "admin"})

# Who the command line acts as: whoever runs it holds the database file anyway.
CONSOLE: tuple[Membership, ...] = (Membership(0, None, None, "admin"),)


class AccessDenied(Exception):
    """The person has no manager or admin role over that organisation or unit."""


def can_view(memberships: Iterable[Membership], org_id: int, unit_id: int | None) -> bool:
    """May someone with these memberships see the digest of this organisation (or unit)?

    A global admin sees everything. A manager or admin of a whole organisation
    sees it and all its units. A manager of one unit sees only that unit, not the
    organisation-wide numbers. Staff see no digests. The caller must have checked
    that `unit_id` belongs to `org_id`.
    """
    return allowed(memberships, "digest", org_id, unit_id)


def require_view(memberships: Iterable[Membership], org_id: int, unit_id: int | None) -> None:
    if not can_view(memberships, org_id, unit_id):
        raise AccessDenied(f"no access to organisation {org_id}" + _unit(unit_id))


def manager_scope(memberships: Iterable[Membership]) -> tuple[int, int | None] | None:
    """The organisation (and unit) a manager's /digest and /actions are about."""
    memberships = list(memberships)
    for membership in memberships:
        if membership.org_id is not None and can_view(
            memberships, membership.org_id, membership.unit_id
        ):
            return membership.org_id, membership.unit_id
    return None


def viewable_scopes(memberships: Iterable[Membership]) -> list[tuple[int | None, int | None]]:
    """(org_id, unit_id) pairs the person manages; (None, None) means every organisation."""
    scopes: list[tuple[int | None, int | None]] = []
    for m in memberships:
        if m.role not in _VIEWER_ROLES:
            continue
        scope = (m.org_id, m.unit_id)
        if scope not in scopes:
            scopes.append(scope)
    return sorted(scopes, key=lambda s: (s[0] is not None, s[0] or 0, s[1] is not None, s[1] or 0))


def _unit(unit_id: int | None) -> str:
    return "" if unit_id is None else f", unit {unit_id}"
