"""Organisations' own frameworks: reading an upload, publishing versions, and what each one sees.

An upload is a framework when its YAML has a top-level `framework:` key or its
workbook a `framework` sheet; a script has neither. It is read with the same safe
readers as scripts (size, encoding, YAML anchors, zip bombs, formulas) and checked
by `frameworks.own_framework`, every error located. Each publish stores a new
version; the newest is live, older ones stay.

`of(org_id)` is the one place that says which frameworks an organisation sees: the
shipped ones and its own live ones, never another organisation's. Script validation
for its variant, the crosswalk captured at publish, its lens and its digest all read
that view.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath

from bot.services.organisations import Organisations
from dialogs import limits
from dialogs.framework_workbook import FRAMEWORK as FRAMEWORK_SHEET
from dialogs.framework_workbook import (
    read_framework_workbook,
    sheet_names,
    write_framework_workbook,
)
from dialogs.source import (
    LineMap,
    ScriptError,
    decode,
    format_path,
    load_yaml,
    location_key,
)
from frameworks import (
    Framework,
    Frameworks,
    check_own_framework,
    is_framework_document,
    own_framework_yaml,
)
from storage.db import Database
from storage.framework_versions import FrameworkVersion, OwnFrameworkRepo, SourceFormat
from storage.scripts import ScriptRepo

log = logging.getLogger(__name__)

# A YAML framework says so on its first level; found in the text, so a broken file is
# still told apart from a script and gets the framework's errors.
_FRAMEWORK_KEY = re.compile(rb"^framework[ \t]*:", re.MULTILINE)
_SCRIPT_KEY = re.compile(rb"^(?:id|sections|audience)[ \t]*:", re.MULTILINE)
SCRIPT_SHEETS = frozenset({"settings", "survey"})
NEITHER = (
    "this file is neither a script (YAML keys id, audience and sections, or workbook "
    "sheets settings and survey) nor an own framework (a YAML key framework:, or "
    "workbook sheets framework and items)"
)


class FrameworkNotFound(LookupError):
    """The organisation has no such framework, or no such version of it."""


class FrameworkRefused(ValueError):
    """Not published: the draft has errors, or it drops items the organisation's live
    questions map to; `errors` says which, located."""

    def __init__(self, errors: list[ScriptError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = tuple(errors)


@dataclass(frozen=True)
class FrameworkDraft:
    """An uploaded framework, checked: either `framework` and `text`, or `errors`."""

    filename: str
    source_format: SourceFormat
    framework: Framework | None
    errors: tuple[ScriptError, ...] = ()
    text: str | None = None  # the YAML text that publishing stores
    languages: tuple[str, ...] = ()  # those the organisation wrote, in its order

    @property
    def ok(self) -> bool:
        return self.framework is not None and self.text is not None and not self.errors

    def workbook(self) -> bytes:
        """The framework in its workbook form: sheets `framework` and `items`."""
        if self.framework is None:
            raise ValueError("a framework with errors has no workbook form")
        return write_framework_workbook(self.framework, self.languages)

    @property
    def digest(self) -> str:
        """A short fingerprint, for buttons that must act on this very draft."""
        return hashlib.sha256((self.text or "").encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class FrameworkChange:
    """A draft against the organisation's live version of the same framework."""

    live_version: int | None  # None: a framework new to the organisation
    added: tuple[str, ...]
    removed: tuple[str, ...]
    renamed: tuple[str, ...]  # items whose name changed in some language


@dataclass(frozen=True)
class PublishedFramework:
    version: FrameworkVersion
    created: bool  # False: that text was already live; nothing new was stored


def upload_kind(data: bytes, filename: str) -> str:
    """ "framework", "script" or "neither", from the YAML's first-level keys or the sheets."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"PK\x03\x04"):
        sheets = sheet_names(data)
        if FRAMEWORK_SHEET in sheets:
            return "framework"
        if sheets & SCRIPT_SHEETS or (not sheets and suffix == ".xlsx"):
            return "script"  # a damaged workbook: the script reader says what is wrong
        return "neither"
    text = data.removeprefix(b"\xef\xbb\xbf")
    if _FRAMEWORK_KEY.search(text):
        return "framework"
    if _SCRIPT_KEY.search(text) or suffix in (".xlsx", ".xls", ".xlsm"):
        return "script"
    if decode(data, filename)[0] is None:
        return "script"  # not text at all: the script reader says why (size, encoding)
    return "neither"


def neither(filename: str) -> ScriptError:
    return ScriptError(PurePath(filename).name[:100] or "upload", None, "", NEITHER, "kind")


def read_framework(data: bytes, filename: str) -> FrameworkDraft:
    """Check a framework upload completely; never raises."""
    name = PurePath(filename).name[:100] or "framework"
    fmt: SourceFormat = "xlsx" if data.startswith(b"PK\x03\x04") else "yaml"
    if len(data) > limits.MAX_FILE_BYTES:
        message = f"the file has {len(data)} bytes; the limit is {limits.MAX_FILE_BYTES}"
        return FrameworkDraft(name, fmt, None, (ScriptError(name, None, "", message, "too_big"),))
    if fmt == "xlsx":
        document, lines, errors = read_framework_workbook(data, name)
    else:
        document, lines, errors = load_yaml(data, name)
    if document is None:
        return FrameworkDraft(name, fmt, None, tuple(errors))
    if not is_framework_document(document):
        where = lines.line(())
        message = "an own framework is a mapping with one key, framework:"
        errors = [*errors, ScriptError(name, where, "", message)]
        return FrameworkDraft(name, fmt, None, tuple(errors))
    check = check_own_framework(document)
    errors = sorted(
        [*errors, *(_located(name, lines, path, message) for path, message in check.problems)],
        key=lambda e: (location_key(e.line), e.path),
    )
    if errors or check.framework is None:
        return FrameworkDraft(name, fmt, None, tuple(dict.fromkeys(errors)))
    if fmt == "yaml":
        text = data.decode("utf-8-sig")
    else:
        text = own_framework_yaml(check.framework, check.languages)
    return FrameworkDraft(name, fmt, check.framework, (), text, check.languages)


def _located(file: str, lines: LineMap, path: tuple[str | int, ...], message: str) -> ScriptError:
    return ScriptError(file, lines.line(path), format_path(path), message)


class OwnFrameworks:
    """Publish, list and show an organisation's own frameworks; the frameworks it sees."""

    def __init__(self, db: Database, shipped: Frameworks) -> None:
        self.db = db
        self.repo = OwnFrameworkRepo(db)
        self.scripts = ScriptRepo(db)
        self.shipped = shipped
        self._parsed: dict[int, Framework] = {}

    def framework(self, version: FrameworkVersion) -> Framework:
        """A stored version as a framework, parsed once per version."""
        found = self._parsed.get(version.id)
        if found is None:
            draft = read_framework(version.source_text.encode("utf-8"), version.framework_id)
            if draft.framework is None:
                raise FrameworkNotFound(
                    f"{version.framework_id} version {version.version} no longer validates: "
                    + "; ".join(str(e) for e in draft.errors)
                )
            found = self._parsed[version.id] = draft.framework
        return found

    async def of(self, org_id: int | None) -> Frameworks:
        """The frameworks an organisation sees: the shipped ones and its own live ones.

        `None` (the global scope) sees the shipped ones only.
        """
        if org_id is None:
            return self.shipped
        own = []
        for version in await self.repo.live(org_id):
            try:
                own.append(self.framework(version))
            except FrameworkNotFound:
                # Checked when published; a later release's stricter rules must not take
                # the organisation's shipped lenses and digests down with it.
                log.warning("organisation %s: %s", org_id, version.framework_id, exc_info=True)
        if not own:
            return self.shipped
        return Frameworks([*self.shipped, *own])

    async def ids(self, org_id: int) -> list[str]:
        """The ids of the organisation's own frameworks, live ones only."""
        return [v.framework_id for v in await self.repo.live(org_id)]

    async def live(self, org_id: int) -> list[FrameworkVersion]:
        return await self.repo.live(org_id)

    async def versions(self, org_id: int, framework_id: str) -> list[FrameworkVersion]:
        found = await self.repo.versions(org_id, framework_id)
        if not found:
            raise FrameworkNotFound(f"organisation {org_id} has no framework {framework_id!r}")
        return found

    async def version(
        self, org_id: int, framework_id: str, number: int | None = None
    ) -> FrameworkVersion:
        """Version `number`, or (None) the live one."""
        versions = await self.versions(org_id, framework_id)
        if number is None:
            return versions[-1]
        found = next((v for v in versions if v.version == number), None)
        if found is None:
            raise FrameworkNotFound(f"{framework_id} has no version {number}")
        return found

    async def publish(
        self, draft: FrameworkDraft, org_id: int, by_person_id: int | None
    ) -> PublishedFramework:
        """Make a valid draft the organisation's live version of that framework.

        Refused (FrameworkRefused) when it drops an item that a question of the
        organisation's live script variants maps to: those would stop validating.
        """
        if not draft.ok or draft.framework is None or draft.text is None:
            raise FrameworkRefused(list(draft.errors))
        framework = draft.framework
        dropped = await self._dropped_in_use(org_id, framework)
        if dropped:
            raise FrameworkRefused(
                [
                    ScriptError(
                        draft.filename,
                        None,
                        "",
                        f"item {item!r} is gone, but {script} question {question} maps to it; "
                        "map that question elsewhere first",
                        "in_use",
                    )
                    for script, question, item in dropped
                ]
            )
        version, created = await self.repo.publish(
            org_id,
            framework.id,
            draft.text,
            draft.source_format,
            framework.name("en"),
            by_person_id,
        )
        return PublishedFramework(version, created)

    async def review(
        self, data: bytes, filename: str, org_id: int
    ) -> tuple[FrameworkDraft, FrameworkChange | None]:
        """An upload checked, and (when valid) what publishing it would change."""
        draft = read_framework(data, filename)
        return draft, await self.change(draft, org_id) if draft.ok else None

    async def change(self, draft: FrameworkDraft, org_id: int) -> FrameworkChange:
        """What publishing the draft would change for the organisation."""
        if draft.framework is None:
            raise FrameworkRefused(list(draft.errors))
        new = draft.framework
        live = next((v for v in await self.repo.live(org_id) if v.framework_id == new.id), None)
        if live is None:
            return FrameworkChange(None, tuple(new.items), (), ())
        old = self.framework(live)
        return FrameworkChange(
            live.version,
            tuple(i for i in new.items if i not in old.items),
            tuple(i for i in old.items if i not in new.items),
            tuple(
                i
                for i, item in new.items.items()
                if i in old.items and dict(old.items[i].names) != dict(item.names)
            ),
        )

    async def choose_lens(self, org_id: int, framework_id: str) -> bool:
        """Make one of the organisation's lens choices its digest lens; False if it may not
        choose it (another organisation's framework, or none of that id)."""
        organisations = Organisations(self.db)
        if framework_id not in await organisations.lens_choices(org_id):
            return False
        await organisations.orgs.update_settings(org_id, lens=framework_id)
        return True

    async def _dropped_in_use(
        self, org_id: int, framework: Framework
    ) -> list[tuple[str, str, str]]:
        used: list[tuple[str, str, str]] = []
        for live in await self.scripts.list_active():
            if live.org_id != org_id:
                continue
            for question, target, item in await self.scripts.items(live.id):
                if target == framework.id and item not in framework.items:
                    used.append((live.script_id, question, item))
        return used
