"""Webhooks as Telegram delivers them: POSTed, redelivered until acknowledged, in order per chat.

Why the fake delivers at all: a bot behind a webhook must acknowledge an update only once
it is applied, and that is tested only if someone redelivers what it did not
acknowledge. Telegram does: a non-2xx answer, a refused connection or a timeout means
the same update (same ``update_id``) comes again after a pause, and the chat's later
updates wait behind it. ``setWebhook``, ``deleteWebhook`` and ``getWebhookInfo`` are
here too, with their checks.

The public https URL the bot registers leads nowhere by itself: a test says where it
leads with ``set_webhook_targets`` (the load balancer's backends, plain http on the
loopback), round-robin, or ``deliver_to`` one chosen replica. Without targets nothing
is delivered and updates wait, as behind a load balancer with no backend up.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from .chat_state import DEFAULT_ALLOWED_UPDATES, ChatState
from .http_layer import CallParams, Handler
from .models import ApiError

__all__ = ["SECRET_HEADER", "WebhookAttempt", "WebhookDelivery"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
DEFAULT_MAX_CONNECTIONS = 40


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of an update: where to, and the status (None: refused, dropped, timed out)."""

    update_id: int
    target: str
    status: int | None
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def chat_key(update: dict[str, Any]) -> object:
    """What Telegram keeps in order: the chat an update belongs to (else the update alone)."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return chat["id"]
        sender = payload.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return sender["id"]
    return ("update", update["update_id"])


class WebhookDelivery(ChatState):
    """The webhook methods and the delivery loop (tests tune the two delays)."""

    # Seconds before an update that was not acknowledged is posted again (Telegram waits
    # longer and longer; a fixed short pause keeps tests fast and their timing plain).
    webhook_retry_delay: float = 1.0
    # Seconds a replica has to answer before the attempt counts as failed.
    webhook_timeout: float = 10.0

    def _init_webhooks(self) -> None:
        self.webhook_targets: list[str] = []
        self.webhook_attempts: list[WebhookAttempt] = []
        self.acknowledged: list[int] = []  # update ids, in the order they were acknowledged
        self._chosen_target: str | None = None
        self._next_target = 0
        self._not_before: dict[int, float] = {}
        self._busy_chats: set[object] = set()
        self._delivery: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        self._last_error: tuple[int, str] | None = None

    def _webhook_methods(self) -> dict[str, tuple[str, Handler]]:
        return {
            name.lower(): (name, handler)
            for name, handler in {
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
            }.items()
        }

    # ------------------------------------------------------------ test controls

    def set_webhook_targets(self, targets: list[str]) -> None:
        """Where the registered URL leads: these backends, round-robin."""
        self.webhook_targets = list(targets)
        self._bump()

    def deliver_to(self, target: str | None) -> None:
        """Send every delivery to this one backend (None: round-robin again)."""
        self._chosen_target = target
        self._bump()

    def attempts_for(self, update_id: int) -> list[WebhookAttempt]:
        return [a for a in self.webhook_attempts if a.update_id == update_id]

    # ------------------------------------------------------------ the methods

    def _set_webhook(self, params: CallParams) -> bool:
        url = params.str("url") or ""
        if not url:
            self._end_webhook()
            return True
        if not url.startswith("https://"):
            raise ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.str("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise ApiError("Bad Request: secret token contains unallowed characters")
        connections = params.int("max_connections") or DEFAULT_MAX_CONNECTIONS
        if not 1 <= connections <= 100:
            raise ApiError("Bad Request: bad webhook: invalid max_connections specified")
        allowed = params.json("allowed_updates")
        if allowed is not None:
            self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        self.webhook = {"url": url, "secret_token": secret, "max_connections": connections}
        if params.bool("drop_pending_updates"):
            self.pending_updates.clear()
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.get_running_loop().create_task(self._deliver_forever())
        self._bump()
        return True

    def _delete_webhook(self, params: CallParams) -> bool:
        self._end_webhook()
        if params.bool("drop_pending_updates"):
            self.pending_updates.clear()
        return True

    def _get_webhook_info(self, params: CallParams) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            info["allowed_updates"] = sorted(self.allowed_updates)
            if self._last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._last_error
        return info

    def _end_webhook(self) -> None:
        self.webhook = None
        self._bump()  # the loop sees it and ends; posts in flight finish

    async def stop_webhook_delivery(self) -> None:
        """End the loop and every post in flight (the server is shutting down)."""
        tasks = [self._delivery, *self._deliveries] if self._delivery else [*self._deliveries]
        for task in tasks:
            if task is not None:
                task.cancel()
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._delivery = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    # ------------------------------------------------------------ the loop

    async def _deliver_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while self.webhook is not None and not self._closing:
            changed = self._changed
            wake = self._start_due(loop.time())
            try:
                async with asyncio.timeout(wake):
                    await changed.wait()
            except TimeoutError:
                pass

    def _start_due(self, now: float) -> float | None:
        """Post each chat's first pending update that is due; seconds until the next is."""
        assert self.webhook is not None
        if not self.webhook_targets and self._chosen_target is None:
            return None
        wake: float | None = None
        seen: set[object] = set()
        for update in self._deliverable(len(self.pending_updates)):
            key = chat_key(update)
            if key in seen or key in self._busy_chats:
                seen.add(key)
                continue
            seen.add(key)
            due = self._not_before.get(update["update_id"], 0.0)
            if due > now:
                wake = due - now if wake is None else min(wake, due - now)
                continue
            if len(self._deliveries) >= self.webhook["max_connections"]:
                break
            self._busy_chats.add(key)
            task = asyncio.get_running_loop().create_task(self._post_update(update, key))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return wake

    def _target(self) -> str:
        if self._chosen_target is not None:
            return self._chosen_target
        target = self.webhook_targets[self._next_target % len(self.webhook_targets)]
        self._next_target += 1
        return target

    async def _post_update(self, update: dict[str, Any], key: object) -> None:
        assert self.webhook is not None
        if self._http is None:
            self._http = aiohttp.ClientSession()
        target = self._target()
        headers = {}
        if self.webhook["secret_token"]:
            headers[SECRET_HEADER] = self.webhook["secret_token"]
        status: int | None = None
        error: str | None = None
        try:
            timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
            async with self._http.post(
                target, json=copy.deepcopy(update), headers=headers, timeout=timeout
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as failure:
            error = f"{type(failure).__name__}: {failure}"
        finally:
            self._busy_chats.discard(key)
        attempt = WebhookAttempt(update["update_id"], target, status, error)
        self.webhook_attempts.append(attempt)
        if attempt.acknowledged:
            self.pending_updates = [u for u in self.pending_updates if u is not update]
            self._not_before.pop(update["update_id"], None)
            self.acknowledged.append(update["update_id"])
        else:
            delay = self.webhook_retry_delay
            self._not_before[update["update_id"]] = asyncio.get_running_loop().time() + delay
            reason = error or f"Wrong response from the webhook: {status}"
            self._last_error = (int(time.time()), reason)
        self._bump()
