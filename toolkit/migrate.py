"""Alembic through its API: fingerprint the history and upgrade a database to head."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from toolkit.errors import ConfigError, MigrationError
from toolkit.settings import Settings

log = logging.getLogger("toolkit")
TEMPLATE_FORMAT = "1"  # bump when the way toolkit builds templates changes


def alembic_config(settings: Settings) -> Config:
    ini = settings.path(settings.alembic_ini)
    if not ini.is_file():
        raise ConfigError("alembic_ini", f"no Alembic config at {ini} (checked setting alembic_ini; "
                          "set TOOLKIT_ALEMBIC_INI or --alembic-ini to your alembic.ini)")
    config = Config(str(ini))
    if not config.get_main_option("script_location"):
        raise ConfigError("alembic_ini", f"{ini} has no script_location in its [alembic] section")
    return config


def script_directory(settings: Settings) -> ScriptDirectory:
    try:
        return ScriptDirectory.from_config(alembic_config(settings))
    except CommandError as exc:
        raise ConfigError("alembic_ini", f"{settings.path(settings.alembic_ini)}: {exc}") from exc


def fingerprint(settings: Settings, server_version: str) -> tuple[str, str]:
    """(fingerprint, lineage): the hash of everything that decides the template's content, and
    the history's root revision(s), which stay the same as migrations are added."""
    script = script_directory(settings)
    digest = hashlib.sha256(f"toolkit-template {TEMPLATE_FORMAT}\n{server_version}\n".encode())
    root = Path(script.dir)
    files = [root / "env.py"]
    for location in script._version_locations:
        files += sorted(p for p in Path(location).rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        if path.is_file():
            digest.update(f"{path.relative_to(root) if path.is_relative_to(root) else path}\n"
                          .encode())
            digest.update(path.read_bytes())
    try:
        heads, bases = sorted(script.get_heads()), sorted(script.get_bases())
    except CommandError as exc:
        raise ConfigError("alembic_ini", f"cannot read the migration history in {root}: {exc}"
                          ) from exc
    digest.update(f"heads {' '.join(heads)}\n".encode())
    lineage = hashlib.sha256(" ".join(bases).encode()).hexdigest()[:12]
    return digest.hexdigest(), lineage


class _Progress(logging.Handler):
    """Relays Alembic's per-revision log lines and remembers the revision being applied."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.revision: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade"):
            # "Running upgrade 0001 -> 0002, add orders"
            self.revision = message.split("->", 1)[1].split(",", 1)[0].strip()
            if not _alembic_prints():
                log.disabled = False  # env.py's fileConfig() may have disabled us
                log.info("migrating: %s", message.removeprefix("Running upgrade").strip())


def _alembic_prints() -> bool:
    """Whether a handler other than ours already shows Alembic's progress (env.py's logging)."""
    logger: logging.Logger | None = logging.getLogger("alembic.runtime.migration")
    while logger is not None:
        if any(not isinstance(h, (_Progress, logging.NullHandler)) for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


@contextmanager
def _alembic_progress() -> Iterator[_Progress]:
    handler = _Progress()
    logger = logging.getLogger("alembic.runtime.migration")
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    # env.py commonly calls logging.config.fileConfig(), which disables every logger it does
    # not name, ours included; put them back afterwards
    enabled = {name for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger) and not lg.disabled}
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        for name in enabled:
            logging.getLogger(name).disabled = False


@contextmanager
def _exported(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def upgrade(settings: Settings, url: URL, connect_args: dict[str, object] | None = None) -> None:
    """Upgrade the database at ``url`` to head, handing env.py the URL every way it may look."""
    config = alembic_config(settings)
    plain = url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", plain.replace("%", "%%"))
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args or {})
    try:
        with (_alembic_progress() as progress, _exported(settings.migration_url_env, plain),
              engine.begin() as connection):
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            except DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()[0]
                raise MigrationError(progress.revision, reason) from exc
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [""])[0]
                raise MigrationError(progress.revision, f"{type(exc).__name__}: {first}") from exc
    finally:
        engine.dispose()
