"""An aiohttp transport for python-telegram-bot.

PTB's default transport (httpx) spends about 3 ms of CPU per Bot API call on our
machines; aiohttp does the same work for a fraction of that, which is what lets one
bot answer hundreds of button presses a second. This module plugs aiohttp in through
PTB's ``BaseRequest`` with the same timeout and error semantics as ``HTTPXRequest``,
so nothing above the transport can tell the difference.

Plug it into the application factory like this::

    main, polling = build_requests()
    app = ApplicationBuilder().token(token).request(main).get_updates_request(polling).build()

Timeouts map onto aiohttp as follows:

* ``pool_timeout``: how long to wait for one of ``connection_pool_size`` slots; we keep
  our own slot count so that running out of slots is told apart from a slow connect and
  raises ``TimedOut`` with PTB's pool message, exactly like ``HTTPXRequest``;
* ``connect_timeout``: aiohttp's ``sock_connect``;
* ``read_timeout``: aiohttp's ``sock_read``, the longest silence while waiting for or
  reading the response; aiohttp starts that clock once the request body is written;
* ``write_timeout``: aiohttp has no per-write timeout. A small body goes out in one
  non-blocking write, so only uploads can stall while writing; for them the write budget
  (``media_write_timeout`` by default) is added to an overall ceiling of
  connect + write + read seconds on the whole request.

The request URL holds the bot token. aiohttp logs no URLs, and some aiohttp exception
messages do quote the URL, so errors raised here carry a redacted message and no
chained aiohttp exception.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

import aiohttp
import yarl
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["POOL_TIMEOUT_MESSAGE", "AiohttpRequest", "build_requests"]

POOL_TIMEOUT_MESSAGE: Final[str] = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)
"""The message of the ``TimedOut`` raised when no pool slot frees up in time (as PTB's)."""

_FORM_HEADERS: Final[dict[str, str]] = {"Content-Type": "application/x-www-form-urlencoded"}
# A bot token as it appears in Bot API URLs: "<digits>:<secret>" after "bot".
_TOKEN_IN_TEXT: Final[re.Pattern[str]] = re.compile(r"bot\d+:[^/\s'\"]+")


def _redact(text: str, url: str) -> str:
    """Remove the request URL's path (which holds the token) from an error message."""
    parsed = yarl.URL(url)
    origin = f"{parsed.scheme}://{parsed.host}:{parsed.port}" if parsed.host else "<url>"
    redacted = f"{origin}/<redacted>"
    for form in (url, str(parsed)):
        text = text.replace(form, redacted)
    return _TOKEN_IN_TEXT.sub("bot<token>", text)


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` on one shared ``aiohttp.ClientSession``.

    Args:
        connection_pool_size: Requests in flight at once (and connections kept). 256 suits
            the main bot; PTB polls ``getUpdates`` through a separate instance, which needs 1.
        read_timeout: Default seconds to wait for the response.
        write_timeout: Default seconds for sending a request without files.
        connect_timeout: Default seconds to establish a connection.
        pool_timeout: Default seconds to wait for a free slot in the pool.
        media_write_timeout: Default write budget of requests that upload files.
        proxy: Optional HTTP proxy URL, as aiohttp takes it.
        session_kwargs: Extra keyword arguments for ``aiohttp.ClientSession``.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_session_kwargs",
        "_slots",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
        session_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session_kwargs = dict(session_kwargs or {})
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        # ClientTimeout objects are immutable; most calls reuse the same few.
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; PTB adds it to the long-poll time of ``getUpdates``."""
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        """How many requests this instance runs at once."""
        return self._pool_size

    async def initialize(self) -> None:
        """Open the session; a no-op when it is already open."""
        if self._session is not None and not self._session.closed:
            return
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
        kwargs: dict[str, Any] = {
            "connector": connector,
            "headers": {"User-Agent": self.USER_AGENT},
            # Bot API calls carry no cookies; a dummy jar saves work on every response.
            "cookie_jar": aiohttp.DummyCookieJar(),
            "timeout": aiohttp.ClientTimeout(total=None),
            "proxy": self._proxy,
            **self._session_kwargs,
        }
        self._session = aiohttp.ClientSession(**kwargs)
        self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        """Close the session and its connections; safe to call twice."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _client_timeout(
        self,
        read: float | None,
        write: float | None,
        connect: float | None,
        uploads: bool,
    ) -> aiohttp.ClientTimeout:
        """Map PTB's timeouts onto aiohttp's (see the module docstring)."""
        total: float | None = None
        if uploads and None not in (read, write, connect):
            total = read + write + connect  # type: ignore[operator]
        key = (read, connect, total)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=total, connect=None, sock_connect=connect, sock_read=read
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    @staticmethod
    def _form(request_data: RequestData) -> aiohttp.FormData:
        """Build a multipart body with the files' names and mimetypes, as httpx would."""
        # quote_fields=False sends UTF-8 file names as they are, like httpx does.
        form = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
        for name, value in request_data.json_parameters.items():
            form.add_field(name, value)
        for name, (filename, content, mimetype) in request_data.multipart_data.items():
            form.add_field(name, content, filename=filename, content_type=mimetype)
        return form

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the HTTP status and the body, or raise PTB's errors."""
        session, slots = self._session, self._slots
        if session is None or slots is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        uploads = request_data is not None and request_data.contains_files
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if uploads else self._write_timeout

        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if uploads:
                data = self._form(request_data)
            else:
                data = request_data.url_encoded_parameters().encode()
                headers = _FORM_HEADERS

        if slots.locked():
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise TimedOut(POOL_TIMEOUT_MESSAGE) from None
        else:
            await slots.acquire()
        try:
            timeout = self._client_timeout(read_timeout, write_timeout, connect_timeout, uploads)
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            # aiohttp's ServerTimeoutError and the total ceiling are both TimeoutErrors.
            raise TimedOut(
                _redact(f"Timed out: aiohttp.{type(err).__name__}: {err}", url)
            ) from None
        except aiohttp.ClientError as err:
            raise NetworkError(_redact(f"aiohttp.{type(err).__name__}: {err}", url)) from None
        except OSError as err:
            raise NetworkError(_redact(f"{type(err).__name__}: {err}", url)) from None
        finally:
            slots.release()


def build_requests(
    *,
    connection_pool_size: int = 256,
    read_timeout: float | None = 5.0,
    write_timeout: float | None = 5.0,
    connect_timeout: float | None = 5.0,
    pool_timeout: float | None = 1.0,
    media_write_timeout: float | None = 20.0,
    proxy: str | None = None,
) -> tuple[AiohttpRequest, AiohttpRequest]:
    """Return ``(main, get_updates)`` transports for ``ApplicationBuilder``.

    PTB keeps ``getUpdates`` on its own transport so a long poll never takes a slot from
    the replies; that one needs a single connection.
    """
    main = AiohttpRequest(
        connection_pool_size=connection_pool_size,
        read_timeout=read_timeout,
        write_timeout=write_timeout,
        connect_timeout=connect_timeout,
        pool_timeout=pool_timeout,
        media_write_timeout=media_write_timeout,
        proxy=proxy,
    )
    polling = AiohttpRequest(
        connection_pool_size=1,
        read_timeout=read_timeout,
        write_timeout=write_timeout,
        connect_timeout=connect_timeout,
        pool_timeout=pool_timeout,
        media_write_timeout=media_write_timeout,
        proxy=proxy,
    )
    return main, polling
