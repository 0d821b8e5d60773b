"""The architecture as the code has it: who may import whom, and one name per module.

Read from each file's imports (no module is run), so ARCHITECTURE.md's table of
layers cannot drift from the code without this failing.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogs", "frameworks", "storage")

# Each layer and the packages of ours it may import (a package covers its sub-packages).
MAY_IMPORT = {
    "frameworks": ("frameworks",),
    "dialogs": ("dialogs", "frameworks"),
    "storage": ("storage",),
    "bot.infra": ("bot.infra",),
    "bot.services": ("bot.services", "bot.infra", "dialogs", "storage", "frameworks"),
    "bot.telegram": ("bot.telegram", "bot.services", "bot.infra", "dialogs", "storage"),
    # `carecheck run` starts the Telegram adapter: the command line is the program's door.
    "bot.cli": (
        "bot.cli",
        "bot.telegram",
        "bot.services",
        "bot.infra",
        "dialogs",
        "storage",
        "frameworks",
    ),
    "bot": ("bot.cli",),  # bot/__main__.py
}
# Third-party packages a layer must never touch: the engine is pure, the services know
# no Telegram, and storage is the only place with a database driver.
NEVER = {
    "dialogs": ("telegram", "aiosqlite", "sqlite3", "psycopg", "aiohttp"),
    "frameworks": ("telegram", "aiosqlite", "sqlite3", "psycopg"),
    "storage": ("telegram",),
    "bot.services": ("telegram", "aiosqlite", "sqlite3", "psycopg"),
    "bot.telegram": ("aiosqlite", "sqlite3", "psycopg"),
    "bot.cli": ("aiosqlite", "psycopg"),
}
ADAPTERS = ("bot.telegram", "bot.cli")


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((name.removesuffix(".__init__"), path))
    return found


def layer(module: str) -> str:
    return max(
        (key for key in MAY_IMPORT if module == key or module.startswith(key + ".")), key=len
    )


def imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return found


def ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda value: str(value))
def test_imports_point_one_way(module: str, path: Path) -> None:
    own = layer(module)
    for imported, names in imports(path):
        top = imported.split(".")[0]
        assert top not in NEVER.get(own, ()), f"{module} imports {imported}"
        if not ours(imported):
            continue
        assert within(imported, MAY_IMPORT[own]), f"{module} ({own}) imports {imported}"
        if own in ADAPTERS and top == "storage":
            # An adapter may name storage's value types and errors, never a repository
            # or the database: what touches data goes through a service.
            touching = [n for n in names if n.endswith("Repo") or n == "Database"]
            assert touching == [], f"{module} uses {touching} from {imported}"


def test_no_two_modules_share_a_name() -> None:
    files = [
        path.name
        for folder in (*PACKAGES, "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    ]
    assert files, "no modules found"
    assert [name for name, count in Counter(files).items() if count > 1] == []


def test_the_layer_table_knows_every_package() -> None:
    packages = {layer(module) for module, _ in modules()}
    assert packages == set(MAY_IMPORT), "add the new package to MAY_IMPORT and ARCHITECTURE.md"
