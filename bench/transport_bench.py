"""Bot API calls per second and CPU per call: PTB's HTTPXRequest against AiohttpRequest.

The fake Bot API runs in a separate process, so the CPU measured here (``process_time``
of this process) is the bot side's alone: PTB building the request, the transport, and
PTB parsing the answer into a Message.

    python bench/transport_bench.py [-n 2000] [-c 1 -c 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import telegram
from telegram.request import BaseRequest, HTTPXRequest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.infra.transport import AiohttpRequest  # noqa: E402

TOKEN = "123456789:TEST-fake-token-for-carecheck"
CHAT_ID = 1001


@dataclass
class Result:
    """One measured run."""

    transport: str
    concurrency: int
    calls: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        """Calls per second of wall time."""
        return self.calls / self.wall

    @property
    def cpu_ms(self) -> float:
        """Bot-process CPU milliseconds per call."""
        return self.cpu * 1000 / self.calls


def start_server() -> tuple[subprocess.Popen[str], int]:
    """Start the fake Bot API in its own process; return it and its port."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakebotapi", "--token", TOKEN, "--chat", str(CHAT_ID)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if not line or line[0] != "READY":
        process.kill()
        raise RuntimeError(f"the fake Bot API did not start: {line}")
    return process, int(line[1])


def make_request(name: str, concurrency: int) -> BaseRequest:
    """A transport sized for the concurrency, so the pool never queues."""
    if name == "httpx":
        return HTTPXRequest(connection_pool_size=max(concurrency, 1))
    return AiohttpRequest(connection_pool_size=max(concurrency, 1))


async def run(name: str, port: int, calls: int, concurrency: int) -> Result:
    """Send ``calls`` messages through a fresh Bot on transport ``name``."""
    base = f"http://127.0.0.1:{port}"
    bot = telegram.Bot(
        TOKEN,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=make_request(name, concurrency),
        get_updates_request=make_request(name, 1),
    )
    async with bot:
        for i in range(50):  # warm up connections and code paths
            await bot.send_message(CHAT_ID, f"warm-up {i}")
        remaining = iter(range(calls))

        async def worker() -> None:
            for i in remaining:
                await bot.send_message(CHAT_ID, f"message {i}")

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Result(name, concurrency, calls, wall, cpu)


async def main(calls: int, concurrencies: list[int], rounds: int) -> list[Result]:
    """Alternate the transports so drift on the machine hits both alike."""
    process, port = start_server()
    results: list[Result] = []
    try:
        for concurrency in concurrencies:
            for _ in range(rounds):
                for name in ("httpx", "aiohttp"):
                    results.append(await run(name, port, calls, concurrency))
    finally:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        tail = process.stdout.read().split()
        process.wait(timeout=10)
    if tail[:1] == ["ERRORS"] and tail[1] != "0":
        raise RuntimeError(f"the fake Bot API answered {tail[1]} calls with an error")
    return results


def report(results: list[Result]) -> None:
    """Print one line per run and the best of each transport per concurrency."""
    print(f"{'transport':<9} {'conc':>4} {'calls':>6} {'calls/s':>9} {'CPU ms/call':>12}")
    for r in results:
        print(f"{r.transport:<9} {r.concurrency:>4} {r.calls:>6} {r.rate:>9.0f} {r.cpu_ms:>12.3f}")
    print("best per transport and concurrency (lowest CPU per call):")
    for concurrency in sorted({r.concurrency for r in results}):
        best = {
            name: min(
                (r for r in results if r.transport == name and r.concurrency == concurrency),
                key=lambda r: r.cpu_ms,
            )
            for name in ("httpx", "aiohttp")
        }
        ratio = best["httpx"].cpu_ms / best["aiohttp"].cpu_ms
        print(
            f"  c={concurrency}: httpx {best['httpx'].rate:.0f}/s {best['httpx'].cpu_ms:.3f} ms, "
            f"aiohttp {best['aiohttp'].rate:.0f}/s {best['aiohttp'].cpu_ms:.3f} ms "
            f"(CPU per call x{ratio:.1f} lower)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--calls", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    report(asyncio.run(main(args.calls, args.concurrency or [1, 32], args.rounds)))
