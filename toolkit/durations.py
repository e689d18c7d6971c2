"""Stored test durations (.toolkit/durations.json): written by the pytest plugin and by
refs.run, merged from CI shards, read by the duration shard strategy and the pre-push budget."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
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


def load(file: Path) -> dict[str, dict[str, object]]:
    """{test id: {"duration": seconds, "at": ISO time}}; empty when the file does not exist."""
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise DurationsError(f"{file} is not a durations file: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DurationsError(f"{file} is not a toolkit durations file (format {FORMAT})")
    return dict(data["tests"])


def seconds(file: Path) -> dict[str, float]:
    return {k: float(v["duration"]) for k, v in load(file).items()}  # type: ignore[arg-type]


def _save(file: Path, tests: Mapping[str, Mapping[str, object]]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "tests": dict(sorted(tests.items()))},
                              indent=1) + "\n")
    tmp.replace(file)


def record(file: Path, measured: Mapping[str, float]) -> None:
    """Add fresh measurements to ``file`` (safe against concurrent writers)."""
    if not measured:
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    with filelock.FileLock(str(file) + ".lock"):
        tests = load(file)
        tests.update({k: {"duration": round(v, 4), "at": now} for k, v in measured.items()})
        _save(file, tests)


def merge(into: Path, sources: Iterable[Path], exists: Path | None = None) -> dict[str, int]:
    """Merge per-shard files into ``into``: the newest measurement of a test wins, and tests
    whose file no longer exists under ``exists`` (the project) are dropped."""
    merged = load(into)
    for source in sources:
        for test, entry in load(source).items():
            if test not in merged or str(entry["at"]) > str(merged[test]["at"]):
                merged[test] = entry
    dropped = 0
    if exists is not None:
        for test in list(merged):
            if not (exists / test.split("::", 1)[0]).exists():
                del merged[test]
                dropped += 1
    _save(into, merged)
    return {"tests": len(merged), "dropped": dropped}
