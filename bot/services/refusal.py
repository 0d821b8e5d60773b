"""A service's "no": one catalogue sentence, translated by whichever adapter shows it.

The log gets the detail where there is any; the person gets this line in their language.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str  # a msgid, marked with _() where it is defined
    params: dict[str, object] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)  # params that are msgids themselves
    code: str = ""  # for an adapter that shows some refusals differently
