"""The shipped framework data says what FRAMEWORKS.md verified, and the loader rejects bad data
with every problem located by file and path."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import frameworks
from frameworks import (
    LANGUAGES,
    Framework,
    FrameworkError,
    Frameworks,
    Item,
    default_frameworks,
    load_frameworks,
)

# Verbatim from FRAMEWORKS.md.
EQUASS_EN = [
    "Leadership",
    "Staff",
    "Rights",
    "Ethics",
    "Partnership",
    "Participation",
    "Person-centred approach",
    "Comprehensiveness",
    "Result orientation",
    "Continuous improvement",
]
EQUASS_LT = [
    "lyderystė",
    "personalas",
    "teisės",
    "etika",
    "partnerystė",
    "dalyvavimas",
    "orientacija į asmenį",
    "kompleksiškumas",
    "orientacija į rezultatus",
    "nuolatinis gerinimas",
]
EQUASS_IDS = [
    "leadership",
    "staff",
    "rights",
    "ethics",
    "partnership",
    "participation",
    "person-centred",
    "comprehensiveness",
    "result-orientation",
    "continuous-improvement",
]
REVISED_EN = [
    "Rights & Dignity",
    "Empowerment & Person-centredness",
    "Quality Management & Improvement",
    "Leadership & Governance",
    "Workforce Management & Development",
]
REVISED_IDS = [
    "rights-dignity",
    "empowerment",
    "quality-improvement",
    "leadership-governance",
    "workforce",
]
CZ_NAMES = [
    "Cíle a způsoby poskytování sociální služby",
    "Ochrana práv osob",
    "Jednání se zájemcem o službu",
    "Smlouva o poskytování sociální služby",
    "Individuální plánování a průběh sociální služby",
    "Dokumentace o poskytované sociální službě",
    "Stížnosti na kvalitu či způsob poskytování služby",
    "Návaznost na další služby",
    "Personální zajištění",
    "Profesní rozvoj pracovníků",
    "Místní a časová dostupnost",
    "Informovanost o službě",
    "Prostředí a podmínky",
    "Nouzové a havarijní situace",
    "Zvyšování kvality",
]
REVISED_MAPPING = {
    "leadership": "leadership-governance",
    "staff": "workforce",
    "rights": "rights-dignity",
    "ethics": "rights-dignity",
    "partnership": "leadership-governance",
    "participation": "empowerment",
    "person-centred": "empowerment",
    "comprehensiveness": "empowerment",
    "result-orientation": "quality-improvement",
    "continuous-improvement": "quality-improvement",
}


def sentence_case(text: str) -> str:
    """FRAMEWORKS.md lists the Lithuanian names inline, in lower case; as names they start
    with a capital, like the names in every other language."""
    return text[:1].upper() + text[1:]


@pytest.fixture(scope="module")
def shipped() -> Frameworks:
    return default_frameworks()


# --- the shipped data -------------------------------------------------------------------


def test_shipped_data_loads(shipped: Frameworks) -> None:
    assert sorted(shipped.ids()) == ["cz-sqss", "eqalin", "equass", "equass-revised"]
    assert default_frameworks() is shipped


@pytest.mark.parametrize(
    ("framework_id", "count"),
    [("equass", 10), ("equass-revised", 5), ("cz-sqss", 15), ("eqalin", 5)],
)
def test_item_counts_and_numbering(shipped: Frameworks, framework_id: str, count: int) -> None:
    framework = shipped.get(framework_id)
    assert len(framework.items) == count
    assert [i.number for i in framework.items.values()] == list(range(1, count + 1))


def test_equass_principles_match_frameworks_md(shipped: Frameworks) -> None:
    items = list(shipped.get("equass").items.values())
    assert [i.id for i in items] == EQUASS_IDS
    assert [i.names["en"] for i in items] == EQUASS_EN
    assert [i.names["lt"] for i in items] == [sentence_case(n) for n in EQUASS_LT]


def test_revised_sections(shipped: Frameworks) -> None:
    items = list(shipped.get("equass-revised").items.values())
    assert [i.id for i in items] == REVISED_IDS
    assert [i.names["en"] for i in items] == REVISED_EN


def test_czech_standards_match_frameworks_md(shipped: Frameworks) -> None:
    framework = shipped.get("cz-sqss")
    assert list(framework.items) == [str(n) for n in range(1, 16)]
    assert [i.names["cs"] for i in framework.items.values()] == CZ_NAMES
    assert "505/2006" in framework.source


def test_eqalin_perspectives(shipped: Frameworks) -> None:
    ids = list(shipped.get("eqalin").items)
    assert ids == ["residents", "staff", "leadership", "environment", "learning"]


def test_every_name_and_description_in_all_languages(shipped: Frameworks) -> None:
    for framework in shipped:
        assert set(framework.names) == set(LANGUAGES)
        assert framework.source.strip()
        for item in framework.items.values():
            assert set(item.names) == set(LANGUAGES), (framework.id, item.id)
            assert all(n.strip() for n in item.names.values())
            assert set(item.description) in (set(), set(LANGUAGES))
            assert item.source.strip()
            assert item.framework == framework.id


def test_translated_names_are_marked_for_review(shipped: Frameworks) -> None:
    # Official names exist only in en and lt for EQUASS, in cs for the Czech standards,
    # and in en for the revised sections and the E-Qalin perspectives.
    assert set(shipped.get("equass").needs_review) == {"sl", "de", "cs"}
    assert set(shipped.get("cz-sqss").needs_review) == {"en", "sl", "de", "lt"}
    assert set(shipped.get("equass-revised").needs_review) == {"sl", "de", "cs", "lt"}
    assert set(shipped.get("eqalin").needs_review) == {"sl", "de", "cs", "lt"}


def test_no_kqs(shipped: Frameworks) -> None:
    """The KQS area names are unverified, so no KQS framework ships."""
    assert not any("kqs" in framework_id for framework_id in shipped.ids())


def test_revised_mapping_covers_all_principles(shipped: Frameworks) -> None:
    equass = shipped.get("equass")
    mapping = {i.id: i.maps_to["equass-revised"] for i in equass.items.values()}
    assert mapping == {k: (v,) for k, v in REVISED_MAPPING.items()}
    crosswalk = equass.crosswalks["equass-revised"]
    assert crosswalk.official is False
    assert "own reading" in crosswalk.source
    sections = {s for (s,) in mapping.values()}
    assert sections == set(shipped.get("equass-revised").items)


def test_translate(shipped: Frameworks) -> None:
    assert shipped.translate("equass", "staff", "equass-revised") == ("workforce",)
    assert shipped.translate("equass-revised", "empowerment", "equass") == (
        "participation",
        "person-centred",
        "comprehensiveness",
    )
    assert shipped.translate("equass", "rights", "equass") == ("rights",)
    assert shipped.translate("cz-sqss", "5", "equass") == ()
    with pytest.raises(KeyError, match="no item 'nope'"):
        shipped.translate("equass", "nope", "equass-revised")
    with pytest.raises(KeyError, match="unknown framework 'kqs'"):
        shipped.translate("equass", "staff", "kqs")


def test_lookup(shipped: Frameworks) -> None:
    assert "equass" in shipped
    assert "kqs" not in shipped
    item = shipped.item("cz-sqss", "7")
    assert item is not None
    assert item.number == 7
    assert shipped.item("equass", "nope") is None
    assert shipped.item("nope", "staff") is None
    with pytest.raises(KeyError, match=r"unknown framework 'nope' \(known: "):
        shipped.get("nope")


def test_names_fall_back_to_english(shipped: Frameworks) -> None:
    item = shipped.item("equass", "person-centred")
    assert item is not None
    assert item.name("lt") == "Orientacija į asmenį"
    assert item.name("lt-LT") == "Orientacija į asmenį"
    assert item.name("fr") == "Person-centred approach"
    assert item.describe("de")
    assert shipped.get("cz-sqss").name("cs") == "Standardy kvality sociálních služeb"
    assert shipped.get("cz-sqss").name("") == shipped.get("cz-sqss").name("en")


def test_loaded_data_is_read_only(shipped: Frameworks) -> None:
    framework = shipped.get("equass")
    item = framework.items["staff"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.number = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        item.names["en"] = "Workers"  # type: ignore[index]
    with pytest.raises(TypeError):
        framework.items["x"] = item  # type: ignore[index]
    assert {item, framework.items["staff"]} == {item}
    assert isinstance(framework, Framework)
    assert isinstance(item, Item)


def test_package_stays_pure() -> None:
    """frameworks/ must not depend on the application layers."""
    package = Path(frameworks.__file__).parent
    forbidden = {"bot", "dialogs", "storage", "telegram"}
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & forbidden, f"{source.name} imports {roots & forbidden}"


# --- broken data ------------------------------------------------------------------------


def texts(label: str) -> dict[str, str]:
    return {lang: f"{label} ({lang})" for lang in LANGUAGES}


def framework_doc(framework_id: str, item_ids: list[str]) -> dict[str, Any]:
    return {
        "id": framework_id,
        "name": texts(framework_id),
        "source": "test",
        "items": [
            {"id": item_id, "number": n, "name": texts(item_id)}
            for n, item_id in enumerate(item_ids, start=1)
        ],
    }


def write(directory: Path, name: str, doc: dict[str, Any]) -> None:
    (directory / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def write_pair(directory: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> None:
    """A valid two-framework directory, `a` mapping onto `b`, optionally edited."""
    a = framework_doc("a", ["a1", "a2", "a3", "a4"])
    for item in a["items"]:
        item["maps_to"] = {"b": ["b1"]}
    a["crosswalks"] = {"b": {"official": False, "source": "our own reading"}}
    if edit is not None:
        edit(a)
    write(directory, "a.yaml", a)
    write(directory, "b.yaml", framework_doc("b", ["b1", "b2"]))


def problems_for(directory: Path) -> tuple[str, ...]:
    with pytest.raises(FrameworkError) as caught:
        load_frameworks(directory)
    return caught.value.problems


def test_valid_test_data_loads(tmp_path: Path) -> None:
    write_pair(tmp_path)
    loaded = load_frameworks(tmp_path)
    assert loaded.ids() == ["a", "b"]
    assert loaded.translate("b", "b1", "a") == ("a1", "a2", "a3", "a4")
    assert loaded.get("a").items["a1"].source == "test"


def drop_lt(doc: dict[str, Any]) -> None:
    del doc["items"][3]["name"]["lt"]


def duplicate_id(doc: dict[str, Any]) -> None:
    doc["items"][2]["id"] = "a1"


def unknown_key(doc: dict[str, Any]) -> None:
    doc["items"][1]["colour"] = "blue"


def dangling_item(doc: dict[str, Any]) -> None:
    doc["items"][0]["maps_to"] = {"b": ["b1", "b9"]}


def dangling_framework(doc: dict[str, Any]) -> None:
    doc["items"][0]["maps_to"] = {"b": ["b1"], "zz": ["x"]}


def gap_in_numbers(doc: dict[str, Any]) -> None:
    doc["items"][3]["number"] = 6


def duplicate_number(doc: dict[str, Any]) -> None:
    doc["items"][3]["number"] = 1


def empty_name(doc: dict[str, Any]) -> None:
    doc["name"]["sl"] = "  "


def unknown_language(doc: dict[str, Any]) -> None:
    doc["items"][0]["description"] = {**texts("d"), "fr": "d (fr)"}


def unquoted_number_id(doc: dict[str, Any]) -> None:
    doc["items"][0]["id"] = 1


def missing_crosswalk(doc: dict[str, Any]) -> None:
    del doc["crosswalks"]


def bad_review_language(doc: dict[str, Any]) -> None:
    doc["needs_review"] = ["sl", "xx"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (drop_lt, "a.yaml: items[3].name: missing language 'lt'"),
        (duplicate_id, "a.yaml: items[2].id: duplicate id 'a1' (also items[0])"),
        (unknown_key, "a.yaml: items[1].colour: unknown key"),
        (dangling_item, "a.yaml: items[0].maps_to.b[1]: framework 'b' has no item 'b9'"),
        (dangling_framework, "a.yaml: items[0].maps_to.zz: unknown framework 'zz'"),
        (gap_in_numbers, "a.yaml: items[3].number: 6 breaks the sequence 1..4"),
        (duplicate_number, "a.yaml: items[3].number: duplicate number 1 (also items[0])"),
        (empty_name, "a.yaml: name.sl: must be non-empty text"),
        (unknown_language, "a.yaml: items[0].description.fr: unknown language"),
        (unquoted_number_id, "a.yaml: items[0].id: must be a short id"),
        (missing_crosswalk, "a.yaml: crosswalks: missing entry for 'b'"),
        (bad_review_language, "a.yaml: needs_review[1]: unknown language 'xx'"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_broken_file_names_file_and_path(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    write_pair(tmp_path, edit)
    problems = problems_for(tmp_path)
    assert any(p.startswith(expected) for p in problems), problems


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    def break_everything(doc: dict[str, Any]) -> None:
        for edit in (drop_lt, duplicate_id, unknown_key, dangling_item, gap_in_numbers):
            edit(doc)
        del doc["source"]

    write_pair(tmp_path, break_everything)
    write(tmp_path, "c.yaml", framework_doc("b", ["c1"]))
    problems = problems_for(tmp_path)
    expected = [
        "a.yaml: missing key 'source'",
        "a.yaml: items[3].name: missing language 'lt'",
        "a.yaml: items[2].id: duplicate id 'a1'",
        "a.yaml: items[1].colour: unknown key",
        "a.yaml: items[0].maps_to.b[1]: framework 'b' has no item 'b9'",
        "a.yaml: items[3].number: 6 breaks the sequence",
        "c.yaml: id: duplicate framework id 'b' (also in b.yaml)",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    message = str(FrameworkError(problems))
    assert message.startswith(f"{len(problems)} problems in the framework data:")
    assert all(p in message for p in problems)


def test_unreadable_yaml_is_located(tmp_path: Path) -> None:
    write_pair(tmp_path)
    (tmp_path / "c.yaml").write_text("id: c\nname: [unclosed\n", encoding="utf-8")
    (tmp_path / "d.yaml").write_text("", encoding="utf-8")
    problems = problems_for(tmp_path)
    assert any(p.startswith("c.yaml: line ") and "not valid YAML" in p for p in problems)
    assert "d.yaml: is empty" in problems


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    assert "no *.yaml framework files" in problems_for(tmp_path)[0]
    assert "not a directory" in problems_for(tmp_path / "missing")[0]
