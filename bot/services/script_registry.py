"""Published scripts: validated, parsed and given an engine once per version.

The shipped default scripts are published on start; a later release's defaults
replace them only while nobody has published a version of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dialogs import SHIPPED_SCRIPTS
from dialogs.engine import DialogEngine
from dialogs.model import Script
from dialogs.validate import FrameworkIndex, Validation, validate_source
from storage.db import Database
from storage.scripts import ItemLink, ScriptRepo, ScriptVersion


class ScriptNotFound(LookupError):
    """No version of the script is active for the organisation."""


class BrokenScript(RuntimeError):
    """A stored version no longer validates (e.g. a framework item was removed)."""


@dataclass(frozen=True, slots=True)
class LoadedScript:
    version: ScriptVersion | None  # None: a draft an admin is previewing, never stored
    script: Script
    engine: DialogEngine


class FrameworkViews(Protocol):
    """The frameworks each organisation sees (`bot.services.own_frameworks.OwnFrameworks`)."""

    async def of(self, org_id: int | None) -> FrameworkIndex: ...


class ScriptRegistry:
    def __init__(
        self, db: Database, frameworks: FrameworkIndex, views: FrameworkViews | None = None
    ) -> None:
        self.repo = ScriptRepo(db)
        self.frameworks = frameworks  # the shipped ones: what global scripts may map to
        self.views = views
        self._loaded: dict[int, LoadedScript] = {}

    async def index(self, org_id: int | None) -> FrameworkIndex:
        """What a script in this scope may map to: an organisation's variant also its own
        frameworks; a global script the shipped ones only."""
        if org_id is None or self.views is None:
            return self.frameworks
        return await self.views.of(org_id)

    async def ensure_shipped(self, directory: Path = SHIPPED_SCRIPTS) -> list[ScriptVersion]:
        """Publish the shipped scripts that are new or changed and not replaced by an admin."""
        published = []
        for name, text in shipped_texts(directory):
            validation = self.validate(text, name)
            if not validation.ok or validation.script is None:
                raise BrokenScript("; ".join(str(e) for e in validation.errors))
            script = validation.script
            live = await self.repo.active(script.id, None)
            if live is not None and (not live.shipped or live.source_text == text):
                continue
            published.append(await self._publish(script, text, "yaml", None, None, shipped=True))
        return published

    def validate(
        self, text: str | bytes, file: str, frameworks: FrameworkIndex | None = None
    ) -> Validation:
        return validate_source(text, file, frameworks or self.frameworks)

    async def publish(
        self, script: Script, text: str, source_format: str, org_id: int | None, by: int | None
    ) -> ScriptVersion:
        return await self._publish(script, text, source_format, org_id, by)

    async def _publish(
        self,
        script: Script,
        text: str,
        source_format: str,
        org_id: int | None,
        by: int | None,
        *,
        shipped: bool = False,
    ) -> ScriptVersion:
        return await self.repo.publish(
            script.id,
            org_id,
            text,
            source_format,  # type: ignore[arg-type]
            script.title.get("en") or next(iter(script.title.values())),
            by,
            crosswalk(script, await self.index(org_id)),
            shipped=shipped,
        )

    async def active(self, script_id: str, org_id: int | None) -> LoadedScript:
        version = await self.repo.active(script_id, org_id)
        if version is None:
            raise ScriptNotFound(script_id)
        return await self.loaded(version)

    async def by_version_id(self, version_id: int) -> LoadedScript:
        cached = self._loaded.get(version_id)
        if cached is not None:
            return cached
        version = await self.repo.get(version_id)
        if version is None:
            raise ScriptNotFound(f"script version {version_id}")
        return await self.loaded(version)

    async def loaded(self, version: ScriptVersion) -> LoadedScript:
        """The version checked against what its scope may map to, parsed once."""
        cached = self._loaded.get(version.id)
        if cached is not None:
            return cached
        return self.load(version, await self.index(version.org_id))

    def load(
        self, version: ScriptVersion, frameworks: FrameworkIndex | None = None
    ) -> LoadedScript:
        """`loaded` for a caller that has the scope's frameworks (default: the shipped ones)."""
        cached = self._loaded.get(version.id)
        if cached is not None:
            return cached
        validation = self.validate(
            version.source_text, f"{version.script_id}@{version.version}", frameworks
        )
        if validation.script is None:
            raise BrokenScript("; ".join(str(e) for e in validation.errors))
        loaded = LoadedScript(version, validation.script, DialogEngine(validation.script))
        self._loaded[version.id] = loaded
        return loaded


def crosswalk(script: Script, frameworks: FrameworkIndex) -> list[ItemLink]:
    """(question, framework, item) for every mapping, plus what the frameworks' own links add.

    A question mapped to an EQUASS principle is thereby also reported under the
    revised EQUASS sections, unless the script maps it there itself.
    """
    links: list[ItemLink] = []
    for question in script.questions():
        mapping = script.mapping(question)
        for framework, items in mapping.items():
            links += [(question.id, framework, item) for item in items]
        for framework, items in mapping.items():
            for item in items:
                for target, derived in _linked(frameworks, framework, item):
                    if target not in mapping:
                        links += [(question.id, target, d) for d in derived]
    return sorted(set(links))


def shipped_texts(directory: Path) -> list[tuple[str, str]]:
    """(file name, text) of the shipped scripts: a few small files, read at start."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.yaml"))]


def _linked(frameworks: FrameworkIndex, framework: str, item: str) -> list[tuple[str, list[str]]]:
    found = frameworks.item(framework, item)
    maps = getattr(found, "maps_to", None) or {}
    return [(target, list(items)) for target, items in maps.items()]
