"""CSV export of answers: one row per answer, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import TextIO

from storage.db import Database
from storage.sessions import ExportRow, SessionRepo

COLUMNS = (
    "script",
    "script_version",
    "audience",
    "organisation",
    "unit",
    "period",
    "day",
    "question",
    "framework_items",
    "value",
    "score",
    "not_applicable",
    "skipped",
    "text",
)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def export_cells(row: ExportRow) -> list[str]:
    """One answer as the export's cells, in COLUMNS order."""
    if row.value_json is not None:
        value = ";".join(str(v) for v in json.loads(row.value_json))
    elif row.value_num is not None:
        value = f"{row.value_num:g}"
    else:
        value = row.value_text or ""
    cells = [
        row.script_id,
        str(row.script_version),
        row.audience,
        row.org_name,
        row.unit_name or "",
        row.period,
        row.answered_on.isoformat(),
        row.question_id,
        row.items,
        value,
        "" if row.score is None else f"{row.score:g}",
        "1" if row.not_applicable else "0",
        "1" if row.skipped else "0",
        row.comment or "",
    ]
    return [neutralise(c) for c in cells]


async def write_csv(db: Database, out: TextIO, org_id: int | None, since: date | None) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    async for row in SessionRepo(db).iter_answers(org_id=org_id, since=since):
        writer.writerow(export_cells(row))
        count += 1
    return count
