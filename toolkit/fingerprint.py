"""What decides a template's content, hashed: every file under the migrations' script location,
the ``[alembic]`` section of alembic.ini, the server version, the heads, files named by
``fingerprint_include``, and the project files the migrations were seen to read or import the
last time a template was built (recorded in ``.toolkit/`` and in the template's marker)."""

from __future__ import annotations

import ast
import configparser
import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError
from toolkit.settings import Settings

TEMPLATE_FORMAT = "2"  # the explicit part of the format; the code's hash is the other part
# the code that builds, marks and clones templates: a template built by other code (another
# toolkit version, or an edited checkout) is never reused, it is rebuilt
FORMAT_SOURCES = ("core.py", "migrate.py", "engines/__init__.py", "engines/sqlite.py",
                  "engines/postgresql.py", "engines/mysql.py")
_format: str | None = None


def template_format() -> str:
    global _format
    if _format is None:
        package = Path(__file__).parent
        digest = hashlib.sha256()
        for name in FORMAT_SOURCES:
            digest.update((package / name).read_bytes())
        _format = f"{TEMPLATE_FORMAT}-{digest.hexdigest()[:12]}"
    return _format
RECORD = "template-inputs.json"
OPTION = "option:"  # inputs that are not files: server version, heads, ini options
# editor, VCS and build litter under the script location, never an input
LITTER_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".idea", ".vscode", ".mypy_cache",
               ".ruff_cache", ".pytest_cache"}
LITTER_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".swo", ".swx", ".orig", ".rej", ".bak", ".tmp")
LITTER_NAMES = {".DS_Store", "Thumbs.db"}
# inside the project but not the project's own code: environments and tool state
FOREIGN_DIRS = {".venv", "venv", ".nox", ".tox", "site-packages", "node_modules", ".toolkit",
                *LITTER_DIRS}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Every input by name (project-relative file path, or ``option:…``) with its hash."""

    items: tuple[tuple[str, str], ...]
    lineage: str
    static: frozenset[str]  # the names that do not come from discovery

    @property
    def digest(self) -> str:
        text = "".join(f"{name}\0{value}\n" for name, value in self.items)
        return hashlib.sha256(text.encode()).hexdigest()

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)

    @property
    def discovered(self) -> list[str]:
        return [name for name, _ in self.items if name not in self.static]


def file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise ConfigError("fingerprint", f"cannot read {path}, an input of the template: "
                          f"{exc.strerror}") from exc


def _litter(path: Path) -> bool:
    return (any(part in LITTER_DIRS for part in path.parts) or path.name in LITTER_NAMES
            or path.name.endswith(LITTER_SUFFIXES) or path.name.startswith((".#", "#")))


def _name(settings: Settings, path: Path) -> str:
    path = path.absolute()
    return path.relative_to(settings.project_dir).as_posix() \
        if path.is_relative_to(settings.project_dir) else str(path)


def alembic_options(ini: Path) -> dict[str, str]:
    """The ``[alembic]`` section as written (no interpolation), less the URL toolkit overrides."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(ini)
    except configparser.Error as exc:
        raise ConfigError("alembic_ini", f"cannot parse {ini}: {exc}") from exc
    if not parser.has_section("alembic"):
        return {}
    return {k: v for k, v in parser.items("alembic") if k != "sqlalchemy.url"}


def static_files(settings: Settings, script_dir: Path, version_locations: Iterable[str | Path]
                 ) -> list[Path]:
    roots = [script_dir, *(Path(v) for v in version_locations)]
    files: set[Path] = set()
    for root in roots:
        if root.is_dir():
            files.update(p for p in root.rglob("*")
                         if p.is_file() and not _litter(p.relative_to(root)))
    for pattern in settings.fingerprint_include:
        matched = [p for p in settings.project_dir.glob(pattern) if p.is_file()]
        if not matched:
            raise ConfigError("fingerprint_include", f"fingerprint_include pattern {pattern!r} "
                              f"matches no file under {settings.project_dir}")
        files.update(matched)
    return sorted(files)


def collect(settings: Settings, server_version: str, heads: Iterable[str], lineage: str,
            static: Iterable[Path], hashes: dict[str, str]) -> Inputs:
    """The static inputs: options and files. ``hashes`` caches file hashes by name."""
    cache = hashes
    items: dict[str, str] = {
        f"{OPTION}format": template_format(),
        f"{OPTION}server": server_version,
        f"{OPTION}heads": " ".join(sorted(heads)),
    }
    ini = settings.path(settings.alembic_ini)
    for key, value in alembic_options(ini).items():
        items[f"{OPTION}alembic.{key}"] = value
    names = [_name(settings, p) for p in static]
    for name in names:
        if name not in cache:
            cache[name] = file_hash(settings.path(Path(name)))
        items[name] = cache[name]
    return Inputs(tuple(sorted(items.items())), lineage,
                  frozenset([*names, *(k for k in items if k.startswith(OPTION))]))


def matches(inputs: Inputs, recorded: Mapping[str, str], settings: Settings,
            hashes: dict[str, str]) -> bool:
    """Whether a template built from ``recorded`` inputs is the one ``inputs`` would build: every
    static input the same, and every file it was seen to read unchanged (a removed file hashes
    as "missing", so it differs too)."""
    current = inputs.as_dict()
    if any(recorded.get(name) != current[name] for name in inputs.static):
        return False
    for name, value in recorded.items():
        if name not in current:
            if name.startswith(OPTION):
                return False
            if name not in hashes:
                hashes[name] = file_hash(settings.path(Path(name)))
            current[name] = hashes[name]
        if current[name] != value:
            return False
    return True


def changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """What differs between two input maps, one phrase per input."""
    out = [f"changed {k}" for k in sorted(old.keys() & new.keys()) if old[k] != new[k]]
    out += [f"added {k}" for k in sorted(new.keys() - old.keys())]
    out += [f"removed {k}" for k in sorted(old.keys() - new.keys())]
    return [c.replace(OPTION, "") for c in out]


# --- the record of discovered inputs in the project's .toolkit/ -----------------------------

def record_path(settings: Settings) -> Path:
    return settings.project_dir / ".toolkit" / RECORD


def recorded(settings: Settings, lineage: str) -> list[str]:
    try:
        data = json.loads(record_path(settings).read_text())
    except (OSError, ValueError):
        return []
    names = data.get(lineage, []) if isinstance(data, dict) else []
    return [n for n in names if isinstance(n, str)]


def record(settings: Settings, lineage: str, names: Iterable[str]) -> None:
    """Remember what the migrations read, for the next fingerprint (written atomically; a
    read-only or missing .toolkit only costs the next run a look at the templates' markers)."""
    path = record_path(settings)
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[lineage] = sorted(set(names))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass


# --- discovery: what a build reads and imports ---------------------------------------------

_recording: list[set[str]] = []
_hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _recording:
        return
    if event == "open":
        path, mode, flags = args[0], args[1], args[2]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # an fd
        writing = (mode is not None and not any(c in mode for c in "r+")) or \
            (mode is None and isinstance(flags, int) and flags & os.O_ACCMODE == os.O_WRONLY)
        if not writing:
            _recording[-1].add("file:" + os.fsdecode(path))
    elif event == "import":
        _recording[-1].add("module:" + str(args[0]))


def _source_of(path: Path) -> Path:
    """A cached bytecode file stands for its source: ``__pycache__/m.cpython-311.pyc`` → ``m.py``."""
    if path.parent.name == "__pycache__" and path.suffix == ".pyc":
        return path.parent.parent / (path.name.split(".", 1)[0] + ".py")
    return path


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def _imports(path: Path) -> set[str]:
    """Absolute module names a Python file imports (and their parents)."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


@dataclasses.dataclass
class Discovery:
    """The project files a build read or imported, by project-relative name."""

    names: set[str] = dataclasses.field(default_factory=set)


@contextmanager
def discover(settings: Settings, sources: Iterable[Path]) -> Iterator[Discovery]:
    """Record what the block reads (audit events ``open`` and ``import``) plus, since a module
    imported before the block raises no event, the project modules that ``sources`` (env.py and
    the revisions) import, followed through the project's own modules."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_audit)  # hooks cannot be removed: it records only inside this block
        _hooked = True
    seen: set[str] = set()
    found = Discovery()
    _recording.append(seen)
    try:
        yield found
    finally:
        _recording.pop()
    root = settings.project_dir
    candidates: set[Path] = set()
    modules: set[str] = set()
    for item in seen:
        kind, _, value = item.partition(":")
        if kind == "file":
            candidates.add(_source_of(Path(value)))
        else:
            modules.add(value)
    queue = list(sources)
    done: set[Path] = set()
    while queue:  # follow imports from the sources through the project's own modules
        source = queue.pop()
        if source in done:
            continue
        done.add(source)
        for name in _imports(source):
            file = _module_file(name)
            if file is not None and file.absolute().is_relative_to(root):
                candidates.add(file)
                queue.append(file)
    candidates.update(f for f in map(_module_file, modules) if f is not None)
    # Alembic reads alembic.ini on every run (and env.py's fileConfig() its logging sections):
    # its [alembic] section is an input by itself, the rest is not the template's business
    candidates.discard(settings.path(settings.alembic_ini))
    for path in candidates:
        path = path.absolute()
        if not path.is_relative_to(root) or not path.is_file():
            continue
        relative = path.relative_to(root)
        if any(part in FOREIGN_DIRS for part in relative.parts) or _litter(relative):
            continue
        found.names.add(relative.as_posix())


def with_discovered(settings: Settings, inputs: Inputs, names: Iterable[str],
                    hashes: dict[str, str]) -> Inputs:
    """``inputs`` plus the discovered files ``names`` (static inputs stay as they are)."""
    items = inputs.as_dict()
    for name in names:
        if name in items:
            continue
        if name not in hashes:
            hashes[name] = file_hash(settings.path(Path(name)))
        items[name] = hashes[name]
    return dataclasses.replace(inputs, items=tuple(sorted(items.items())))
