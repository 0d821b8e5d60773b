"""What carecheck stores about the person writing, in their words, and forgetting them.

`/privacy` shows it and `/forget` deletes it. A staff member's person row goes with
their roles, rotation and reminders; their answers stay in the group results,
unlinked. Whatever sits under the keyed hash of their Telegram id goes as well: a
service user's language choice, unfinished feedback and the weeks they answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.infra.i18n import Translator
from bot.services.dialog_service import DialogService
from bot.services.identity import Identity, IdentityService
from bot.services.permissions import ROLE_NAMES
from storage.db import Database
from storage.people import PeopleRepo
from storage.personal_records import PrivacyRepo, RespondentRecord, Role, StaffRecord


@dataclass(frozen=True)
class Stored:
    staff: StaffRecord | None
    respondent: RespondentRecord

    @property
    def empty(self) -> bool:
        return self.staff is None and self.respondent.empty


class PersonalData:
    def __init__(self, db: Database, identities: IdentityService, dialogs: DialogService) -> None:
        self.records = PrivacyRepo(db)
        self.people = PeopleRepo(db)
        self.identities = identities
        self.dialogs = dialogs

    async def stored_about(self, who: Identity) -> Stored:
        staff = None
        if who.person is not None:
            staff = await self.records.staff_record(who.person.id)
        return Stored(staff, await self.records.respondent_record(who.key))

    async def forget(self, who: Identity) -> None:
        """Delete the person and everything under their keyed hash, in that order of need."""
        await self.records.forget_respondent(who.key)
        if who.person is not None:
            await self.people.forget(who.person.id)
        self.identities.forget_cached(who.telegram_id)
        self.dialogs.forget(who.telegram_id)


def describe(stored: Stored, t: Translator) -> str:
    """The /privacy answer: every kind of thing stored, in plain words."""
    if stored.empty:
        return t(
            "carecheck stores nothing about you. Feedback is anonymous: answers carry "
            "only the day, never who gave them."
        )
    lines = [t("What carecheck stores about you:")]
    if stored.staff is not None:
        lines += _staff_lines(stored.staff, t)
    respondent = stored.respondent
    if not respondent.empty:
        lines.append(t("Under a one-way code made from your Telegram ID (not the ID itself):"))
        if respondent.language:
            lines.append("• " + t("your language ({language})", language=respondent.language))
        if respondent.open_sessions:
            lines.append(
                "• " + t("unfinished feedback, answers so far: {n}", n=respondent.open_answers)
            )
        if respondent.weeks:
            weeks = ", ".join(respondent.weeks)
            text = t("the weeks you gave feedback, so nobody answers twice: {weeks}", weeks=weeks)
            lines.append("• " + text)
        lines.append(t("Finished feedback carries no code and no name."))
    lines.append(t("To delete all this, send /forget."))
    return "\n".join(lines)


def _staff_lines(staff: StaffRecord, t: Translator) -> list[str]:
    lines = [
        "• "
        + t(
            "your Telegram ID {number} and your language ({language})",
            number=staff.telegram_id,
            language=staff.language,
        ),
        "• " + t("your roles: {roles}", roles="; ".join(_role(r, t) for r in staff.roles) or "-"),
        "• "
        + t(
            "your check-ins: {sessions}, with {answers} answers and {comments} comments; "
            "managers see them only in group results",
            sessions=staff.sessions,
            answers=staff.answers,
            comments=staff.comments,
        ),
        "• " + (t("weekly check-ins: on") if staff.active else t("weekly check-ins: off")),
    ]
    if staff.reminder_pending:
        lines.append("• " + t("a reminder you asked for"))
    if staff.invites_made:
        lines.append("• " + t("invitation links you made: {n}", n=staff.invites_made))
    return lines


def _role(role: Role, t: Translator) -> str:
    where = role.org if role.org is not None else t("every organisation")
    if role.unit:
        where += f", {role.unit}"
    return f"{where}: {t(ROLE_NAMES.get(role.role, role.role))}"


def forget_warning(stored: Stored, t: Translator) -> str:
    """What /forget will delete, asked before it does."""
    if stored.staff is not None:
        text = t(
            "This deletes your Telegram ID, your language and your roles. Your answers "
            "stay in the group results, with nothing that leads to you. You will get no more "
            "check-ins; to take part again you would need a new invitation link."
        )
    else:
        text = t(
            "This deletes your language choice, any unfinished feedback and the record "
            "of the weeks you answered."
        )
    return text + "\n\n" + t("Delete it now?")
