"""Finding reference tests, reading their tags, and the conventions refs.lint checks."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from pathlib import Path

ENGINES = ("sqlite", "postgresql", "mysql", "clickhouse")
KNOWN_TAGS = {"no-parallel", "long", "disabled", "allow-stderr", "no-random-settings",
              *(f"no-{e}" for e in ENGINES)}
SUFFIXES = (".sql", ".sh")
_TAGS = re.compile(r"^\s*(?:--|#)\s*Tags:\s*(.*)$")


@dataclasses.dataclass(frozen=True)
class RefTest:
    name: str
    path: Path
    tags: frozenset[str]

    @property
    def reference(self) -> Path:
        return self.path.with_suffix(".reference")

    @property
    def kind(self) -> str:
        return self.path.suffix[1:]

    def skip_reason(self, engine: str) -> str | None:
        if "disabled" in self.tags:
            return "disabled"
        if f"no-{engine}" in self.tags:
            return f"no-{engine}"
        return None


def read_tags(path: Path) -> tuple[frozenset[str], list[str]]:
    """Tags from the first line (the second after a shebang), and the unknown ones."""
    with path.open(errors="replace") as f:
        lines = [f.readline(), f.readline()]
    line = lines[1] if lines[0].startswith("#!") else lines[0]
    match = _TAGS.match(line)
    tags = frozenset(t.strip() for t in match.group(1).split(",") if t.strip()) if match else frozenset()
    return tags, sorted(tags - KNOWN_TAGS)


def discover(root: Path, selectors: list[str] | None = None) -> list[RefTest]:
    """The tests under ``root`` sorted by name; a selector matches by substring or glob."""
    tests = []
    for path in sorted(root.rglob("*")):
        if path.suffix in SUFFIXES and path.is_file():
            name = str(path.relative_to(root).with_suffix(""))
            if not selectors or any(_selects(s, name) for s in selectors):
                tests.append(RefTest(name, path, read_tags(path)[0]))
    return sorted(tests, key=lambda t: t.name)


def _selects(selector: str, name: str) -> bool:
    if any(ch in selector for ch in "*?["):
        return fnmatch.fnmatchcase(name, selector) or fnmatch.fnmatchcase(Path(name).name, selector)
    return selector in name


def orphan_references(root: Path) -> list[Path]:
    """References with neither a .sql nor a .sh beside them."""
    return [ref for ref in sorted(root.rglob("*.reference"))
            if not any(ref.with_suffix(s).is_file() for s in SUFFIXES)]


_RANDOM_NAME = re.compile(r"\btest_[a-z0-9]{6}\b")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_SLEEP = re.compile(r"\bsleep\s*\(|\bsleep\s+\d|\bpg_sleep\b|\bSLEEP\s*\(", re.IGNORECASE)


def lint(root: Path) -> tuple[list[str], dict[str, int]]:
    """(problems as 'FILE:LINE: message', count of each no-* tag) for the tests under root."""
    problems: list[str] = []
    no_tags: dict[str, int] = {}
    for test in discover(root):
        _, unknown = read_tags(test.path)
        for tag in unknown:
            problems.append(f"{test.path}:1: unknown tag {tag!r} "
                            f"(known: {', '.join(sorted(KNOWN_TAGS))})")
        for tag in test.tags:
            if tag.startswith("no-"):
                no_tags[tag] = no_tags.get(tag, 0) + 1
        if not test.reference.is_file():
            problems.append(f"{test.path}:1: no reference {test.reference.name} "
                            f"(record it: toolkit refs.record {test.name})")
        if test.kind == "sh" and not os.access(test.path, os.X_OK):
            problems.append(f"{test.path}:1: not executable (chmod +x {test.path})")
        for number, line in enumerate(test.path.read_text(errors="replace").splitlines(), 1):
            if _SLEEP.search(line):
                problems.append(f"{test.path}:{number}: sleep in a test: wait on the real "
                                "condition instead")
    for ref in orphan_references(root):
        problems.append(f"{ref}:1: reference without a test ({ref.stem}.sql or {ref.stem}.sh)")
    for ref in sorted(root.rglob("*.reference")):
        for number, line in enumerate(ref.read_text(errors="replace").splitlines(), 1):
            for pattern, what in ((_RANDOM_NAME, "a random database name"),
                                  (_VARIABLE, "an unexpanded ${…} variable")):
                found = pattern.search(line)
                if found:
                    problems.append(f"{ref}:{number}: {what} {found.group(0)!r} in a reference "
                                    "(references say 'default')")
    return problems, dict(sorted(no_tags.items()))
