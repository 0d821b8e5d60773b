"""Scripts as spreadsheets: the XLSForm-like layout the workbook reader and writer share.

Quality coordinators edit in a spreadsheet they already know; `workbook_reader`
turns the workbook into the same document as YAML, `workbook_writer` writes a
script out in this layout, and the two must agree on every name below.

Sheets (names and column names are not case-sensitive; other sheets are ignored):

settings -- one row of values under the column names:
    id, audience, languages (`en, sl, de`), needs_review, title::xx, intro::xx,
    thanks::xx, questions_per_session, rotation (`cover-all` or `none`), resubmit
survey -- one row per question, inside `begin section` ... `end section` rows:
    type (scale, yes_no, choice, multi, text, nps, begin section, end section),
    name (the question's or section's id), label::xx (question text or section
    title), hint::xx, required, show_if (see `dialogs.condition_text`), maps_to
    (`equass: participation, rights; cz-sqss: 5`; `-` maps a question to
    nothing), scale (a list in choices), choices (the list a choice or multi
    question offers), max_length, follow_up::xx, follow_up_if,
    follow_up_max_length, safeguard_if (like follow_up_if: when the answer calls
    for the organisation's help text and an alert)
choices -- one row per scale point or choice option:
    list_name, name (the stored value), label::xx, emoji, score; a row named
    `n/a` gives a scale's "not applicable" button. A list named in a question's
    `choices` column is that question's options; every other list is a scale.

A cell that starts with `=` is a formula and is refused, never evaluated; text
that really starts with `=` is typed with a leading apostrophe, as spreadsheets
mark text, and is written back that way.
"""

from __future__ import annotations

import re

SETTINGS, SURVEY, CHOICES, HELP = "settings", "survey", "choices", "help"
NOT_APPLICABLE = "n/a"
BEGIN, END = "begin section", "end section"
NO_MAPPING = "-"

# Column name -> does it take a language (`label::en`)? Written in this order.
COLUMNS: dict[str, dict[str, bool]] = {
    SETTINGS: {
        "id": False,
        "audience": False,
        "languages": False,
        "needs_review": False,
        "title": True,
        "intro": True,
        "thanks": True,
        "questions_per_session": False,
        "rotation": False,
        "resubmit": False,
    },
    SURVEY: {
        "type": False,
        "name": False,
        "label": True,
        "hint": True,
        "required": False,
        "show_if": False,
        "maps_to": False,
        "scale": False,
        "choices": False,
        "max_length": False,
        "follow_up": True,
        "follow_up_if": False,
        "follow_up_max_length": False,
        "safeguard_if": False,
    },
    CHOICES: {"list_name": False, "name": False, "label": True, "emoji": False, "score": False},
}


def parse_mapping(text: str) -> dict[str, list[str]]:
    """`equass: participation, rights; cz-sqss: 5` as {framework: [items]}; `-` is no mapping."""
    if text.strip() == NO_MAPPING:
        return {}
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        framework, colon, items = part.partition(":")
        framework = framework.strip()
        if not colon or not framework:
            raise ValueError(
                f"write maps_to as 'framework: item, item; framework: item', not {part.strip()!r}"
            )
        if framework in out:
            raise ValueError(f"framework {framework!r} is named twice")
        out[framework] = [item for item in re.split(r"[,\s]+", items.strip()) if item]
    return out


def format_mapping(mapping: dict[str, list[str]]) -> str:
    if not mapping:
        return NO_MAPPING
    return "; ".join(f"{fw}: {', '.join(items)}".rstrip() for fw, items in mapping.items())
