"""Script administration: drafts from uploads, change summaries, publishing, versions, downloads.

The Telegram admin handlers and the CLI both go through here, so an upload in
the chat and a file on the command line are read, checked and published the
same way. Who may act is the caller's check (`bot.permissions`, action
"scripts"): every method takes the organisation scope it acts in, `None`
meaning the global script that organisations without their own variant get.

A draft is only ever published whole and valid. What is stored is YAML text:
the upload itself, or for a workbook its YAML form (the workbook's content,
exactly); `source_format` remembers which form the admin used, so a download
can offer it back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

from bot.services.script_registry import BrokenScript, LoadedScript, ScriptRegistry
from dialogs import limits
from dialogs.diff import ChangeSummary, summarise
from dialogs.engine import DialogEngine
from dialogs.export import script_to_yaml
from dialogs.graph import diagrams
from dialogs.model import Script
from dialogs.source import ScriptError, decode
from dialogs.validate import FrameworkIndex, validate_source
from dialogs.workbook_reader import validate_workbook
from dialogs.workbook_writer import write_workbook
from storage.scripts import ScriptVersion

SourceFormat = Literal["yaml", "xlsx"]
MAX_UPLOAD_BYTES = limits.MAX_FILE_BYTES
EXTENSIONS: dict[str, SourceFormat] = {".yaml": "yaml", ".yml": "yaml", ".xlsx": "xlsx"}
MEDIA_TYPES: dict[SourceFormat, str] = {
    "yaml": "application/yaml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_REFUSED_EXTENSIONS = (".xls", ".xlsm", ".ods", ".csv", ".json", ".txt", ".docx", ".pdf")


class InvalidDraft(ValueError):
    """Publishing was refused: the script has errors (each located)."""

    def __init__(self, errors: list[ScriptError] | tuple[ScriptError, ...]) -> None:
        super().__init__("; ".join(str(e) for e in errors) or "the script has errors")
        self.errors = tuple(errors)


class VersionNotFound(LookupError):
    """No such script, or no such version of it in that scope."""


@dataclass(frozen=True)
class Draft:
    """An uploaded script, checked: either `script` and `text`, or `errors`."""

    filename: str
    source_format: SourceFormat
    script: Script | None
    errors: tuple[ScriptError, ...] = ()
    text: str | None = None  # the YAML text that publishing stores

    @property
    def ok(self) -> bool:
        return self.script is not None and self.text is not None and not self.errors

    @property
    def digest(self) -> str:
        """A short fingerprint of the draft, for buttons that must act on this very draft."""
        return hashlib.sha256((self.text or "").encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Published:
    version: ScriptVersion
    created: bool  # False: that text was already live in the scope; nothing new was stored
    summary: ChangeSummary | None = field(default=None)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    media_type: str


def upload_problem(filename: str | None, size: int | None) -> str | None:
    """Why an upload is refused before it is downloaded (its name or declared size), or None."""
    if size is not None and size > MAX_UPLOAD_BYTES:
        return f"the file has {size} bytes; the limit is {MAX_UPLOAD_BYTES}"
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in _REFUSED_EXTENSIONS:
        return f"{suffix} files are not read; send the script as .yaml or as an .xlsx workbook"
    return None


def source_format(data: bytes, filename: str) -> SourceFormat:
    """By the name's extension; a name without a known one is told by the zip signature."""
    known = EXTENSIONS.get(PurePath(filename).suffix.lower())
    if known is not None:
        return known
    return "xlsx" if data.startswith(b"PK\x03\x04") else "yaml"


def read_draft(data: bytes, filename: str, frameworks: FrameworkIndex | None = None) -> Draft:
    """Check an upload completely: size, form, encoding, structure, references. Never raises."""
    name = PurePath(filename).name[:100] or "script"
    refused = upload_problem(name, len(data))
    fmt = source_format(data, name)
    if refused is not None:
        code = "too_big" if len(data) > MAX_UPLOAD_BYTES else "format"
        return Draft(name, fmt, None, (ScriptError(name, None, "", refused, code),))
    if fmt == "xlsx":
        result = validate_workbook(data, name, frameworks)
        if not result.ok or result.script is None:
            return Draft(name, fmt, None, tuple(result.errors))
        text = script_to_yaml(result.script)
        size = len(text.encode("utf-8"))
        if size > limits.MAX_FILE_BYTES:
            # stored as YAML, it must read back under the same limit as a YAML upload
            message = (
                f"the script is {size} bytes as YAML; the limit is {limits.MAX_FILE_BYTES}: "
                "shorten the texts or split the script"
            )
            return Draft(name, fmt, None, (ScriptError(name, None, "", message, "too_big"),))
        return Draft(name, fmt, result.script, (), text)
    decoded, errors = decode(data, name)
    if decoded is None:
        return Draft(name, fmt, None, tuple(errors))
    result = validate_source(decoded, name, frameworks)
    if not result.ok or result.script is None:
        return Draft(name, fmt, None, tuple(result.errors))
    return Draft(name, fmt, result.script, (), decoded)


def preview_engine(draft: Draft) -> DialogEngine:
    """An engine for playing a draft to its admin; its sessions are never stored."""
    if not draft.ok or draft.script is None:
        raise InvalidDraft(draft.errors)
    return DialogEngine(draft.script)


class ScriptAdmin:
    """Upload -> errors or summary -> preview / publish / discard; versions, rollback, download."""

    def __init__(self, registry: ScriptRegistry) -> None:
        self.registry = registry
        self.repo = registry.repo

    def load_draft(
        self, data: bytes, filename: str, frameworks: FrameworkIndex | None = None
    ) -> Draft:
        """Check an upload against `frameworks` (from `frameworks_of` its scope; default:
        the shipped ones, all a global script may map to)."""
        return read_draft(data, filename, frameworks or self.registry.frameworks)

    async def frameworks_of(self, org_id: int | None) -> FrameworkIndex:
        """What a script published in this scope may map to: an organisation's variant,
        also the organisation's own frameworks."""
        return await self.registry.index(org_id)

    async def active(self, script_id: str, org_id: int | None) -> LoadedScript | None:
        """What the organisation's people get now: its own variant, else the global one."""
        version = await self.repo.active(script_id, org_id)
        return None if version is None else await self.registry.loaded(version)

    async def summary(self, draft: Draft, org_id: int | None) -> ChangeSummary:
        """The draft against what the scope's people get now."""
        if draft.script is None:
            raise InvalidDraft(draft.errors)
        try:
            live = await self.active(draft.script.id, org_id)
        except BrokenScript:
            live = None
        return summarise(live.script if live else None, draft.script)

    async def publish(
        self, draft: Draft, org_id: int | None, by_person_id: int | None
    ) -> Published:
        """Make a valid draft the live version in the scope; sessions under way keep theirs."""
        if not draft.ok or draft.script is None or draft.text is None:
            raise InvalidDraft(draft.errors)
        summary = await self.summary(draft, org_id)
        before = await self.repo.active(draft.script.id, org_id)
        if (
            before is not None
            and before.org_id == org_id
            and await self._same(before, draft.script)
        ):
            return Published(before, False, summary)  # nothing would change for anyone
        version = await self.registry.publish(
            draft.script, draft.text, draft.source_format, org_id, by_person_id
        )
        return Published(version, before is None or before.id != version.id, summary)

    async def _same(self, version: ScriptVersion, script: Script) -> bool:
        try:
            return (await self.registry.loaded(version)).script == script
        except BrokenScript:
            return False

    async def rollback(
        self, script_id: str, org_id: int | None, to_version: int, by_person_id: int | None
    ) -> Published:
        """Publish an earlier version's text again, as a new version: history stays linear."""
        old = await self.version(script_id, org_id, to_version)
        checked = self.registry.validate(
            old.source_text, f"{script_id}@{to_version}", await self.registry.index(org_id)
        )
        if not checked.ok or checked.script is None:
            raise InvalidDraft(checked.errors)  # e.g. a framework item it names is gone
        before = await self.repo.active(script_id, org_id)
        try:
            live = await self.registry.loaded(before) if before is not None else None
        except BrokenScript:
            live = None
        summary = summarise(live.script if live else None, checked.script)
        version = await self.repo.rollback(script_id, org_id, to_version, by_person_id)
        return Published(version, before is None or before.id != version.id, summary)

    async def scripts(self) -> list[ScriptVersion]:
        """Every live version, global and per organisation, by script id."""
        return await self.repo.list_active()

    async def versions(self, script_id: str, org_id: int | None) -> list[ScriptVersion]:
        """Every version in exactly this scope, oldest first."""
        return await self.repo.versions(script_id, org_id)

    async def version(
        self, script_id: str, org_id: int | None, number: int | None = None
    ) -> ScriptVersion:
        """Version `number` in the scope, or (None) the one live for the scope's people."""
        if number is None:
            found = await self.repo.active(script_id, org_id)
        else:
            found = next(
                (v for v in await self.repo.versions(script_id, org_id) if v.version == number),
                None,
            )
        if found is None:
            scope = "global" if org_id is None else f"organisation {org_id}"
            what = "no live version" if number is None else f"no version {number}"
            raise VersionNotFound(f"script {script_id!r} has {what} ({scope})")
        return found

    async def export(
        self,
        script_id: str,
        org_id: int | None,
        fmt: SourceFormat,
        number: int | None = None,
    ) -> ExportFile:
        """A version as a file: YAML is the stored text itself, a workbook is written from it."""
        version = await self.version(script_id, org_id, number)
        scope = "" if version.org_id is None else f"-org{version.org_id}"
        name = f"{version.script_id}{scope}-v{version.version}.{fmt}"
        if fmt == "yaml":
            data = version.source_text.encode("utf-8")
        else:
            data = write_workbook((await self.registry.loaded(version)).script)
        return ExportFile(name, data, MEDIA_TYPES[fmt])

    async def graph(self, script_id: str, org_id: int | None, number: int | None = None) -> str:
        """Mermaid diagrams of the version's state machine and question flow."""
        version = await self.version(script_id, org_id, number)
        return diagrams((await self.registry.loaded(version)).script)
