"""Alembic through its API: fingerprint the history and upgrade a database to head."""

from __future__ import annotations

import hashlib
import logging
import logging.config
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from toolkit.errors import ConfigError, MigrationError
from toolkit.fingerprint import Inputs, collect, static_files
from toolkit.settings import Settings

log = logging.getLogger("toolkit")


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


def inputs(settings: Settings, server_version: str, hashes: dict[str, str]) -> Inputs:
    """The template's static inputs: the files under the script location and version
    locations, the ``[alembic]`` options, server version and heads, and
    ``fingerprint_include``; the lineage is the history's root revision(s), which stays the same
    as migrations are added."""
    script = script_directory(settings)
    root = Path(script.dir)
    try:
        heads, bases = sorted(script.get_heads()), sorted(script.get_bases())
    except CommandError as exc:
        raise ConfigError("alembic_ini", f"cannot read the migration history in {root}: {exc}"
                          ) from exc
    except SyntaxError as exc:  # Alembic imports every revision to read the history
        raise MigrationError(None, _syntax(exc), loading=True) from exc
    if not heads:
        versions = ", ".join(str(v) for v in script._version_locations)
        raise ConfigError("alembic_ini", f"no migrations in {versions}: a template of an empty "
                          "history would be an empty database (add a revision with "
                          "`alembic revision -m \"first\"`)")
    lineage = hashlib.sha256(" ".join(bases).encode()).hexdigest()[:12]
    static = static_files(settings, root, script._version_locations)
    return collect(settings, server_version, heads, lineage, static, hashes)


def _syntax(exc: SyntaxError) -> str:
    return f"{exc.filename}, line {exc.lineno}: SyntaxError: {exc.msg}"


def sources(settings: Settings) -> list[Path]:
    """env.py and the revision files: where discovery follows imports from."""
    script = script_directory(settings)
    files = [Path(script.dir) / "env.py"]
    for location in script._version_locations:
        files += sorted(p for p in Path(location).rglob("*.py") if "__pycache__" not in p.parts)
    return [f for f in files if f.is_file()]


class _Progress(logging.Handler):
    """Relays Alembic's per-revision log lines and remembers the revision being applied."""

    def __init__(self, total: int = 0) -> None:
        super().__init__(logging.INFO)
        self.revision: str | None = None
        self.total = total  # revisions to apply
        self.done = 0
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade"):
            # "Running upgrade 0001 -> 0002, add orders"
            self.revision = message.split("->", 1)[1].split(",", 1)[0].strip()
            self.done += 1
            if not _alembic_prints():
                log.disabled = False  # env.py's fileConfig() may have disabled us
                log.info("migrating: %s (revision %d of %d, %.1fs in)",
                         message.removeprefix("Running upgrade").strip(), self.done,
                         max(self.total, self.done), time.monotonic() - self.started)


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
def _alembic_progress(total: int) -> Iterator[_Progress]:
    handler = _Progress(total)
    logger = logging.getLogger("alembic.runtime.migration")
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    # env.py commonly calls logging.config.fileConfig(), which disables every logger it does
    # not name, ours included; put them back afterwards
    enabled = {name for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger) and not lg.disabled}
    # fileConfig() also strips the handlers of loggers below the ones it names ("alembic"):
    # while the migrations run, put ours back right after any such call
    originals = logging.config.fileConfig, logging.config.dictConfig

    def reattached(configure: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = configure(*args, **kwargs)
            logger.disabled = False
            logger.setLevel(logging.INFO)
            if handler not in logger.handlers:
                logger.addHandler(handler)
            return result
        return wrapper

    logging.config.fileConfig = reattached(originals[0])  # type: ignore[assignment]
    logging.config.dictConfig = reattached(originals[1])  # type: ignore[assignment]
    try:
        yield handler
    finally:
        logging.config.fileConfig, logging.config.dictConfig = originals  # type: ignore[assignment]
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


def _count_revisions(config: Config) -> int:
    """How many revisions a build applies (all of them: a template starts empty); 0 when the
    scripts cannot be read yet (the upgrade then says why)."""
    try:
        return sum(1 for _ in ScriptDirectory.from_config(config).walk_revisions())
    except Exception:
        return 0


def upgrade(settings: Settings, url: URL, connect_args: dict[str, object] | None = None) -> int:
    """Upgrade the database at ``url`` to head, handing env.py the URL every way it may look;
    how many revisions it applied."""
    config = alembic_config(settings)
    plain = url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", plain.replace("%", "%%"))
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args or {})
    try:
        revisions = _count_revisions(config)
        with (_alembic_progress(revisions) as progress,
              _exported(settings.migration_url_env, plain), engine.begin() as connection):
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            except DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()[0]
                raise MigrationError(progress.revision, reason) from exc
            except SyntaxError as exc:
                raise MigrationError(progress.revision, _syntax(exc)) from exc
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [""])[0]
                raise MigrationError(progress.revision, f"{type(exc).__name__}: {first}") from exc
        return progress.done
    finally:
        engine.dispose()
