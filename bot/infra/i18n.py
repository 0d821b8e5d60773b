"""Translations: gettext catalogues per language, with CLDR plural rules.

The `.po` files are the source of truth and are compiled in memory on first
use, so there is no build step to forget. English msgids are the keys.
Entries translated without a native speaker carry the translator comment
`needs-review`; they are used, and listed by `review_pending()`.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: tuple[str, ...] = ("en", "sl", "de", "cs", "lt")
DEFAULT_LANGUAGE = "en"
# Each language by its own name, as a person looking for theirs would recognise it.
LANGUAGE_NAMES = {
    "en": "English",
    "sl": "Slovenščina",
    "de": "Deutsch",
    "cs": "Čeština",
    "lt": "Lietuvių",
}
DOMAIN = "carecheck"
LOCALE_DIR = Path(__file__).with_name("locales")
REVIEW_MARK = "needs-review"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def pick_language(code: str | None) -> str | None:
    """One of ours from a Telegram `language_code` like 'sl' or 'de-AT', else None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


class Translator:
    """Text in one language; `{name}` placeholders are filled from keyword arguments."""

    def __init__(self, language: str, translations: Translations) -> None:
        self.language = language
        self._t = translations

    def __call__(self, message: str, /, **params: object) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        return self._t.ngettext(singular, plural, n).format(n=n, **params)


@cache
def translator(language: str | None) -> Translator:
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translator(language, Translations(buffer, domain=DOMAIN))


def review_pending(language: str) -> list[str]:
    """The msgids of a catalogue still marked for native-speaker review."""
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    return [
        str(m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and any(REVIEW_MARK in c for c in m.user_comments)
    ]


def _(message: str) -> str:
    """Marks a msgid for extraction where it is defined but translated later."""
    return message
