"""A throwaway PostgreSQL cluster for the tests: real server, no mock.

One cluster per test process (each pytest-xdist worker has its own), made with
Debian's `initdb` in a temporary directory and reached only through a Unix
socket in that directory. As root (CI), the files belong to the `postgres`
system user and the server runs as it (`runuser`): PostgreSQL refuses to run as
root. A migrated template database is made once; each test gets a fresh copy
(`CREATE DATABASE … TEMPLATE`, a file copy) and drops it afterwards.

`CARECHECK_TEST_BACKEND=postgresql` makes the Telegram scenario tests
(tests/harness.py) run on such a database instead of a SQLite file.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storage import migrate
from storage.connection import PgConnection

BACKEND_VARIABLE = "CARECHECK_TEST_BACKEND"
_TEMPLATE = "carecheck_template"
_SUPERUSER = "postgres"


def scenario_backend() -> str:
    """The backend the scenario tests run on: sqlite (default) or postgresql."""
    backend = os.environ.get(BACKEND_VARIABLE, "sqlite")
    if backend not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"{BACKEND_VARIABLE} is sqlite or postgresql, not {backend!r}")
    return backend


def _server_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not found:
        raise RuntimeError(
            "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb); "
            "bash .ci/debian-packages installs it"
        )
    return found[0].parent


class Cluster:
    """A running server and the fresh databases made on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root
        self.bin = _server_bin()
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgresql://{_SUPERUSER}@/{database}?host={self.socket_dir}"

    def _run(self, *command: str) -> None:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self._as_root:
            argv = ["runuser", "-u", _SUPERUSER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout}")

    def start(self) -> None:
        if self._as_root:
            account = pwd.getpwnam(_SUPERUSER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", _SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        # Only the socket in our directory; durability off, it is thrown away anyway.
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=60"
        )
        self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data),
            "-l", str(self.root / "server.log"), "-o", options,
        )  # fmt: skip
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {_TEMPLATE}")
        conn = PgConnection.connect(self.url(_TEMPLATE))
        try:
            migrate.apply_pg(conn, migrate.bundled("postgresql"))
        finally:
            conn.close()

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")

    def new_database(self) -> str:
        """A fresh, migrated database of its own; its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE} STRATEGY FILE_COPY")
        return name

    def empty_database(self) -> str:
        """A database without carecheck's schema: for tests of the migrations themselves."""
        name = f"empty_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return name

    def drop(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A server in a temporary directory, stopped and removed afterwards (tests, benches)."""
    root = Path(tempfile.mkdtemp(prefix="ccpg-"))
    root.chmod(0o755)  # the postgres user, when we are root, must reach the socket
    cluster = Cluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):  # never started
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """This test process's PostgreSQL server, started on first use."""
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    name = pg_cluster.new_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a storage test's database lives: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "carecheck.db")
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop(name)
