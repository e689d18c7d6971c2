"""A minimal Alembic project written into a temp dir, for tests that change migrations."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from toolkit.engines import get_engine
from toolkit.settings import Settings

if TYPE_CHECKING:
    import psycopg

ENV_PY = '''
from pathlib import Path
from alembic import context
from sqlalchemy import create_engine, pool

# one line per run of the migrations, so tests can count how many processes migrated
with open(Path(__file__).parent.parent / "runs.log", "a") as log:
    log.write("run\\n")
config = context.config
connection = config.attributes.get("connection")
if connection is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    connection = engine.connect()
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
'''

REVISION = '''
from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
{body}
'''

DEFAULT_REVISIONS = [
    "CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
    "REFERENCES parent (id))",
    "INSERT INTO parent (id, name) VALUES (1, 'seed')",
]


def write_project(root: Path, revisions: list[str] | None = None) -> Path:
    """An Alembic project at ``root``: alembic.ini, env.py and one revision per SQL string."""
    (root / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "pyproject.toml").write_text("[project]\nname = 'sample'\n")
    for sql in revisions if revisions is not None else DEFAULT_REVISIONS:
        add_revision(root, sql)
    return root


def add_revision(root: Path, sql: str) -> str:
    versions = root / "migrations" / "versions"
    existing = sorted(p.stem for p in versions.glob("r*.py"))
    rev = f"r{len(existing) + 1:03d}"
    body = textwrap.indent(f"op.execute({sql!r})", "    ")
    (versions / f"{rev}.py").write_text(
        REVISION.format(rev=rev, down=existing[-1] if existing else None, body=body))
    return rev


def migration_runs(root: Path) -> int:
    log = root / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def settings_for(root: Path, url: str, **extra: object) -> Settings:
    """Settings isolated from this machine's environment, with a prefix of their own so tests
    sharing a server never see each other's databases."""
    return Settings.load(project_dir=root, environ={}, database_url=url,
                         prefix=f"t{secrets.token_hex(3)}_", **extra)


def run_toolkit(settings: Settings, *args: str, check: bool = True
                ) -> subprocess.CompletedProcess[str]:
    """The ``toolkit`` command in another process, configured through the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env.update(TOOLKIT_DATABASE_URL=settings.database_url, TOOLKIT_PREFIX=settings.prefix,
               TOOLKIT_CLONE_WAIT_S=str(settings.clone_wait_s))
    result = subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=settings.project_dir,
                            env=env, capture_output=True, text=True)
    if check and result.returncode:
        raise AssertionError(f"toolkit {' '.join(args)} failed: {result.stderr}")
    return result


# what the machine's environment must not tell a toolkit run under test: its settings, and the
# parallel-node variables of a CI the suite itself may be running in
HOST_ONLY = ("TOOLKIT_", "CI_", "CIRCLE_", "BUILDKITE_", "SEMAPHORE_", "SYSTEM_JOBPOSITIONINPHASE",
             "SYSTEM_TOTALJOBSINPHASE", "JOB_COMPLETION_INDEX")


def hook_env() -> dict[str, str]:
    """The environment of a git push from a user's shell: none of this machine's toolkit, git
    or nox variables, and this interpreter's tools on PATH (the hook runs the interpreter it
    was installed with)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOOLKIT_", "GIT_", "NOX_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This machine's environment without what it must not tell a run under test
    (HOST_ONLY), plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(HOST_ONLY)}
    return {**base, **(extra or {})}


def toolkit_cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
                prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """The ``toolkit`` command in ``cwd`` (behind ``prefix``, e.g. unshare), configured only by
    ``env`` and the project's own files."""
    return subprocess.run([*(prefix or []), sys.executable, "-m", "toolkit", *args], cwd=cwd,
                          env=clean_env(env), capture_output=True, text=True)


def create_foreign(settings: Settings, name: str) -> None:
    """A database under toolkit's prefix that toolkit did not create."""
    url = get_engine(settings).database_url(name)
    if settings.database_url.startswith("sqlite"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        sa.create_engine(url).connect().close()
        return
    engine = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        quoted = engine.dialect.identifier_preparer.quote(name)
        conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    engine.dispose()


def refs_project(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """A project at ``root`` whose reference tests (tests/queries) are ``files`` (.sh ones
    executable)."""
    queries = root / "tests" / "queries"
    queries.mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    for name, text in files.items():
        path = queries / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    return root


def plugin_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, url: str,
                   prefix: str | None = None, revisions: list[str] | None = None
                   ) -> pytest.Pytester:
    """pytester's directory as a small Alembic project (``revisions``, else the default ones)
    whose pytest runs see only TOOLKIT_DATABASE_URL (and TOOLKIT_PREFIX) of this machine's
    toolkit settings."""
    write_project(pytester.path, revisions)
    for name in [k for k in os.environ if k.startswith("TOOLKIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TOOLKIT_DATABASE_URL", url)
    if prefix:
        monkeypatch.setenv("TOOLKIT_PREFIX", prefix)
    return pytester


@contextmanager
def pg_database(url: str, suffix: str) -> Iterator[tuple[str, psycopg.Connection]]:
    """A database of the test's own on the PostgreSQL server at ``url`` (not toolkit's: no
    marker), with a session on it; dropped afterwards."""
    import psycopg
    from psycopg import sql

    from toolkit import urls
    from toolkit.engines.postgresql import connect_kwargs

    server = urls.parse(url)
    name = f"t{secrets.token_hex(4)}_{suffix}"
    with psycopg.connect(**connect_kwargs(server)) as admin:  # type: ignore[arg-type]
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            with psycopg.connect(**connect_kwargs(server, name)) as conn:  # type: ignore[arg-type]
                yield name, conn
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
