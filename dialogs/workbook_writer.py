"""Writing a script as a workbook in the layout of `dialogs.workbook_layout`."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.worksheet import Worksheet

from dialogs.condition_text import format_condition
from dialogs.model import LANGUAGES, Language, Option, Question, Script, Text
from dialogs.workbook_layout import (
    BEGIN,
    CHOICES,
    COLUMNS,
    END,
    HELP,
    NOT_APPLICABLE,
    SETTINGS,
    SURVEY,
    format_mapping,
)


class WorkbookExportError(ValueError):
    """A script holds something a spreadsheet cell cannot (a control character)."""


_HEADER_FONT = Font(bold=True)
_WIDTHS = {"label": 48, "follow_up": 32, "hint": 28, "title": 32, "intro": 48, "thanks": 40}
_HELP = [
    ("sheet / column", "what it holds"),
    ("settings", "one row of values: the script's id, audience, languages and texts"),
    ("languages", "the languages every text needs, like: en, sl, de"),
    ("rotation", "cover-all (each session asks questions_per_session, rotating) or none"),
    ("survey", "one row per question, between 'begin section' and 'end section' rows"),
    ("type", "scale, yes_no, choice, multi, text, nps, begin section, end section"),
    ("name", "the question's id; keep it when rewording, give a new id when the meaning changes"),
    ("label::xx", "the question text (or the section title) in language xx"),
    ("required", "yes if the question cannot be skipped (staff scripts only)"),
    ("show_if", "ask only when: q1 <= 2 | q2 = yes | q3 in (1, 2) | q4 contains meals"),
    ("", "q5 answered | q5 not answered | all(a, b) | any(a, b) | not(a)"),
    ("maps_to", "framework items: equass: participation, rights; cz-sqss: 5 ('-' for none)"),
    ("scale", "the list in the choices sheet a scale question uses"),
    ("choices", "the list in the choices sheet a choice or multi question offers"),
    ("follow_up::xx", "an optional comment asked after the answer, when follow_up_if holds"),
    ("follow_up_if", "like show_if, about the answer itself: answer <= 2 | answer = no"),
    ("safeguard_if", "like follow_up_if: the answer shows the help text and alerts contacts"),
    ("choices", "one row per button: list_name, name (the stored value), label::xx, emoji"),
    ("n/a", "a row named n/a gives a scale its 'not applicable' button"),
    ("formulas", "are refused; to start a text with '=', type an apostrophe before it"),
]


def write_workbook(script: Script) -> bytes:
    """The script as a workbook that `read_workbook` reads back to an equal script."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the blank sheet a new workbook starts with
    languages = _languages(script)
    _write_settings(book.create_sheet(SETTINGS), script, languages)
    option_lists = _option_list_names(script)
    _write_survey(book.create_sheet(SURVEY), script, languages, option_lists)
    _write_choices(book.create_sheet(CHOICES), script, languages, option_lists)
    help_sheet = book.create_sheet(HELP)
    for line in _HELP:
        help_sheet.append(line)
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 90
    for cell in help_sheet[1]:
        cell.font = _HEADER_FONT
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _languages(script: Script) -> list[Language]:
    """Every language any text uses, declared ones first, so no text is lost on the way."""
    used = set(script.languages)
    for text in _all_texts(script):
        used.update(text)
    return [
        *script.languages,
        *[lang for lang in LANGUAGES if lang in used and lang not in script.languages],
    ]


def _all_texts(script: Script) -> list[Text]:
    texts: list[Text | None] = [script.title, script.intro, script.thanks]
    for scale in script.scales.values():
        texts += [o.label for o in scale.options] + [scale.not_applicable]
    for section in script.sections:
        texts.append(section.title)
        for q in section.questions:
            texts += [q.text, q.hint, q.follow_up.text if q.follow_up else None]
            texts += [o.label for o in q.options or []]
    return [t for t in texts if t is not None]


def _option_list_names(script: Script) -> dict[str, str]:
    """The choices-sheet list of each choice or multi question, clear of the scale names."""
    taken = set(script.scales)
    names = {}
    for q in script.questions():
        if q.options is None:
            continue
        name = q.id
        counter = 1
        while name in taken:
            name = f"{q.id}-options" if counter == 1 else f"{q.id}-options{counter}"
            counter += 1
        taken.add(name)
        names[q.id] = name
    return names


class _Writer:
    """Rows under the layout's header (a text column per language), values put by column name.

    Text cells stay text: one starting with `=` is never a formula.
    """

    def __init__(
        self,
        sheet: Worksheet,
        kind: str,
        languages: list[Language],
        layout: dict[str, dict[str, bool]] = COLUMNS,
    ) -> None:
        self.sheet = sheet
        self.languages = languages
        columns = [
            (name, language)
            for name, texted in layout[kind].items()
            for language in (languages if texted else [None])
        ]
        self.index = {c: i for i, c in enumerate(columns, start=1)}
        self.row = 1
        for (name, language), i in self.index.items():
            cell = sheet.cell(1, i, f"{name}::{language}" if language else name)
            cell.font = _HEADER_FONT
            letter = cell.column_letter
            sheet.column_dimensions[letter].width = _WIDTHS.get(name, 14)
        sheet.freeze_panes = "A2"

    def next_row(self) -> None:
        self.row += 1

    def put(self, name: str, value: Any, language: Language | None = None, where: str = "") -> None:
        if value is None:
            return
        cell = self.sheet.cell(self.row, self.index[(name, language)])
        try:
            cell.value = value
        except IllegalCharacterError:
            raise WorkbookExportError(
                f"{where or name}: has a control character a spreadsheet cannot hold"
            ) from None
        if isinstance(value, str):
            if value.startswith("="):
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True
            if name in _WIDTHS:
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    def text(self, name: str, text: Text | None, where: str) -> None:
        for language in self.languages:
            self.put(name, (text or {}).get(language), language, f"{where}.{language}")


def _write_settings(sheet: Worksheet, script: Script, languages: list[Language]) -> None:
    out = _Writer(sheet, SETTINGS, languages)
    out.next_row()
    out.put("id", script.id)
    out.put("audience", script.audience)
    out.put("languages", ", ".join(script.languages))
    out.put("needs_review", ", ".join(script.needs_review) or None)
    out.text("title", script.title, "title")
    out.text("intro", script.intro, "intro")
    out.text("thanks", script.thanks, "thanks")
    out.put("questions_per_session", script.pulse.questions_per_session)
    out.put("rotation", script.pulse.rotation)
    out.put("resubmit", "yes" if script.resubmit else "no")


def _write_survey(
    sheet: Worksheet, script: Script, languages: list[Language], option_lists: dict[str, str]
) -> None:
    out = _Writer(sheet, SURVEY, languages)
    for i, section in enumerate(script.sections):
        out.next_row()
        out.put("type", BEGIN)
        out.put("name", section.id)
        out.text("label", section.title, f"sections[{i}].title")
        out.put("maps_to", format_mapping(section.maps_to) if section.maps_to else None)
        for j, question in enumerate(section.questions):
            out.next_row()
            _write_question(out, question, option_lists, f"sections[{i}].questions[{j}]")
        out.next_row()
        out.put("type", END)
        out.put("name", section.id)


def _write_question(out: _Writer, q: Question, option_lists: dict[str, str], where: str) -> None:
    out.put("type", q.type)
    out.put("name", q.id)
    out.text("label", q.text, f"{where}.text")
    out.text("hint", q.hint, f"{where}.hint")
    out.put("required", "yes" if q.required else None)
    if q.show_if is not None:
        out.put("show_if", format_condition(q.show_if), where=f"{where}.show_if")
    if q.maps_to is not None:
        out.put("maps_to", format_mapping(q.maps_to))
    out.put("scale", q.scale)
    out.put("choices", option_lists.get(q.id))
    out.put("max_length", q.max_length)
    if q.follow_up is not None:
        out.text("follow_up", q.follow_up.text, f"{where}.follow_up.text")
        condition = format_condition(q.follow_up.show_if, follow_up=True)
        out.put("follow_up_if", condition, where=f"{where}.follow_up.show_if")
        if q.follow_up.max_length != 500:
            out.put("follow_up_max_length", q.follow_up.max_length)
    if q.safeguard_if is not None:
        rule = format_condition(q.safeguard_if, follow_up=True)
        out.put("safeguard_if", rule, where=f"{where}.safeguard_if")


def _write_choices(
    sheet: Worksheet, script: Script, languages: list[Language], option_lists: dict[str, str]
) -> None:
    out = _Writer(sheet, CHOICES, languages)

    def options(list_name: str, items: list[Option], where: str) -> None:
        for k, option in enumerate(items):
            out.next_row()
            out.put("list_name", list_name)
            out.put("name", option.value)
            out.text("label", option.label, f"{where}[{k}].label")
            out.put("emoji", option.emoji or None, where=f"{where}[{k}].emoji")
            out.put("score", option.score)

    for name, scale in script.scales.items():
        options(name, scale.options, f"scales.{name}.options")
        if scale.not_applicable is not None:
            out.next_row()
            out.put("list_name", name)
            out.put("name", NOT_APPLICABLE)
            out.text("label", scale.not_applicable, f"scales.{name}.not_applicable")
    for i, section in enumerate(script.sections):
        for j, q in enumerate(section.questions):
            if q.options is not None:
                where = f"sections[{i}].questions[{j}].options"
                options(option_lists[q.id], q.options, where)
