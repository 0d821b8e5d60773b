"""A service user's chosen language, kept under their keyed hash and nothing else."""

from __future__ import annotations

from datetime import date

from storage.db import Database
from storage.times import day_text


class PrefsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def language(self, respondent_key: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT language FROM respondent_prefs WHERE respondent_key = ?", (respondent_key,)
        )
        return None if row is None else str(row["language"])

    async def set_language(self, respondent_key: str, language: str, today: date) -> None:
        await self._db.execute(
            "INSERT INTO respondent_prefs (respondent_key, language, updated_on) VALUES (?, ?, ?)"
            " ON CONFLICT (respondent_key) DO UPDATE SET language = excluded.language,"
            " updated_on = excluded.updated_on",
            (respondent_key, language, day_text(today)),
        )

    async def forget(self, respondent_key: str) -> None:
        await self._db.execute(
            "DELETE FROM respondent_prefs WHERE respondent_key = ?", (respondent_key,)
        )
