"""One line of a safeguarding alert, for the alert and the digest alike (no imports of ours,
so the digest model and the safeguarding service can both use it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SafeguardLine:
    """An open safeguarding alert's line, as the alert itself said it: no more.

    `question` and `answer` are the script's words per language; `count` is how many
    such answers the alerts gathered (the alert said so too).
    """

    day: date
    unit: str | None  # None: the whole organisation
    question: dict[str, str]
    answer: dict[str, str]
    count: int

    def words(self, language: str) -> tuple[str, str]:
        return _pick(self.question, language), _pick(self.answer, language)


def _pick(text: dict[str, str], language: str) -> str:
    return text.get(language) or next(iter(text.values()), "")
