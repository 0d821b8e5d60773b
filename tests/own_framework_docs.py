"""Own framework documents for tests: YAML text and the same as a workbook."""

from __future__ import annotations

import io

from openpyxl import Workbook

VALUES = """\
framework:
  id: own-values
  languages: [en, cs]
  needs_review: [cs]
  name: {en: "Our values at Dom Sonce", cs: "Naše hodnoty v Domě Sonce"}
  items:
    - id: dignity
      name: {en: "Dignity first", cs: "Důstojnost především"}
      description:
        en: "Everyone is treated as an adult."
        cs: "Se všemi jednáme jako s dospělými."
    - id: own-pace
      name: {en: "At one's own pace", cs: "Vlastním tempem"}
"""


def values(name_en: str = "Our values at Dom Sonce", dignity: str = "Dignity first") -> str:
    """The framework with other English names (another organisation's, a new version)."""
    return VALUES.replace("Our values at Dom Sonce", name_en).replace("Dignity first", dignity)


def workbook(
    head: list[list[object]] | None = None, items: list[list[object]] | None = None
) -> bytes:
    """A framework workbook: a `framework` sheet and an `items` sheet, these rows each."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "framework"
    for row in head or [
        ["id", "languages", "needs_review", "name::en", "name::cs"],
        ["own-values", "en, cs", "cs", "Our values at Dom Sonce", "Naše hodnoty v Domě Sonce"],
    ]:
        sheet.append(row)
    listed = book.create_sheet("items")
    for row in items or [
        ["id", "name::en", "name::cs", "description::en", "description::cs"],
        ["dignity", "Dignity first", "Důstojnost především", "Everyone is treated as an adult.",
         "Se všemi jednáme jako s dospělými."],
        ["own-pace", "At one's own pace", "Vlastním tempem"],
    ]:  # fmt: skip
        listed.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def staff_variant(text: str, mapping: str = "own-values: [dignity]") -> str:
    """A shipped script with its first section also mapped to `mapping`."""
    marker = "\n    maps_to: {"
    at = text.index(marker) + len(marker)
    return text[:at] + mapping + ", " + text[at:]
