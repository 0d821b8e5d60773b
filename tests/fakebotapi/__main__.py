"""Run the fake Bot API in its own process, for benchmarks and manual poking.

``python -m tests.fakebotapi --chat 1001`` prints ``READY <port>`` once listening,
then serves until stdin closes or the process gets SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .models import User
from .server import FakeBotAPI


async def _serve(args: argparse.Namespace) -> None:
    server = FakeBotAPI(token=args.token, record_calls=False)
    for chat_id in args.chat:
        server.add_private_chat(User(id=chat_id, first_name=f"User {chat_id}"))
    await server.start(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"READY {server.port}", flush=True)
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({stdin_closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    print(f"ERRORS {len(server.errors)}", flush=True)
    await server.stop()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123456789:TEST-fake-token-for-carecheck")
    parser.add_argument("--chat", type=int, action="append", default=[], help="a known user id")
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
