"""Invitation links made in the chat: who may invite which role, and the link's limits."""

from __future__ import annotations

from datetime import timedelta

from bot.infra.i18n import _
from bot.services.identity import Identity
from bot.services.permissions import ROLE_NAMES, Action
from bot.services.refusal import Refusal
from storage.db import Database
from storage.invites import Invite, InviteRepo
from storage.orgs import OrgRepo

# A staff link is for one person; a poster's link for everyone who scans it.
CHAT_LINK_DAYS = 14
NO_INVITES = _("Only managers and administrators can make invitation links.")
USAGE = _("Usage: /invite staff|service_user|manager|admin")
NOT_THIS_ROLE = _("You cannot invite this role: {role}.")


class Invitations:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.invites = InviteRepo(db)
        self.orgs = OrgRepo(db)

    async def in_chat(
        self, who: Identity, role: str, org_id: int | None = None
    ) -> Refusal | Invite:
        """A link for `role` into the inviter's own organisation (or unit), or, for a
        global administrator, into the organisation they chose."""
        unit_id: int | None = None
        if org_id is None:
            home = next(
                (m for m in who.memberships if m.role in ("manager", "admin") and m.org_id), None
            )
            if home is None or home.org_id is None:
                return Refusal(NO_INVITES)
            org_id, unit_id = home.org_id, home.unit_id
        elif await self.orgs.get_org(org_id) is None:
            return Refusal(NO_INVITES)
        if not who.may("invite_staff", org_id, unit_id):
            return Refusal(NO_INVITES)
        if role not in ROLE_NAMES:
            return Refusal(USAGE)
        needed: Action = "invite_staff" if role in ("staff", "service_user") else "invite_any"
        if not who.may(needed, org_id, unit_id):
            return Refusal(NOT_THIS_ROLE, terms={"role": ROLE_NAMES[role]})
        expires = self.db.clock() + timedelta(days=CHAT_LINK_DAYS)
        return await self.invites.create(
            org_id,
            unit_id,
            role,  # type: ignore[arg-type]
            None if role == "service_user" else 1,
            expires,
            who.person.id if who.person else None,
        )
