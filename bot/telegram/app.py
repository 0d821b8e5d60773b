"""The one factory for the PTB Application, used by `carecheck run` and by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.infra.transport import build_requests
from bot.services.bulk_budget import BulkBudget
from bot.services.runtime import Runtime
from bot.telegram import (
    dialog_handlers,
    digest_handlers,
    fallback_handlers,
    framework_handlers,
    privacy_handlers,
    reply_handlers,
    safeguarding_handlers,
    script_handlers,
    settings_handlers,
    start_handlers,
)
from bot.telegram.callbacks import DIALOG, pattern
from bot.telegram.command_menu import publish_default_menus, publish_menu
from bot.telegram.context import CONTEXT_TYPES, CarecheckApp
from bot.telegram.flow_sync import FlowSync
from bot.telegram.jobs import TICK_SECONDS, Scheduler
from bot.telegram.ratelimit import ConversationRateLimiter, bulk_sending
from bot.telegram.replies import Handler
from bot.telegram.updates import PersonByPerson
from bot.telegram.webhook_server import WebhookServer

log = logging.getLogger(__name__)

# Updates the bot acts on; channel posts, inline queries and the rest are not fetched.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
CONCURRENT_UPDATES = 256
FIRST_RETRY, LAST_RETRY = 5, 300  # seconds between tries to reach the Bot API
FLOWS = 0  # handler group of the multi-step flows: they see an update first
EVERYTHING = 1  # handler group of everything else


def build_application(runtime: Runtime, *, run_jobs: bool = True) -> CarecheckApp:
    settings = runtime.settings
    if not settings.token:
        raise ValueError("a bot token is required")
    requests = build_requests(connection_pool_size=CONCURRENT_UPDATES)
    processor = PersonByPerson(CONCURRENT_UPDATES)
    application: CarecheckApp = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .request(requests[0])
        .get_updates_request(requests[1])
        .rate_limiter(ConversationRateLimiter(budget=BulkBudget(runtime.db)))
        .concurrent_updates(processor)
        .context_types(CONTEXT_TYPES)
        .build()
    )
    processor.bot = application.bot
    application.bot_data.runtime = runtime
    application.bot_data.scheduler = Scheduler(runtime, application.bot)
    register(application)
    processor.flows = FlowSync(application, runtime.flows, runtime.script_admin)
    if run_jobs:
        assert application.job_queue is not None
        # A job added before the scheduler runs gets its first run worked out when the
        # scheduler starts, from its trigger: a repeating one then skips to a whole
        # interval later, so a replica restarted more often than that would send nothing
        # scheduled. A run once "now", however late the start, then every interval.
        tick = application.bot_data.scheduler.tick
        queue = application.job_queue
        queue.run_once(tick, when=0, job_kwargs={"misfire_grace_time": None})
        queue.run_repeating(tick, interval=TICK_SECONDS, first=TICK_SECONDS)
    return application


def register(application: CarecheckApp) -> None:
    """Every route of an update to its handler; a button's kind picks its handler."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    groups = filters.ChatType.GROUPS | filters.ChatType.CHANNEL

    def on(handler: object, group: int = EVERYTHING) -> None:
        application.add_handler(handler, group=group)  # type: ignore[arg-type]

    on(digest_handlers.planning_flow(), FLOWS)
    on(script_handlers.review_flow(), FLOWS)
    on(reply_handlers.reply_flow(), FLOWS)
    on(reply_handlers.answer_flow(), FLOWS)
    on(MessageHandler(groups, fallback_handlers.on_group))
    on(ChatMemberHandler(fallback_handlers.on_group, ChatMemberHandler.MY_CHAT_MEMBER))
    commands: dict[str, Handler] = {
        "start": start_handlers.on_start,
        "checkin": start_handlers.on_checkin,
        "language": start_handlers.on_language,
        "help": start_handlers.on_help,
        "privacy": privacy_handlers.on_privacy,
        "forget": privacy_handlers.on_forget,
        "stop": start_handlers.on_stop,
        "invite": start_handlers.on_invite,
        "scripts": script_handlers.on_scripts,
        "digest": digest_handlers.on_digest,
        "actions": digest_handlers.on_actions,
        "settings": settings_handlers.on_settings,
    }
    for name, callback in commands.items():
        on(CommandHandler(name, callback, filters=private))
    buttons: dict[tuple[str, ...], Handler] = {
        DIALOG: dialog_handlers.on_dialog_button,
        ("go",): start_handlers.on_start_checkin,
        ("later",): start_handlers.on_remind_later,
        ("L",): start_handlers.on_language_button,
        ("fg",): privacy_handlers.on_forget_button,
        ("as",): digest_handlers.on_status_button,
        ("dg",): digest_handlers.on_digest_button,
        ("ac",): digest_handlers.on_actions_button,
        ("iv",): start_handlers.on_invite_button,
        ("st",): settings_handlers.on_settings_button,
        ("sg",): safeguarding_handlers.on_alert_button,
        ("ap", "ao", "aw"): digest_handlers.on_stale_plan_button,
        ("dp", "du", "dx"): script_handlers.on_stale_draft_button,
        ("fu", "fx"): framework_handlers.on_stale_framework_button,
        ("fl",): framework_handlers.on_lens_button,
        ("sx", "sr"): script_handlers.on_version_button,
        ("ry",): reply_handlers.on_opt_in,
        ("cm",): reply_handlers.on_all_comments,
    }
    for kinds, callback in buttons.items():
        on(CallbackQueryHandler(callback, pattern=pattern(*kinds)))
    on(CallbackQueryHandler(fallback_handlers.on_unknown_button))
    on(MessageHandler(private & filters.COMMAND, fallback_handlers.on_unknown_command))
    on(MessageHandler(private & filters.TEXT, dialog_handlers.on_typed_answer))
    on(MessageHandler(private, fallback_handlers.on_other_message))
    application.add_error_handler(fallback_handlers.on_error)


async def _post_init(application: CarecheckApp) -> None:
    bot = application.bot
    identities = application.bot_data.runtime.identities
    await publish_default_menus(bot)
    with bulk_sending():  # after an upgrade, every menu: paced like any bulk send
        for who, stored in await identities.with_roles():
            await publish_menu(bot, identities, who, stored)


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    listen: str
    port: int
    secret: str | None


async def serve(
    application: CarecheckApp, stop: asyncio.Event, webhook: Webhook | None = None
) -> None:
    """Run until `stop` is set, then finish the updates in flight and shut down cleanly.

    When the Bot API cannot be reached (no network, a wrong URL), that is one line in
    the log and the bot tries again, waiting longer each time, until it is stopped.
    """
    pause = FIRST_RETRY
    while not stop.is_set():
        try:
            await _serve(application, stop, webhook)
            return
        except (NetworkError, TimedOut) as error:
            # The application does not shut its bot down when starting failed: the
            # bot's connections are closed here, and opened again on the next try.
            await application.bot.shutdown()
            url = application.bot.base_url.removesuffix(application.bot.token)
            log.warning(
                "cannot reach the Bot API at %s (%s); trying again in %d s", url, error, pause
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        pause = min(pause * 2, LAST_RETRY)


async def _serve(application: CarecheckApp, stop: asyncio.Event, webhook: Webhook | None) -> None:
    async with application:
        await _post_init(application)
        await application.start()
        try:
            if webhook is None:
                updater = application.updater
                assert updater is not None
                await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
                log.info("carecheck is running (long polling)")
                await stop.wait()
                log.info("stopping: finishing the updates in flight")
                await updater.stop()
            else:
                await _serve_webhook(application, stop, webhook)
        finally:
            # Also when setting the webhook failed: a running application cannot shut down.
            await application.stop()


async def _serve_webhook(application: CarecheckApp, stop: asyncio.Event, webhook: Webhook) -> None:
    """Listen first, then tell Telegram where: the first delivery finds the port open.

    A stopping replica leaves the webhook set: the others behind the same URL go on.
    """
    runtime = application.bot_data.runtime
    server = WebhookServer(application, urlsplit(webhook.url).path, webhook.secret, runtime.updates)
    await server.start(webhook.listen, webhook.port)
    application.bot_data.webhook = server
    try:
        await application.bot.set_webhook(
            webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES
        )
        log.info("carecheck is running (webhook)")
        await stop.wait()
        log.info("stopping: finishing the updates in flight")
    finally:
        await server.stop()
        application.bot_data.webhook = None
