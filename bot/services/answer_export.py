"""The answers for analysis and audits: CSV, or a workbook with a summary per framework.

Both formats write one row per answer with the same columns and cells,
formula-neutralised (CSV injection) the same way. An answer carries its ISO week,
not its day: a day, with a small team, can say who answered. The workbook's score
and script version become numbers so a spreadsheet can sum them, and each
framework gets a summary sheet: one row per item and audience with the number
of answers, of people, and the mean score over the exported range, for groups of
at least the organisation's k people only.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path
from typing import IO, TextIO

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.infra.i18n import _, translator
from bot.services.periods import iso_week
from frameworks import Frameworks
from storage.db import Database
from storage.orgs import OrgRepo
from storage.reports import ReportRepo, SummaryRow
from storage.sessions import ExportRow, SessionRepo

COLUMNS = (
    "script",
    "script_version",
    "audience",
    "organisation",
    "unit",
    "week",
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
# Characters XML 1.0 (and so .xlsx) cannot hold; a comment may contain them.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NUMERIC = {"script_version", "score"}
SUMMARY_COLUMNS = (
    "framework",
    "number",
    "item",
    "name",
    "audience",
    "answers",
    "people",
    "mean_score",
    "first_week",
    "last_week",
    "note",
)
FEW = _("fewer than {k} people: not shown")


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
        iso_week(row.answered_on),
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
    """Write the CSV; returns the number of answers in it."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    async for row in SessionRepo(db).iter_answers(org_id=org_id, since=since):
        writer.writerow(export_cells(row))
        count += 1
    return count


async def write_xlsx(
    db: Database,
    frameworks: Frameworks,
    out: Path | IO[bytes],
    org_id: int | None,
    since: date | None,
    language: str = "en",
) -> int:
    """Write the workbook; returns the number of answers in it."""
    book = Workbook(write_only=True)
    answers = book.create_sheet("answers")
    answers.append(list(COLUMNS))
    count = 0
    async for row in SessionRepo(db).iter_answers(org_id=org_id, since=since):
        answers.append(_answer_cells(export_cells(row)))
        count += 1

    rows = await ReportRepo(db).export_summary(org_id, since)
    _summaries(book, frameworks, rows, language, await _k(db, org_id))
    book.save(out)
    return count


def _answer_cells(cells: list[str]) -> list[str | float | None]:
    values: list[str | float | None] = []
    for column, cell in zip(COLUMNS, cells, strict=True):
        if column in _NUMERIC:
            values.append(float(cell) if cell else None)
        else:
            values.append(_ILLEGAL.sub("", cell))
    return values


async def _k(db: Database, org_id: int | None) -> int:
    """The organisation's k; over several, the largest, so no one's promise is broken."""
    orgs = await OrgRepo(db).list_orgs()
    return max((o.k_threshold for o in orgs if org_id is None or o.id == org_id), default=1)


def _summaries(
    book: Workbook, frameworks: Frameworks, rows: list[SummaryRow], language: str, k: int
) -> None:
    found = {(r.framework, r.item_id, r.audience): r for r in rows}
    few = translator(language)(FEW, k=k)
    for framework in frameworks:
        sheet: WriteOnlyWorksheet = book.create_sheet(f"summary {framework.id}"[:31])
        sheet.append(list(SUMMARY_COLUMNS))
        for item in sorted(framework.items.values(), key=lambda i: i.number):
            for audience in ("staff", "service_user"):
                row = found.get((framework.id, item.id, audience))
                head = [
                    framework.id,
                    item.number,
                    neutralise(item.id),
                    neutralise(_ILLEGAL.sub("", item.name(language))),
                    audience,
                ]
                if row is None:
                    sheet.append([*head, 0, 0, None, None, None, None])
                elif row.people < k:
                    sheet.append([*head, None, None, None, None, None, few])
                else:
                    weeks = [iso_week(row.first_day), iso_week(row.last_day)]
                    sheet.append([*head, row.answers, row.people, round(row.mean, 2), *weeks, None])
