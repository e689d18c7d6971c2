"""Stored test durations (.toolkit/durations.json): written by the pytest plugin and by
refs.run, merged from CI shards, read by the duration shard strategy and the pre-push budget."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import filelock

from toolkit.errors import ToolkitError

FORMAT = 1


class DurationsError(ToolkitError):
    pass


def path(project_dir: Path) -> Path:
    return project_dir / ".toolkit" / "durations.json"


def shard_path(project_dir: Path, shard: int, shards: int) -> Path:
    """Where a shard records its measurements: never into the file every shard plans from,
    so shards run one after another still split the suite the same way."""
    return project_dir / ".toolkit" / f"durations-shard-{shard}-of-{shards}.json"


def _read(file: Path) -> dict[str, object]:
    if not file.is_file():
        return {"tests": {}}
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise DurationsError(f"{file} is not a durations file: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DurationsError(f"{file} is not a toolkit durations file (format {FORMAT})")
    return data


def load(file: Path) -> dict[str, dict[str, object]]:
    """{test id: {"duration": seconds, "at": ISO time}}; empty when the file does not exist."""
    return dict(_read(file)["tests"])  # type: ignore[call-overload]


def collected(file: Path) -> tuple[str, list[str]] | None:
    """(when, test ids) of the whole collection a shard recorded, if it recorded one."""
    entry = _read(file).get("collected")
    if not isinstance(entry, dict):
        return None
    return str(entry.get("at", "")), [str(t) for t in entry.get("tests", [])]


@contextmanager
def _locked(file: Path) -> Iterator[None]:
    """One writer of ``file`` at a time (record and merge alike)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(file) + ".lock"):
        yield


def seconds(file: Path) -> dict[str, float]:
    return {k: float(v["duration"]) for k, v in load(file).items()}  # type: ignore[arg-type]


def _save(file: Path, tests: Mapping[str, Mapping[str, object]],
          whole: Mapping[str, object] | None = None) -> None:
    """Replace ``file`` atomically, through a temporary file of this process's own."""
    data: dict[str, object] = {"format": FORMAT, "tests": dict(sorted(tests.items()))}
    if whole is not None:
        data["collected"] = whole
    tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(file)


def record(file: Path, measured: Mapping[str, float],
           whole: Sequence[str] | None = None, plan: str | None = None) -> None:
    """Add fresh measurements to ``file`` (safe against concurrent writers); ``whole``: every
    test the run collected, which lets a merge drop tests that no longer exist; ``plan``: the
    split a shard ran, which a merge compares across shards."""
    if not measured and whole is None:
        return
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    with _locked(file):
        data = _read(file)
        tests = dict(data["tests"])  # type: ignore[call-overload]
        tests.update({k: {"duration": round(v, 4), "at": now} for k, v in measured.items()})
        entry = {"at": now, "tests": sorted(whole), **({"plan": plan} if plan else {})} \
            if whole is not None else data.get("collected")
        _save(file, tests, entry if isinstance(entry, dict) else None)


def plans(sources: Iterable[Path]) -> dict[str, list[Path]]:
    """The split each shard file says its shard ran: {plan id: files}."""
    found: dict[str, list[Path]] = {}
    for source in sources:
        entry = _read(source).get("collected")
        if isinstance(entry, dict) and entry.get("plan"):
            found.setdefault(str(entry["plan"]), []).append(source)
    return found


def merge(into: Path, sources: Iterable[Path], exists: Path | None = None) -> dict[str, int]:
    """Merge per-shard files into ``into``: the newest measurement of a test wins; tests whose
    file no longer exists under ``exists`` (the project) are dropped, and so are tests missing
    from the newest whole collection a shard recorded, in the files that collection covers."""
    sources = list(sources)
    with _locked(into):
        merged = load(into)
        newest: tuple[str, list[str]] | None = None
        for source in sources:
            for test, entry in load(source).items():
                if test not in merged or str(entry["at"]) > str(merged[test]["at"]):
                    merged[test] = entry
            whole = collected(source)
            if whole is not None and (newest is None or whole[0] > newest[0]):
                newest = whole
        dropped = 0
        current = set(newest[1]) if newest else set()
        covered = {t.split("::", 1)[0] for t in current}
        for test in list(merged):
            file = test.split("::", 1)[0]
            gone = exists is not None and not (exists / file).exists()
            if gone or (file in covered and test not in current):
                del merged[test]
                dropped += 1
        _save(into, merged)
    return {"tests": len(merged), "dropped": dropped}
