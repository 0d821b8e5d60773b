"""Printable posters: the service users' invitation, and "you said, we did".

The invitation carries a service-user link (a new unlimited one for the organisation or
unit, or an existing valid one named by its code), the organisation's name, three steps,
the promise (anonymous, no login, a minute) and what happens with the answers, in each
language asked for. "You said, we did" lists the improvement actions done in the last
three months (by the injected clock, in the organisation's time zone), each with the
principle whose feedback it answered. Every text comes from the gettext catalogues; the
page itself is drawn by `poster_render`.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.infra.i18n import LANGUAGE_NAMES, LANGUAGES, _, translator
from bot.services.digests.digest_delivery import FrameworkViews
from bot.services.digests.improvement_actions import DONE
from bot.services.digests.locale_format import day
from bot.services.organisations import Organisations, SetupError
from bot.services.periods import local_today
from bot.services.poster_render import ACCENT, MUTED, NAME_CHARS, Format, Line, plain, render
from storage.actions import Action, ActionRepo
from storage.errors import InviteError
from storage.invites import Invite, InviteRepo
from storage.orgs import Org

SCAN = _("1. Scan the code with your phone's camera.")
CHOOSE = _("2. Choose your language.")
TAP = _("3. Tap your answers.")
PROMISE = _("Anonymous · no login · one minute")
WHAT_HAPPENS = _(
    "What happens with your answers: the team never learns who answered. They see your"
    " answers only together with many others' (and what you write, without your name), and"
    " use them to improve the service."
)
WE_DID = _("You said, we did")
WE_DID_SPAN = _("What we changed after your feedback, {start} – {end}:")
AFTER_FEEDBACK = _("after feedback on: {principle}")
TITLE_CHARS = 120
MOST_ACTIONS = 30  # newest first; a poster holding more would be unreadable


@dataclass(frozen=True)
class Poster:
    """What a poster command made: the file's bytes and, for an invitation, its link."""

    content: bytes
    link: str | None = None


def languages_of(org: Org, asked: str | None) -> tuple[str, ...]:
    """The languages asked for (`sl,en`), or the organisation's language and English."""
    if asked is None:
        return tuple(dict.fromkeys((org.language, "en")))
    chosen = tuple(dict.fromkeys(code.strip().lower() for code in asked.split(",") if code.strip()))
    unknown = [code for code in chosen if code not in LANGUAGES]
    if unknown or not chosen:
        raise SetupError(
            f"--languages takes some of {','.join(LANGUAGES)}, comma-separated"
            + (f"; not {plain(unknown[0], 20)!r}" if unknown else "")
        )
    return chosen


class Posters:
    def __init__(self, organisations: Organisations, frameworks: FrameworkViews) -> None:
        self.organisations = organisations
        self.frameworks = frameworks
        self.db = organisations.db

    async def invitation(
        self,
        org_id: int,
        unit_id: int | None,
        languages: str | None,
        bot_username: str,
        code: str | None,
        fmt: Format,
    ) -> Poster:
        """The service users' poster with the QR code of a valid service-user link."""
        org = await self.organisations.get(org_id)
        chosen = languages_of(org, languages)
        invite = await self._invite(org, unit_id, code)
        link = f"https://t.me/{bot_username}?start={invite.code}"
        title = [Line(plain(org.name, NAME_CHARS), 26, "bold", gap_after=0.2)]
        if invite.unit_id is not None:
            unit = await self.organisations.orgs.get_unit(invite.unit_id)
            if unit is not None:
                title.append(Line(plain(unit.name, NAME_CHARS), 16, colour=MUTED))
        body: list[Line] = []
        for language in chosen:
            t = translator(language)
            body += [
                Line(LANGUAGE_NAMES[language], 11, "bold", ACCENT, gap_after=0.15),
            ]
            # Few languages: a step a line; more: the steps share one, to fit the page.
            steps = (
                [t(SCAN), t(CHOOSE), t(TAP)]
                if len(chosen) <= 2
                else ["   ".join((t(SCAN), t(CHOOSE), t(TAP)))]
            )
            body += [Line(step, 16, gap_after=0.1) for step in steps]
            body += [
                Line(t(PROMISE), 16, "bold", gap_after=0.15),
                Line(t(WHAT_HAPPENS), 10, colour=MUTED, gap_after=1.0),
            ]
        return Poster(render(fmt, title, body, link), link)

    async def you_said_we_did(
        self, org_id: int, languages: str | None, fmt: Format, today: date | None = None
    ) -> Poster:
        """Last quarter's done actions, newest first, each with its principle's name."""
        org = await self.organisations.get(org_id)
        chosen = languages_of(org, languages)
        end = today or local_today(self.db.clock(), org.timezone)
        start = quarter_before(end)
        done = done_between(await ActionRepo(self.db).list(org.id, None, DONE), start, end)
        if not done:
            raise SetupError(
                f"organisation {org.id} marked no improvement action done"
                f" from {start.isoformat()} to {end.isoformat()}"
            )
        frameworks = await self.frameworks.of(org.id)
        title = [
            Line(heading, 26, "bold", ACCENT, gap_after=0.1)
            for heading in dict.fromkeys(translator(lang)(WE_DID) for lang in chosen)
        ] + [
            Line(plain(org.name, NAME_CHARS), 18, "bold", gap_after=0.3),
        ] + [
            Line(translator(lang)(WE_DID_SPAN, start=day(start, lang), end=day(end, lang)), 11,
                 colour=MUTED, gap_after=0.1)
            for lang in chosen
        ]  # fmt: skip
        body: list[Line] = []
        for action in done[:MOST_ACTIONS]:
            body.append(Line(f"✓ {plain(action.title, TITLE_CHARS)}", 15, "bold", gap_after=0.1))
            item = frameworks.item(action.framework, action.item_id)
            if item is not None:
                principles = " · ".join(
                    translator(lang)(AFTER_FEEDBACK, principle=item.name(lang)) for lang in chosen
                )
                body.append(Line(principles, 10, colour=MUTED, gap_after=0.9))
        if len(done) > MOST_ACTIONS:
            body.append(Line(f"+ {len(done) - MOST_ACTIONS}", 12, colour=MUTED))
        return Poster(render(fmt, title, body))

    async def _invite(self, org: Org, unit_id: int | None, code: str | None) -> Invite:
        """The named service-user invite if it is valid for this organisation (and unit),
        else a new unlimited one."""
        if code is None:
            return await self.organisations.create_invite(
                org.id, unit_id, "service_user", None, None
            )
        try:
            invite = await InviteRepo(self.db).check(code, self.db.clock())
        except InviteError as error:
            raise SetupError(f"that invitation cannot be used: {error.reason}") from None
        if invite.role != "service_user" or invite.org_id != org.id:
            raise SetupError(f"that invitation is not a service-user link of organisation {org.id}")
        if unit_id is not None and invite.unit_id != unit_id:
            raise SetupError(f"that invitation is not for unit {unit_id}")
        return invite


def quarter_before(end: date) -> date:
    """The first day of the three months that end on `end`: the day after the same day
    three months back (the month's last day when that month is shorter)."""
    months = end.year * 12 + end.month - 1 - 3
    year, month = divmod(months, 12)
    back = date(year, month + 1, min(end.day, monthrange(year, month + 1)[1]))
    return back + timedelta(days=1)


def done_between(actions: Sequence[Action], start: date, end: date) -> list[Action]:
    """The actions done from `start` to `end`, both included, newest first."""
    done = [a for a in actions if a.done_on is not None and start <= a.done_on <= end]
    done.sort(key=lambda a: (a.done_on or start, a.id), reverse=True)
    return done
