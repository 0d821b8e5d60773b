"""Anonymous replies to comments, only for authors who agreed, and their one answer back.

When a session with comments is finished, its author is asked for each comment (two
buttons) whether the team may reply there, their name staying hidden; asked at the
end, so nothing interrupts the check-in. Nothing is stored unless they agree: the
offer is a proof in the button, made from the answer and their Telegram id. If they
agree, a route is stored: their chat id and language sealed under the installation
secret (`storage/sealing.py`), bound to the answer, until `ROUTE_DAYS` days after the
comment's window ends.

A manager replies from the digest's full comment list. Every reply is checked on the
server against the digest it comes from, computed again for that manager: a comment
whose group is below k is in no digest, so no forged button can reach its author.
The manager learns nothing but the comment as the digest shows it. The author may
answer once; the answer goes to whoever replied, with nothing that names the author.

/forget and /privacy open each route to find a person's: no key that links two
comments of one author is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.services.digests.comment_scrub import scrub
from bot.services.digests.digest_access import AccessDenied, require_view
from bot.services.digests.digest_compute import DigestError, Viewer, compute_digest
from bot.services.digests.digest_model import Digest
from bot.services.digests.digest_render import CommentLine, comment_lines
from bot.services.org_calendar import OrgCalendar
from bot.services.own_frameworks import OwnFrameworks
from storage.db import Database
from storage.errors import NotFound
from storage.reply_routes import ReplyRouteRepo, Route
from storage.sealing import SealBroken, Sealer

if TYPE_CHECKING:  # identity imports the dialog service, which offers replies
    from bot.services.identity import Identity

log = logging.getLogger(__name__)

ROUTE_DAYS = 30
SEAL_PURPOSE = "carecheck reply route v1"
OFFER_PURPOSE = b"carecheck reply offer v1:"
PROOF_CHARS = 16
TEXT_LIMIT = 1000  # a reply or an answer, as sent on


class ReplyRefused(Exception):
    """Why a reply step is refused; `code` picks the translated line."""

    CODES = frozenset(
        {"offer", "gone", "expired", "withheld", "not_yours", "answered", "empty", "no_access"}
    )

    def __init__(self, code: str, detail: str = "") -> None:
        assert code in self.CODES
        super().__init__(f"{code}: {detail}")
        self.code = code


@dataclass(frozen=True)
class Offer:
    """The opt-in buttons' content: the answer, and a proof that only its author holds."""

    answer_id: int
    proof: str
    comment: str  # what they wrote, to say which comment the question is about


@dataclass(frozen=True)
class Listed:
    """A digest's full comment list; `routes[i]` is set where comment i may get a reply."""

    lines: tuple[CommentLine, ...]
    routes: tuple[int | None, ...]


@dataclass(frozen=True)
class ToAuthor:
    """A manager's reply, ready to go to the author (the chat id lives only in memory)."""

    route_id: int
    chat_id: int
    language: str
    comment: str
    text: str


@dataclass(frozen=True)
class ToRepliers:
    """The author's one answer, for each person who replied: (Telegram id, language)."""

    recipients: tuple[tuple[int, str], ...]
    comment: str
    text: str


class CommentReplies:
    def __init__(
        self,
        db: Database,
        secret: bytes,
        calendar: OrgCalendar,
        own_frameworks: OwnFrameworks,
    ) -> None:
        self.db = db
        self.routes = ReplyRouteRepo(db)
        self.calendar = calendar
        self.own_frameworks = own_frameworks
        self._sealer = Sealer(secret, SEAL_PURPOSE)
        self._offer_key = hashlib.sha256(OFFER_PURPOSE + secret).digest()

    # ---------------------------------------------------------------- the author

    async def offers(self, telegram_id: int, session_id: int) -> list[Offer]:
        """The opt-ins for the comments of a session just finished (none stored yet)."""
        return [
            Offer(c.answer_id, self._proof(c.answer_id, telegram_id), c.comment)
            for c in await self.routes.commented(session_id)
        ]

    async def opt_in(self, telegram_id: int, answer_id: int, proof: str, language: str) -> bool:
        """The author agreed: store the sealed route. False if it was stored already."""
        if not hmac.compare_digest(proof, self._proof(answer_id, telegram_id)):
            raise ReplyRefused("offer", f"proof for answer {answer_id}")
        commented = await self.routes.answer_comment(answer_id)
        if commented is None:
            raise ReplyRefused("gone", f"answer {answer_id}")
        plain = json.dumps({"chat": telegram_id, "language": language}).encode()
        sealed = self._sealer.seal(plain, _bound(answer_id))
        # A comment reaches a digest only once its window is over: the days to reply are
        # counted from then, or a long window would leave the route expired unread.
        today = await self.calendar.today(commented.org_id)
        window = (await self.calendar.plan(commented.org_id)).window_of(today)
        expires_on = window.end + timedelta(days=ROUTE_DAYS)
        return await self.routes.add(answer_id, commented.org_id, sealed, expires_on)

    async def answerable(self, telegram_id: int, route_id: int) -> str:
        """The comment the author may answer a reply on; refused if not theirs or answered."""
        route = await self._route(route_id)
        if self._chat(route)[0] != telegram_id:
            raise ReplyRefused("not_yours", f"route {route_id}")
        if route.answered:
            raise ReplyRefused("answered", f"route {route_id}")
        return scrub(route.comment or "")

    async def answer(self, telegram_id: int, route_id: int, text: str) -> ToRepliers:
        """The author's one answer, for everyone who replied."""
        comment = await self.answerable(telegram_id, route_id)
        said = scrub(text, TEXT_LIMIT)
        if not said:
            raise ReplyRefused("empty")
        if not await self.routes.mark_answered(route_id):
            raise ReplyRefused("answered", f"route {route_id}")
        recipients = tuple(await self.routes.senders(route_id))
        return ToRepliers(recipients, comment, said)

    # ---------------------------------------------------------------- managers

    async def listed(
        self, who: Identity, org_id: int, unit_id: int | None, period: str | None
    ) -> Listed:
        """The digest's full comment list for this manager, with the routes they may use."""
        digest = await self._digest(who, org_id, unit_id, period)
        frameworks = await self.own_frameworks.of(org_id)
        lines = tuple(comment_lines(digest, frameworks, who.language))
        live = {r for r in (c.route for c in digest.comments) if r is not None}
        live = {r for r in live if await self._usable(r)}
        return Listed(lines, tuple(c.route if c.route in live else None for c in digest.comments))

    async def replyable(
        self, who: Identity, org_id: int, unit_id: int | None, period: str | None, route_id: int
    ) -> CommentLine:
        """The comment a manager may reply to, as the digest shows it; refused otherwise."""
        digest = await self._digest(who, org_id, unit_id, period)
        for comment, line in zip(
            digest.comments,
            comment_lines(digest, await self.own_frameworks.of(org_id), who.language),
            strict=True,
        ):
            if comment.route == route_id:
                await self._route(route_id)
                return line
        # Not in the digest: no route, another organisation's, or a group below k.
        raise ReplyRefused("withheld", f"route {route_id} not in {org_id}/{unit_id}/{period}")

    async def reply(
        self,
        who: Identity,
        org_id: int,
        unit_id: int | None,
        period: str | None,
        route_id: int,
        text: str,
    ) -> ToAuthor:
        """A manager's reply, checked again as it is sent; the author's chat, opened."""
        line = await self.replyable(who, org_id, unit_id, period, route_id)
        said = scrub(text, TEXT_LIMIT)
        if not said:
            raise ReplyRefused("empty")
        if who.person is None:
            raise ReplyRefused("no_access", "no person")
        route = await self._route(route_id)
        chat_id, language = self._chat(route)
        await self.routes.add_sender(route_id, who.person.id)
        return ToAuthor(route_id, chat_id, language, line.text, said)

    # ---------------------------------------------------------------- privacy

    async def kept_for(self, telegram_id: int) -> list[Route]:
        """The routes that lead to this person (/privacy)."""
        return [r for r in await self.routes.every() if self._leads_to(r, telegram_id)]

    async def forget(self, telegram_id: int) -> int:
        """Delete every route that leads to this person (/forget)."""
        return await self.routes.delete([r.id for r in await self.kept_for(telegram_id)])

    # ---------------------------------------------------------------- internals

    async def _digest(
        self, who: Identity, org_id: int, unit_id: int | None, period: str | None
    ) -> Digest:
        try:
            require_view(who.memberships, org_id, unit_id)
            return await compute_digest(
                self.db,
                await self.own_frameworks.of(org_id),
                org_id,
                unit_id,
                period,
                now=self.db.clock(),
                viewer=Viewer.person(who.person.id if who.person else None),
            )
        except (AccessDenied, NotFound, DigestError) as error:
            raise ReplyRefused("no_access", str(error)) from None

    async def _route(self, route_id: int) -> Route:
        route = await self.routes.get(route_id)
        if route is None:
            raise ReplyRefused("gone", f"route {route_id}")
        if route.expires_on < await self.calendar.today(route.org_id):
            raise ReplyRefused("expired", f"route {route_id}")
        return route

    async def _usable(self, route_id: int) -> bool:
        try:
            await self._route(route_id)
        except ReplyRefused:
            return False
        return True

    def _chat(self, route: Route) -> tuple[int, str]:
        try:
            plain = json.loads(self._sealer.open(route.sealed, _bound(route.answer_id)))
        except SealBroken:
            log.warning("reply route %d does not open under this secret", route.id)
            raise ReplyRefused("gone", f"route {route.id} sealed otherwise") from None
        return int(plain["chat"]), str(plain["language"])

    def _leads_to(self, route: Route, telegram_id: int) -> bool:
        try:
            return self._chat(route)[0] == telegram_id
        except ReplyRefused:
            return False

    def _proof(self, answer_id: int, telegram_id: int) -> str:
        message = f"{answer_id}:{telegram_id}".encode()
        return hmac.new(self._offer_key, message, hashlib.sha256).hexdigest()[:PROOF_CHARS]


def _bound(answer_id: int) -> bytes:
    return f"answer {answer_id}".encode()
