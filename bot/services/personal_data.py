"""What carecheck stores about the person writing, in their words, and forgetting them.

`/privacy` shows it and `/forget` deletes it. A staff member's person row goes with
their roles, rotation and reminders; their answers stay in the group results,
unlinked. Whatever sits under the keyed hash of their Telegram id goes as well: a
service user's language choice and unfinished feedback; and the sealed ways back to
their comments for anonymous replies (`comment_replies.py`). What stays, and /privacy
says so with its last day, are the marks that stop a second answer in the same
period and a second count in the same window (`respondents.py`); retention deletes
them once their period is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.infra.i18n import Translator, _
from bot.services.comment_replies import CommentReplies
from bot.services.dialog_service import DialogService
from bot.services.digests.locale_format import day
from bot.services.identity import Identity, IdentityService
from bot.services.org_calendar import OrgCalendar
from bot.services.permissions import ROLE_NAMES
from bot.services.respondents import kept_marks, marks_in_progress
from storage.db import Database
from storage.people import KeptMarks, PeopleRepo
from storage.personal_records import PrivacyRepo, RespondentRecord, Role, StaffRecord

# The marks /forget leaves, each until the last day of its period.
ANSWERED_KEPT = _(
    "that you already answered in this period (not what you answered), kept until "
    "{day} so nobody answers twice, even after /forget"
)
COUNTED_KEPT = _(
    "that your answers of this period are one person's, kept until {day} so "
    "nobody counts twice, even after /forget"
)


@dataclass(frozen=True)
class Stored:
    staff: StaffRecord | None
    respondent: RespondentRecord
    kept_until: date | None = None  # a staff member's /forget would keep marks until then
    reply_routes: tuple[date, ...] = ()  # the last day of each way back to a comment of theirs

    @property
    def empty(self) -> bool:
        return self.staff is None and self.respondent.empty and not self.reply_routes

    @property
    def deletable(self) -> bool:
        """Whether /forget has anything to delete (marks stay until their day)."""
        return self.staff is not None or self.respondent.deletable or bool(self.reply_routes)


class PersonalData:
    def __init__(
        self,
        db: Database,
        identities: IdentityService,
        dialogs: DialogService,
        calendar: OrgCalendar,
        replies: CommentReplies,
    ) -> None:
        self.db = db
        self.replies = replies
        self.records = PrivacyRepo(db)
        self.people = PeopleRepo(db)
        self.identities = identities
        self.dialogs = dialogs
        self.calendar = calendar

    async def stored_about(self, who: Identity) -> Stored:
        staff = None
        kept_until = None
        if who.person is not None:
            staff = await self.records.staff_record(who.person.id)
            kept = await self._kept(who.person.id, who.key)
            kept_until = max((k.until for k in kept), default=None)
        marks = await marks_in_progress(self.calendar.orgs, who.key, self.db.clock())
        respondent = await self.records.respondent_record(who.key, marks)
        routes = tuple(r.expires_on for r in await self.replies.kept_for(who.telegram_id))
        return Stored(staff, respondent, kept_until, routes)

    async def forget(self, who: Identity) -> None:
        """Delete the person and everything under their keyed hash, in that order of need."""
        await self.records.forget_respondent(who.key)
        await self.replies.forget(who.telegram_id)
        if who.person is not None:
            await self.people.forget(who.person.id, await self._kept(who.person.id, who.key))
        self.identities.forget_cached(who.telegram_id)
        self.dialogs.forget(who.telegram_id)

    async def _kept(self, person_id: int, key: str) -> list[KeptMarks]:
        """The marks a staff member's /forget keeps, as of now."""
        spans = await self.people.session_spans(person_id)
        return await kept_marks(self.calendar, key, spans, self.db.clock())


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
        if stored.kept_until is not None:
            text = t(
                "after /forget, kept until {day}: marks made from your Telegram ID that stop "
                "a second check-in in the same week and keep your answers of this period "
                "counted as one person's",
                day=day(stored.kept_until, t.language),
            )
            lines.append("• " + text)
    respondent = stored.respondent
    if not respondent.empty:
        lines.append(t("Under a one-way code made from your Telegram ID (not the ID itself):"))
        if respondent.language:
            lines.append("• " + t("your language ({language})", language=respondent.language))
        if respondent.open_sessions:
            lines.append(
                "• " + t("unfinished feedback, answers so far: {n}", n=respondent.open_answers)
            )
        for until, message in (
            (respondent.answered, ANSWERED_KEPT),
            (respondent.counted, COUNTED_KEPT),
        ):
            if until:
                lines.append("• " + t(message, day=day(max(until), t.language)))
        lines.append(t("Finished feedback carries no code and no name."))
    if stored.reply_routes:
        text = t(
            "the way back to you for the team's anonymous replies to {n} of your comments, "
            "encrypted, until {day} at the latest",
            n=len(stored.reply_routes),
            day=day(max(stored.reply_routes), t.language),
        )
        lines.append("• " + text)
    if stored.deletable:
        kept = respondent.answered or respondent.counted
        lines.append(
            t("To delete everything else, send /forget.")
            if kept
            else t("To delete all this, send /forget.")
        )
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
            "your check-ins: {sessions}, with {answers} and {comments}; "
            "managers see them only in group results",
            sessions=staff.sessions,
            answers=t.plural("{n} answer", "{n} answers", staff.answers),
            comments=t.plural("{n} comment", "{n} comments", staff.comments),
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
    """What /forget will delete, and what it keeps until when, asked before it does."""
    if stored.staff is not None:
        text = t(
            "This deletes your Telegram ID, your language and your roles. Your answers "
            "stay in the group results, with nothing that leads to you. You will get no more "
            "check-ins; to take part again you would need a new invitation link."
        )
        if stored.kept_until is not None:
            text += " " + t(
                "Until {day}, marks made from your Telegram ID stay, so you cannot check in "
                "twice in one week and your answers of this period still count as one person's.",
                day=day(stored.kept_until, t.language),
            )
    else:
        text = t(
            "This deletes your language choice, any unfinished feedback and the way back "
            "to you for replies to your comments."
        )
        if stored.respondent.answered:
            text += " " + t(
                "That you already answered (not what) stays recorded until {day}, "
                "so nobody answers twice.",
                day=day(max(stored.respondent.answered), t.language),
            )
    return text + "\n\n" + t("Delete it now?")
