"""Stored durations: recorded, merged from shards (newest wins), removed tests dropped."""

import json
from pathlib import Path

import pytest

from toolkit import durations
from toolkit.durations import DurationsError


def _file(path: Path, tests: dict[str, tuple[float, str]]) -> Path:
    path.write_text(json.dumps({"format": 1, "tests": {
        k: {"duration": d, "at": at} for k, (d, at) in tests.items()}}))
    return path


def test_record_adds_and_updates(tmp_path: Path) -> None:
    target = tmp_path / ".toolkit" / "durations.json"
    durations.record(target, {"a.py::t1": 1.5})
    durations.record(target, {"a.py::t2": 0.25, "a.py::t1": 2.0})
    assert durations.seconds(target) == {"a.py::t1": 2.0, "a.py::t2": 0.25}


def test_merge_newest_wins_and_removed_dropped(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    one = _file(tmp_path / "d1.json", {"tests/test_a.py::x": (1.0, "2026-01-01T00:00:00"),
                                       "tests/test_gone.py::y": (9.0, "2026-01-01T00:00:00")})
    two = _file(tmp_path / "d2.json", {"tests/test_a.py::x": (3.0, "2026-02-01T00:00:00")})
    three = _file(tmp_path / "d3.json", {"tests/test_a.py::x": (5.0, "2025-12-01T00:00:00")})
    target = tmp_path / "merged.json"
    counts = durations.merge(target, [one, two, three], exists=tmp_path)
    assert durations.seconds(target) == {"tests/test_a.py::x": 3.0}
    assert counts == {"tests": 1, "dropped": 1}


def test_foreign_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"t": 1}')
    with pytest.raises(DurationsError, match="not a toolkit durations file"):
        durations.load(tmp_path / "x.json")
