"""Fault injection and flood control for the fake Bot API.

Faults are what the network and Telegram's front ends do to a correct bot: a 429 flood
wait, a 502 from the proxy, a connection dropped before (or after!) the request was
processed. They are chosen by rules with a seeded RNG, so a failing run can be replayed.

Flood control is the other kind of 429: the one a bot earns by sending too fast. The
limits follow Telegram's FAQ: about one message per second in a chat, with short bursts
tolerated; 20 messages per minute in a group; about 30 messages per second in all.
Each is a token bucket over the server's clock (deterministic for a given clock):
``rate`` sends per second sustained, at most ``burst`` at once.

* all chats together: 30/s, burst 33;
* a private chat: 1/s, burst 5;
* a group or channel: 20 per minute, burst 21.

Why buckets and not counts in a sliding window: PTB's ``AIORateLimiter`` paces with
leaky buckets (aiolimiter), which let a full burst through and then the steady rate,
up to twice the rate within one second. Telegram accepts that; a sliding window would
not. The bursts carry a little slack over the nominal limits because requests reach the
server with jitter. A refused send is not counted; ``retry_after`` is the whole number
of seconds until every bucket involved has a token again (at least 1).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultKind", "FaultRule", "FloodControl"]

FaultKind = Literal["429", "502", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "502", "drop")


@dataclass
class FaultRule:
    """Inject ``kind`` into calls of ``methods`` (all methods when None).

    ``skip`` matching calls pass first; then each matching call faults with
    ``probability`` until the rule has fired ``times`` times (forever when None).
    A ``drop`` with ``after_processing`` lets the server do the work and then loses
    the response: the bot cannot know whether its message went out.
    """

    kind: FaultKind
    methods: frozenset[str] | None = None
    times: int | None = 1
    probability: float = 1.0
    skip: int = 0
    retry_after: int = 1
    after_processing: bool = False
    json_body: bool = False  # a 502 with a JSON body instead of nginx's HTML page
    fired: int = 0
    seen: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.methods is not None:
            self.methods = frozenset(m.lower() for m in self.methods)

    @property
    def exhausted(self) -> bool:
        """True once the rule has fired as often as it may."""
        return self.times is not None and self.fired >= self.times

    def matches(self, method: str) -> bool:
        """Whether a call of ``method`` (any case) falls under this rule."""
        return self.methods is None or method.lower() in self.methods


class FaultInjector:
    """Chooses, per call, whether a fault strikes; counts what was injected."""

    def __init__(self, seed: int = 0) -> None:
        self.rules: list[FaultRule] = []
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, FaultKind]] = []
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random sequence, to replay a run."""
        self._rng = random.Random(seed)

    def add(
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
        """Add a rule; rules are tried in the order they were added."""
        if isinstance(methods, str):
            methods = [methods]
        rule = FaultRule(
            kind=kind,
            methods=None if methods is None else frozenset(methods),
            times=times,
            probability=probability,
            skip=skip,
            retry_after=retry_after,
            after_processing=after_processing,
            json_body=json_body,
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule; the counts stay."""
        self.rules.clear()

    def pick(self, method: str) -> FaultRule | None:
        """The rule that strikes this call, if any (and count it)."""
        for rule in self.rules:
            if rule.exhausted or not rule.matches(method):
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            self.counts[rule.kind] += 1
            self.log.append((method, rule.kind))
            return rule
        return None


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refill to ``now``; seconds until a token is there (0 if one is)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass
class FloodControl:
    """Telegram-like send limits as token buckets (see the module docstring)."""

    clock: Callable[[], float]
    global_rate: float = 30.0
    global_burst: float = 33.0
    private_rate: float = 1.0
    private_burst: float = 5.0
    group_rate: float = 20.0 / 60.0
    group_burst: float = 21.0
    _global: _Bucket | None = None
    _chats: dict[int, _Bucket] = field(default_factory=dict)

    def check(self, chat_id: int, is_group: bool) -> int | None:
        """Take a send now and return None, or refuse it with the seconds to wait."""
        now = self.clock()
        if self._global is None:
            self._global = _Bucket(self.global_rate, self.global_burst, self.global_burst, now)
        chat = self._chats.get(chat_id)
        if chat is None:
            rate, burst = (
                (self.group_rate, self.group_burst)
                if is_group
                else (self.private_rate, self.private_burst)
            )
            chat = self._chats[chat_id] = _Bucket(rate, burst, burst, now)
        wait = max(self._global.wait(now), chat.wait(now))
        if wait > 0:
            return max(1, math.ceil(wait))
        self._global.tokens -= 1.0
        chat.tokens -= 1.0
        return None
