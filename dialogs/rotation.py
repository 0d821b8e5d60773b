"""Which questions one session asks: a pulse rotation that covers the bank once per cycle.

Each respondent walks the whole bank in their own shuffled order (seeded per
respondent and cycle), so in any week different people answer different items
and every item is covered across the team, while one person sees every item
once before any repeats.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dialogs.model import Script


@dataclass(frozen=True, slots=True)
class Plan:
    question_ids: tuple[str, ...]
    cycle: int
    asked_in_cycle: frozenset[str]


def plan_session(
    script: Script, *, cycle: int = 0, asked: frozenset[str] = frozenset(), seed: str = ""
) -> Plan:
    """The questions of the next session, and the respondent's rotation state after it."""
    order = [q.id for q in script.questions()]
    per_session = script.pulse.questions_per_session
    if script.pulse.rotation != "cover-all" or per_session is None:
        chosen = order if per_session is None else order[:per_session]
        return Plan(tuple(chosen), cycle, asked)
    position = {qid: i for i, qid in enumerate(order)}
    asked = asked & position.keys()  # questions removed in a newer version don't count
    remaining = [q for q in _shuffled(order, seed, cycle) if q not in asked]
    chosen = remaining[:per_session]
    if len(chosen) < per_session or len(asked) + len(chosen) == len(order):
        # The cycle is complete: the rest of this session opens the next one.
        cycle += 1
        fresh = [q for q in _shuffled(order, seed, cycle) if q not in chosen]
        extra = fresh[: per_session - len(chosen)]
        chosen += extra
        asked = frozenset(extra)
    else:
        asked = asked | frozenset(chosen)
    return Plan(tuple(sorted(chosen, key=position.__getitem__)), cycle, asked)


def _shuffled(order: list[str], seed: str, cycle: int) -> list[str]:
    items = list(order)
    random.Random(f"{seed}/{cycle}").shuffle(items)
    return items
