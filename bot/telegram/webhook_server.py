"""The webhook endpoint: an update is acknowledged only once it has been applied.

PTB's own webhook server (`Updater.start_webhook`) answers 200 as soon as the update is
queued, so a replica killed before it got to the update loses it: Telegram saw it
acknowledged. Here the answer waits for processing: 200 when the handlers finished
(or the update was applied already, by any replica: `UpdateLedger`), 500 when a
handler failed and 503 while another replica holds the update, so Telegram posts it
again. A wrong or missing secret token is 403; a body that is too big, not JSON or not
an update is 400. Nothing a sender posts reaches the log beyond its size and kind.

The server is aiohttp's: already a dependency of ours (the Bot API transport) and of
the fake Bot API, well kept, asyncio-native, with a body limit and a graceful shutdown
that lets the requests in flight finish. Tornado, which PTB's server uses, would add a
second HTTP stack for the same job.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update

from bot.services.update_ledger import UpdateLedger
from bot.telegram.context import CarecheckApp, CarecheckContext

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few kilobytes; Telegram's own limits stay far below
SHUTDOWN_SECONDS = 30.0  # the updates in flight get this long to finish on a stop


class WebhookServer:
    """Listens on one path; each POST is one update, applied before it is answered."""

    def __init__(
        self, application: CarecheckApp, path: str, secret: str | None, ledger: UpdateLedger
    ) -> None:
        self.application = application
        self.path = "/" + path.lstrip("/")
        self.secret = secret
        self.ledger = ledger
        self.runner: web.AppRunner | None = None
        self.in_flight = 0  # updates being applied now
        self._failed: set[int] = set()
        application.add_error_handler(self._note_failure)

    async def start(self, listen: str, port: int) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._handle)
        # No access log: the path may be a secret of its own.
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await self.runner.setup()
        await web.TCPSite(self.runner, listen, port).start()

    async def stop(self) -> None:
        """Stop listening, let the updates in flight finish, close."""
        if self.runner is not None:
            if self.in_flight:
                log.info("webhook: finishing %d updates in flight", self.in_flight)
            await self.runner.cleanup()
            self.runner = None
        self.application.remove_error_handler(self._note_failure)

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if self.secret is not None and not hmac.compare_digest(
            given.encode(), self.secret.encode()
        ):
            log.warning("webhook: refused a post with a wrong or missing secret token")
            return web.Response(status=403)
        update = await self._read(request)
        if update is None:
            return web.Response(status=400)
        try:
            claim = await self.ledger.begin(update.update_id)
        except Exception as error:  # the database is away: Telegram will post it again
            log.warning("webhook: update %s not claimed (%s)", update.update_id, error)
            return web.Response(status=503)
        if claim == "done":
            log.info("webhook: update %s was applied already; acknowledged", update.update_id)
            return web.Response(status=200)
        if claim == "busy":
            return web.Response(status=503)
        applied = await self._apply(update)
        try:
            if applied:
                await self.ledger.finished(update.update_id)
            else:
                await self.ledger.failed(update.update_id)
        except Exception as error:
            # Unmarked, the claim's lease runs out and the redelivery is applied again,
            # which the session's revision and the send claims make harmless.
            log.warning("webhook: update %s not marked (%s)", update.update_id, error)
            return web.Response(status=500)
        return web.Response(status=200 if applied else 500)

    async def _read(self, request: web.Request) -> Update | None:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("webhook: refused a body over %d bytes", MAX_BODY)
            return None
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            return Update.de_json(data, self.application.bot)
        except Exception as error:  # hostile input: whatever it breaks, it is a 400
            log.warning("webhook: refused a body of %d bytes (%s)", len(body), type(error).__name__)
            return None

    async def _apply(self, update: Update) -> bool:
        """Run the handlers through the update processor (one person's updates in order)."""
        application = self.application
        self.in_flight += 1
        try:
            await application.update_processor.process_update(
                update, application.process_update(update)
            )
        finally:
            self.in_flight -= 1
        failed = update.update_id in self._failed
        self._failed.discard(update.update_id)
        return not failed

    async def _note_failure(self, update: object, context: CarecheckContext) -> None:
        """An error handler: PTB swallows a handler's exception, this remembers it."""
        if isinstance(update, Update):
            self._failed.add(update.update_id)
