"""Catalogues: every msgid of the code in every language, placeholders, plurals, review marks."""

from __future__ import annotations

import ast
import gettext
import io
import re
import textwrap
from functools import cache
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.infra import i18n
from bot.infra.i18n import (
    LANGUAGES,
    REVIEW_MARK,
    catalogue_path,
    pick_language,
    review_pending,
    translator,
)

BOT = Path(i18n.__file__).parent.parent
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")
KEYWORDS = {"_": None, "t": None, "plural": (1, 2)}
# gettext plural form index -> CLDR category, for whole numbers.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "en": ("one", "other"),
    "de": ("one", "other"),
    "sl": ("one", "two", "few", "other"),
    "cs": ("one", "few", "other"),
    "lt": ("one", "few", "other"),
}
COUNTS = (1, 2, 3, 5, 21, 101, 102)
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
TEMPLATE_CALL = re.compile(r"""\bt\(\s*(["'])(.+?)\1""")

MsgId = str | tuple[str, str]


@cache
def code_msgids() -> frozenset[MsgId]:
    """What pybabel extracts from bot/: plural msgids as (singular, plural)."""
    found: set[MsgId] = set()
    for _path, _line, message, _comments, _context in extract_from_dir(
        str(BOT), keywords=KEYWORDS, comment_tags=()
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return frozenset(found)


def singular(msgid: MsgId) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def plural_msgids() -> list[tuple[str, str]]:
    return sorted(m for m in code_msgids() if isinstance(m, tuple))


@cache
def catalogue(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as po:
        return read_po(po, locale=lang)


def forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, list | tuple) else (message.string,)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def literal_call_msgids() -> dict[str, str]:
    """First string arguments of _(), t(), self.t(), .plural() and translator(...)(), by place."""

    def translates(func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in {"_", "t"}
        if isinstance(func, ast.Attribute):
            return func.attr in {"t", "plural"}
        if isinstance(func, ast.Call):
            return isinstance(func.func, ast.Name) and func.func.id == "translator"
        return False

    found: dict[str, str] = {}
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and node.args and translates(node.func):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found[first.value] = f"{path.relative_to(BOT.parent)}:{node.lineno}"
    return found


def template_msgids() -> set[str]:
    return {
        match[1]
        for path in BOT.rglob("*.j2")
        for match in TEMPLATE_CALL.findall(path.read_text("utf-8"))
    }


def test_the_code_has_msgids() -> None:
    assert len(code_msgids()) > 50
    assert "Yes" in code_msgids()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_of_the_code_is_in_the_catalogue(lang: str) -> None:
    catalog = catalogue(lang)
    missing = sorted(singular(m) for m in code_msgids() if catalog.get(m) is None)
    assert not missing, f"run pybabel extract and update; missing in {lang}: {missing}"
    wrong_kind = sorted(
        singular(m)
        for m in code_msgids()
        if catalog[m].pluralizable != isinstance(m, tuple)
        or (isinstance(m, tuple) and catalog[m].id[1] != m[1])
    )
    assert not wrong_kind


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_of_the_code_is_translated(lang: str) -> None:
    catalog = catalogue(lang)
    untranslated = sorted(
        singular(m)
        for m in code_msgids()
        if (message := catalog.get(m)) is not None and not all(forms(message))
    )
    assert not untranslated, f"untranslated in {lang}: {untranslated}"


def test_english_falls_back_to_the_msgids() -> None:
    t = translator("en")
    for msgid in code_msgids():
        if isinstance(msgid, str):
            assert t(msgid) == msgid
    assert all(not any(forms(m)) for m in catalogue("en") if m.id)


def test_every_literal_msgid_in_a_call_is_extracted() -> None:
    """pybabel skips msgids inside f-strings, in parentheses or in translator(lang)(...)."""
    extracted = {singular(m) for m in code_msgids()}
    unseen = {
        msgid: place for msgid, place in literal_call_msgids().items() if msgid not in extracted
    }
    assert not unseen, f"msgids pybabel does not extract: {unseen}"


def test_template_msgids_are_marked_for_extraction() -> None:
    used = template_msgids()
    assert used, "no t(...) calls found in the templates"
    unmarked = sorted(used - {singular(m) for m in code_msgids()})
    assert not unmarked, f"add to bot/services/digests/digest_phrases.py: {unmarked}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders(lang: str) -> None:
    wrong = []
    for message in catalogue(lang):
        if not message.id:
            continue
        expected = placeholders(message.id[-1] if message.pluralizable else message.id)
        for text in forms(message):
            if not text:
                continue
            found = placeholders(text)
            try:
                text.format(**{name: "x" for name in found})
            except (ValueError, IndexError, KeyError) as error:
                wrong.append((message.id, text, repr(error)))
                continue
            if found != expected:
                wrong.append((message.id, text, found))
    assert not wrong


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_forms_header_matches_cldr(lang: str) -> None:
    catalog = catalogue(lang)
    assert catalog.num_plurals == len(CATEGORIES[lang])
    rule = gettext.c2py(catalog.plural_expr)
    category = Locale.parse(lang).plural_form
    wrong = [n for n in range(1001) if rule(n) != CATEGORIES[lang].index(category(n))]
    assert not wrong, f"{lang} Plural-Forms disagrees with CLDR for {wrong[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_picks_the_form_for_the_count(lang: str) -> None:
    if not plural_msgids():
        pytest.skip("no plural msgid in the code")
    t = translator(lang)
    category = Locale.parse(lang).plural_form
    for one, many in plural_msgids():
        message = catalogue(lang).get(one)
        if message is None:
            continue
        texts = forms(message) if lang != "en" else (one, many)
        assert len(texts) == len(CATEGORIES[lang])
        for n in COUNTS:
            expected = texts[CATEGORIES[lang].index(category(n))].format(n=n)
            assert t.plural(one, many, n) == expected, (one, n)


def test_plural_forms_differ_where_the_language_needs_it() -> None:
    if not plural_msgids():
        pytest.skip("no plural msgid in the code")
    one, many = plural_msgids()[0]
    texts = {lang: {translator(lang).plural(one, many, n) for n in COUNTS} for lang in LANGUAGES}
    assert len(texts["sl"]) >= 4
    assert len(texts["cs"]) >= 3
    assert len(texts["lt"]) >= 3


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_compiles(lang: str) -> None:
    catalog = catalogue(lang)
    assert str(catalog.locale) == lang
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems
    assert not [m.id for m in catalog if m.id and m.fuzzy]
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    if lang != "en":
        assert compiled.gettext("Yes") == catalog["Yes"].string


@pytest.mark.parametrize("lang", LANGUAGES)
def test_review_pending_lists_every_marked_entry(lang: str) -> None:
    blocks = catalogue_path(lang).read_text("utf-8").split("\n\n")
    marked = [
        block
        for block in blocks
        if re.search(rf"^# {REVIEW_MARK}$", block, re.MULTILINE)
        and re.search(r'^msgid "', block, re.MULTILINE)
    ]
    pending = review_pending(lang)
    assert len(pending) == len(marked)
    assert len(set(pending)) == len(pending)
    if lang == "en":
        assert pending == []


def test_review_pending_reads_translator_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    po = tmp_path / "sl" / "LC_MESSAGES" / "carecheck.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        textwrap.dedent(
            """\
            msgid ""
            msgstr ""
            "Language: sl\\n"
            "Plural-Forms: nplurals=4; plural=(n%100==1 ? 0 : n%100==2 ? 1 : "
            "n%100==3 || n%100==4 ? 2 : 3);\\n"
            "Content-Type: text/plain; charset=utf-8\\n"

            # needs-review
            msgid "Yes"
            msgstr "Da"

            msgid "No"
            msgstr "Ne"

            #. needs-review
            msgid "Not sure"
            msgstr "Ne vem"

            # needs-review
            #, python-brace-format
            msgid "{n} answer"
            msgid_plural "{n} answers"
            msgstr[0] "{n} odgovor"
            msgstr[1] "{n} odgovora"
            msgstr[2] "{n} odgovori"
            msgstr[3] "{n} odgovorov"
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert review_pending("sl") == ["Yes", "{n} answer"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("sl", "sl"),
        ("de-AT", "de"),
        ("pt-BR", None),
        ("", None),
        (None, None),
        ("en-GB", "en"),
        ("cs_CZ", "cs"),
        ("LT", "lt"),
        ("pt", None),
    ],
)
def test_pick_language(code: str | None, expected: str | None) -> None:
    assert pick_language(code) == expected


def test_unknown_languages_fall_back_to_english() -> None:
    assert translator(None).language == "en"
    assert translator("pt").language == "en"
    assert translator("pt")("Yes") == "Yes"
