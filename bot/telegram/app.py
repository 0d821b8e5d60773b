"""The one factory for the PTB Application, used by `carecheck run` and by the tests."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.infra.transport import build_requests
from bot.services.onboarding import Onboarding
from bot.services.retention import DailyRetention
from bot.services.runtime import Runtime
from bot.telegram import digest_handlers, flood, handlers, privacy_handlers, script_handlers
from bot.telegram.command_menu import publish_menus
from bot.telegram.jobs import Scheduler
from bot.telegram.ratelimit import ConversationRateLimiter
from bot.telegram.replies import SERVICES, BotServices
from storage.people import PeopleRepo

log = logging.getLogger(__name__)

# Updates the bot acts on; channel posts, inline queries and the rest are not fetched.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
CONCURRENT_UPDATES = 256
SCHEDULER = "carecheck.scheduler"


def build_application(runtime: Runtime, *, run_jobs: bool = True) -> Application:  # type: ignore[type-arg]
    settings = runtime.settings
    if not settings.token:
        raise ValueError("a bot token is required")
    requests = build_requests(connection_pool_size=CONCURRENT_UPDATES)
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .request(requests[0])
        .get_updates_request(requests[1])
        .rate_limiter(ConversationRateLimiter())
        .concurrent_updates(CONCURRENT_UPDATES)
        .job_queue(None)
        .build()
    )
    clock = runtime.clock
    services = BotServices(runtime, Onboarding(runtime.db, runtime.secret), clock)
    services.changes_for_users = partial(digest_handlers.changes_for_users, services)
    handlers.install(application, services)
    digests = partial(digest_handlers.weekly_digests, services, application.bot)
    application.bot_data[SCHEDULER] = Scheduler(
        application.bot, runtime.db, clock, extra_jobs=[digests, DailyRetention(runtime.db)]
    )
    application.bot_data["carecheck.run_jobs"] = run_jobs
    register(application)
    return application


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS | filters.ChatType.CHANNEL
    on = application.add_handler
    flood.install(application)
    on(MessageHandler(groups, handlers.on_group), group=0)
    on(ChatMemberHandler(handlers.on_group, ChatMemberHandler.MY_CHAT_MEMBER))
    commands = {
        "start": handlers.on_start,
        "checkin": handlers.on_checkin,
        "language": handlers.on_language,
        "help": handlers.on_help,
        "privacy": privacy_handlers.on_privacy,
        "forget": privacy_handlers.on_forget,
        "stop": handlers.on_stop,
        "invite": handlers.on_invite,
        "scripts": script_handlers.on_scripts,
        "digest": digest_handlers.on_digest,
        "actions": digest_handlers.on_actions,
    }
    for name, callback in commands.items():
        on(CommandHandler(name, callback, filters=private & filters.UpdateType.MESSAGE))
    on(CallbackQueryHandler(privacy_handlers.on_forget_button, pattern=privacy_handlers.BUTTONS))
    on(CallbackQueryHandler(handlers.on_button))
    on(
        MessageHandler(
            private & filters.COMMAND & filters.UpdateType.MESSAGE, handlers.on_unknown_command
        )
    )
    on(MessageHandler(private & filters.TEXT & filters.UpdateType.MESSAGE, handlers.on_text))
    on(
        MessageHandler(
            private & filters.Document.ALL & filters.UpdateType.MESSAGE,
            script_handlers.on_document,
        )
    )
    on(MessageHandler(private & filters.UpdateType.MESSAGE, handlers.on_other_message))
    application.add_error_handler(handlers.on_error)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    services: BotServices = application.bot_data[SERVICES]
    people = PeopleRepo(services.runtime.db)
    await publish_menus(
        application.bot,
        managers=[(p.telegram_id, p.language) for p in await people.with_role("manager")],
        admins=[(p.telegram_id, p.language) for p in await people.with_role("admin")],
    )
    if application.bot_data.get("carecheck.run_jobs"):
        scheduler: Scheduler = application.bot_data[SCHEDULER]
        scheduler.start()


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    scheduler: Scheduler = application.bot_data[SCHEDULER]
    await scheduler.stop()


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    listen: str
    port: int
    secret: str | None


async def serve(
    application: Application, stop: asyncio.Event, webhook: Webhook | None = None
) -> None:  # type: ignore[type-arg]
    """Run until `stop` is set, then finish the updates in flight and shut down cleanly."""
    async with application:
        await _post_init(application)
        await application.start()
        updater = application.updater
        assert updater is not None
        if webhook is None:
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        else:
            path = urlsplit(webhook.url).path.lstrip("/")
            await updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=path,
                webhook_url=webhook.url,
                secret_token=webhook.secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        log.info("carecheck is running (%s)", "webhook" if webhook else "long polling")
        await stop.wait()
        log.info("stopping: finishing the updates in flight")
        await updater.stop()
        await application.stop()
        await _post_shutdown(application)
