"""A session store that keeps nothing: what an admin's preview of a draft script plays on.

The dialog service keeps live sessions itself, so this store only hands out ids and
revisions. Its ids are negative: a database session id is positive, so a button of
a preview can never name a stored session, nor the other way round. Nothing here
outlives the process, and nothing is ever submitted, rotated or completed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date

from storage.sessions import Audience, OwnedSession, SessionRow, StepWrite


class MemorySessions:
    def __init__(self) -> None:
        self._ids = itertools.count(-1, -1)
        self._revisions: dict[int, int] = {}

    async def load(self, session_id: int) -> OwnedSession | None:
        return None  # a preview the dialog service has let go of has ended

    async def latest_open_of(self, telegram_id: int, respondent_key: str) -> OwnedSession | None:
        return None

    async def find_open(
        self,
        *,
        person_id: int | None = None,
        respondent_key: str | None = None,
        script_id: str,
        org_id: int,
        period: str,
    ) -> SessionRow | None:
        return None

    async def create(
        self,
        script_version_id: int,
        org_id: int,
        unit_id: int | None,
        audience: Audience,
        person_id: int | None,
        respondent_key: str | None,
        period: str,
        state_json: str,
        today: date,
        respondent_mark: str | None = None,
    ) -> SessionRow:
        session_id = next(self._ids)
        self._revisions[session_id] = 0
        return SessionRow(
            id=session_id,
            script_version_id=script_version_id,
            script_id="",
            org_id=org_id,
            unit_id=unit_id,
            audience=audience,
            person_id=person_id,
            respondent_key=respondent_key,
            period=period,
            state_json=state_json,
            status="active",
            revision=0,
            started_on=today,
            updated_on=today,
            completed_on=None,
        )

    async def save(self, write: StepWrite) -> int:
        revision = self._revisions.pop(write.session_id, write.expected_revision) + 1
        if not write.complete:
            self._revisions[write.session_id] = revision
        return revision

    async def has_submitted(
        self, respondent_key: str, script_id: str, org_id: int, period: str
    ) -> bool:
        return False

    async def completed(self, person_id: int, org_id: int, period: str) -> bool:
        return False

    async def get_rotation(self, person_id: int, script_id: str) -> tuple[int, frozenset[str]]:
        return 0, frozenset()

    async def set_rotation(
        self, person_id: int, script_id: str, cycle: int, asked: Iterable[str]
    ) -> None:
        return None
