"""The fake Bot API's HTTP side: routing, reading parameters, errors and faults as responses.

Kept apart from the methods so that a method is plain code from parameters to a result
or an ``ApiError``, and everything Telegram's front ends add on the wire (401 and 404
for a wrong token or method, flood waits, injected 429s, 502s and dropped connections)
happens in one place, the same for every method.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from .chat_state import ApiCall, ChatState
from .fault_injection import FaultInjector, FaultKind, FaultRule, FloodControl
from .models import ApiError

__all__ = ["CallParams", "Handler", "HttpLayer", "Upload"]

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# Methods that post a new message; flood control counts these.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendsticker",
        "sendvideo",
        "sendaudio",
        "sendvoice",
        "sendanimation",
        "sendmediagroup",
        "sendlocation",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "forwardmessage",
    }
)


@dataclass
class Upload:
    """A file sent in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class CallParams:
    """A call's parameters, typed the way the Bot API reads form and JSON fields."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def str(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise ApiError(f"Bad Request: {name} is empty")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise ApiError(f"Bad Request: {name} is empty")
            return None
        if isinstance(value, bool):
            raise ApiError(f"Bad Request: invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(f"Bad Request: can't parse {name} JSON object") from None
        return value

    def summary(self) -> dict[str, Any]:
        """Values plus uploads described by name, type and size, for the call log."""
        summary = dict(self.values)
        for name, upload in self.files.items():
            summary[name] = {
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        return summary


# A Bot API method: its parameters to its result, or an ApiError.
Handler = Callable[[CallParams], Awaitable[Any] | Any]


class HttpLayer(ChatState):
    """The aiohttp server in front of the methods, and the faults it may inject.

    ``_handlers`` maps a lower-case method name to its proper name and its handler;
    whoever assembles the server fills it (and a test may wrap an entry).
    """

    token: str
    record_calls: bool
    faults: FaultInjector
    flood: FloodControl | None
    _handlers: dict[str, tuple[str, Handler]]
    _runner: web.AppRunner | None = None
    _port: int | None = None
    _host = "127.0.0.1"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host``:``port`` (0 picks a free port) in the running loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # No access log: it would print every URL, token included.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._host = host
        self._port = int(sockets[0].getsockname()[1])
        self._closing = False

    async def stop(self) -> None:
        """Release waiting long polls and close the server."""
        self._closing = True
        self._bump()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("the fake Bot API server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What PTB's ``base_url`` takes (it appends the token)."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """What PTB's ``base_file_url`` takes (it appends the token)."""
        return f"{self.base_url}/file/bot"

    def bot_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``telegram.Bot``: token, base_url, base_file_url."""
        return {
            "token": self.token,
            "base_url": self.api_base_url,
            "base_file_url": self.file_base_url,
        }

    # -------------------------------------------------------------- configuration

    def inject_fault(
        self,
        kind: FaultKind,
        methods: Iterable[str] | str | None = None,
        *,
        times: int | None = 1,
        probability: float = 1.0,
        skip: int = 0,
        retry_after: int = 1,
        after_processing: bool = False,
        json_body: bool = False,
    ) -> FaultRule:
        """Add a fault rule (see ``FaultRule``); returns it so a test can read ``fired``."""
        return self.faults.add(
            kind,
            methods,
            times=times,
            probability=probability,
            skip=skip,
            retry_after=retry_after,
            after_processing=after_processing,
            json_body=json_body,
        )

    def set_fault_rates(
        self,
        *,
        rate_limit: float = 0.0,
        bad_gateway: float = 0.0,
        drop: float = 0.0,
        methods: Iterable[str] | str | None = None,
        retry_after: int = 1,
    ) -> None:
        """Fault every matching call at random with these probabilities, forever."""
        for kind, probability in (("429", rate_limit), ("502", bad_gateway), ("drop", drop)):
            if probability > 0:
                self.faults.add(
                    kind,  # type: ignore[arg-type]
                    methods,
                    times=None,
                    probability=probability,
                    retry_after=retry_after,
                )

    @property
    def fault_counts(self) -> Counter[str]:
        """How many faults of each kind ("429", "502", "drop") were injected."""
        return self.faults.counts

    def enforce_rate_limits(self, enabled: bool = True, **limits: float) -> None:
        """Answer sends over Telegram's flood limits with 429 (see ``FloodControl``)."""
        self.flood = FloodControl(clock=self.clock, **limits) if enabled else None

    # ------------------------------------------------------------------ requests

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        requested = request.match_info["method"]
        if token != self.token:
            return self._error_response(requested, ApiError("Unauthorized", 401))
        entry = self._handlers.get(requested.lower())
        if entry is None:
            return self._error_response(requested, ApiError("Not Found", 404))
        method, handler = entry
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._error_response(method, error)
        if self.record_calls:
            self.calls.append(ApiCall(method, params.summary()))
            self._bump()

        fault = self.faults.pick(method)
        if fault is not None and not (fault.kind == "drop" and fault.after_processing):
            return await self._fault_response(request, fault)

        try:
            if self.flood is not None and method.lower() in SEND_METHODS:
                self._check_flood(method, params)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            if error.code == 429:
                return web.json_response(error.body(), status=429)
            return self._error_response(method, error)
        finally:
            self._bump()

        if fault is not None:  # a drop after processing: the work is done, the answer lost
            return await self._fault_response(request, fault)
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error_response("file", ApiError("Unauthorized", 401))
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path and stored.data is not None:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return self._error_response("file", ApiError("Not Found", 404))

    def _error_response(self, method: str, error: ApiError) -> web.Response:
        self.errors.append((method, error.description))
        self._bump()
        return web.json_response(error.body(), status=error.code)

    async def _fault_response(self, request: web.Request, fault: FaultRule) -> web.StreamResponse:
        if fault.kind == "429":
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
            return web.json_response(body, status=429)
        if fault.kind == "502":
            if fault.json_body:
                body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
                return web.json_response(body, status=502)
            return web.Response(text=BAD_GATEWAY_HTML, status=502, content_type="text/html")
        # A dropped connection: close the socket and never answer.
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError

    async def _read_params(self, request: web.Request) -> CallParams:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        content_type = request.content_type
        if request.can_read_body:
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError("Bad Request: can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise ApiError("Bad Request: can't parse JSON encoded request")
                values.update(body)
            elif content_type == "multipart/form-data":
                reader = await request.multipart()
                async for part in reader:
                    if part is None or not hasattr(part, "filename"):
                        continue
                    name = part.name or ""
                    if part.filename is not None:
                        data = bytes(await part.read())
                        content = part.headers.get("Content-Type")
                        files[name] = Upload(part.filename, content, data)
                    else:
                        values[name] = await part.text()
            else:
                form = await request.post()
                values.update({key: str(value) for key, value in form.items()})
        return CallParams(values, files)

    def _check_flood(self, method: str, params: CallParams) -> None:
        assert self.flood is not None
        chat_id = params.int("chat_id")
        if chat_id is None:
            return
        wait = self.flood.check(chat_id, chat_id < 0)
        if wait is not None:
            self.rate_limited.append((method, chat_id, wait))
            raise ApiError(f"Too Many Requests: retry after {wait}", 429, {"retry_after": wait})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
