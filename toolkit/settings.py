"""Settings resolved once: keyword overrides (CLI) > environment (TOOLKIT_*, .env) >
[tool.toolkit] in pyproject.toml > defaults."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from toolkit.errors import ConfigError

ENV_PREFIX = "TOOLKIT_"


@dataclasses.dataclass(frozen=True)
class Settings:
    project_dir: Path
    database_url: str = "sqlite:///.toolkit/toolkit.sqlite"
    alembic_ini: Path = Path("alembic.ini")
    migration_url_env: str = "DATABASE_URL"
    prefix: str = "toolkit_"
    keep_failed: bool = True
    keep_templates: int = 2
    clone_wait_s: float = 10.0
    lock_wait_s: float = 600.0
    pg_clone_strategy: str = "file_copy"
    references_dir: Path = Path("tests/queries")
    references_timeout_s: float = 60.0
    integration_dir: Path = Path("tests/integration")
    shards: int = 4
    shard_strategy: str = "duration"
    # the plan every shard must run (`test.shard --plan-id` prints it): a shard whose checkout
    # or stored durations split the suite otherwise refuses to run
    shard_plan: str = ""
    prepush_budget_s: float = 120.0
    prepush_flaky: bool = False  # the pre-push hook also runs test.flaky, within its budget
    flaky_budget_s: float = 600.0  # test.flaky's time budget
    # in the current environment: a hook that builds a virtualenv on every push gets removed
    prepush_command: str = "nox --no-venv -s prepush"
    template: str = ""  # a template built earlier in the pipeline, used as is by the tests
    image: str = ""  # the server image under test (set by image.build)
    server_binary: str = ""  # a local server binary under test
    server_ready_timeout_s: float = 60.0  # a started server must answer a query within this
    # inputs of the template that discovery cannot see (e.g. read by a subprocess): globs
    # relative to the project directory
    fingerprint_include: tuple[str, ...] = ()
    sqlite_foreign_keys: bool = True  # clones' engines enforce foreign keys on SQLite
    pool_size: int = 0  # clones kept ready per pool (0: by cores and workers, at most 4)
    pool: bool = True  # toolkit_db takes clones from a pool of ready ones

    @classmethod
    def load(
        cls,
        project_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Resolve settings for the project at (or above) ``project_dir``; None overrides are ignored."""
        root = find_project_dir(Path(project_dir) if project_dir else Path.cwd())
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "project_dir"}
        raw: dict[str, tuple[Any, str]] = {}
        for key, value in _pyproject_table(root).items():
            if key not in fields:
                raise ConfigError(
                    key, f"unknown setting {key!r} in [tool.toolkit] of {root / 'pyproject.toml'} "
                    f"(known: {', '.join(sorted(fields))})"
                )
            raw[key] = (value, "[tool.toolkit]")
        env = {**_dotenv(root), **(os.environ if environ is None else environ)}
        for name in fields:
            env_key = ENV_PREFIX + name.upper()
            if env.get(env_key) not in (None, ""):
                raw[name] = (env[env_key], env_key)
        for key, value in overrides.items():
            if key not in fields:
                raise TypeError(f"Settings.load() got an unknown setting {key!r}")
            if value is not None:
                raw[key] = (value, f"--{key.replace('_', '-')}")
        values = {k: _coerce(fields[k], v, source) for k, (v, source) in raw.items()}
        settings = cls(project_dir=root, **values)
        if settings.shards < 1:
            raise ConfigError("shards", f"setting shards from {raw['shards'][1]} must be at "
                              f"least 1, not {settings.shards}")
        _check_prefix(settings.prefix, settings.database_url)
        return settings

    def path(self, value: Path) -> Path:
        """A setting's path made absolute against the project directory."""
        return value if value.is_absolute() else self.project_dir / value


# the longest names toolkit makes: <prefix>tpl_<12 hex> (and bld_), and for SQLite the
# temporary sidecar ".<name>.sqlite.toolkit.json.<pid>.tmp" beside the file
LONGEST_SUFFIX = len("tpl_") + 12
NAME_LIMITS = {"postgresql": 63, "postgres": 63, "mysql": 64, "mariadb": 64,
               "sqlite": 255 - len("..sqlite.toolkit.json.4194304.tmp")}


def _check_prefix(prefix: str, url: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", prefix):
        raise ConfigError("prefix", f"prefix {prefix!r} must be lowercase ASCII letters, digits "
                          "and underscores (set TOOLKIT_PREFIX)")
    backend = url.split(":", 1)[0].split("+", 1)[0]
    limit = NAME_LIMITS.get(backend)
    if limit is not None and len(prefix) + LONGEST_SUFFIX > limit:
        raise ConfigError("prefix", f"prefix {prefix!r} is {len(prefix)} characters: the names "
                          f"toolkit makes from it would pass {backend}'s limit of {limit} "
                          f"(at most {limit - LONGEST_SUFFIX}; set TOOLKIT_PREFIX)")


def find_project_dir(start: Path) -> Path:
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return start


def _pyproject_table(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("pyproject.toml", f"cannot parse {path}: {exc}") from exc
    table = data.get("tool", {}).get("toolkit", {})
    return {k.replace("-", "_"): v for k, v in table.items()}


def _dotenv(root: Path) -> dict[str, str]:
    path = root / ".env"
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _coerce(field: dataclasses.Field[Any], value: Any, source: str) -> Any:
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "Path":
            return Path(value)
        if kind.startswith("tuple"):  # a TOML list, or a comma-separated string
            items = value if isinstance(value, (list, tuple)) else str(value).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        return str(value)
    except ValueError as exc:
        raise ConfigError(
            field.name, f"setting {field.name} from {source} has a bad value {value!r}: {exc}"
        ) from exc
