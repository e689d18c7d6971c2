"""Durations measured on several machines balance the next run: N shards run as separate
processes, each in a working directory of its own (a checkout per CI machine, the shard
taken from a Kubernetes Indexed Job's variables), the durations files they leave are merged
with the command `toolkit ci.matrix` prints, and the next run's shards, planned on the merged
file, take about as long as each other on a suite whose tests' durations are skewed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import HOST_ONLY
from toolkit.ci import merge_command

SHARDS = 4
SUITE = """
import time

import pytest


@pytest.mark.parametrize("i", range(16))
def test_work(i):
    time.sleep(0.4 if i % 4 == 0 else 0.05)  # the test's own work: four take 8x the rest
"""


def _env(extra: dict[str, str]) -> dict[str, str]:
    import os

    base = {k: v for k, v in os.environ.items()
            if not k.startswith(HOST_ONLY) and not k.startswith("TOOLKIT_")}
    return {**base, **extra}


def _run_shards(machines: list[Path]) -> list[dict[str, float]]:
    """Every machine's shard at once, each its own process; what each measured."""
    running = [subprocess.Popen([sys.executable, "-m", "toolkit", "test.shard", "--", "-q"],
                                cwd=machine, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True,
                                env=_env({"JOB_COMPLETION_INDEX": str(k),
                                          "TOOLKIT_SHARDS": str(SHARDS)}))
               for k, machine in enumerate(machines)]
    for proc in running:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    measured = []
    for k, machine in enumerate(machines, 1):
        data = json.loads((machine / ".toolkit" / f"durations-shard-{k}-of-{SHARDS}.json")
                          .read_text())
        measured.append({t: float(v["duration"]) for t, v in data["tests"].items()})
    return measured


def _balance(measured: list[dict[str, float]]) -> float:
    loads = [sum(m.values()) for m in measured]
    return max(loads) / (sum(loads) / len(loads))


def test_merged_durations_balance_the_next_run(tmp_path: Path) -> None:
    project = tmp_path / "checkout"
    (project / "tests" / "integration").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "tests" / "integration" / "test_suite.py").write_text(SUITE)
    machines = []
    for k in range(1, SHARDS + 1):
        shutil.copytree(project, tmp_path / f"machine-{k}")
        machines.append(tmp_path / f"machine-{k}")
    first = _run_shards(machines)  # no durations yet: split by count
    assert sorted(t for m in first for t in m) == sorted(
        f"tests/integration/test_suite.py::test_work[{i}]" for i in range(16))
    # the merge job: every machine's file, with the command ci.matrix prints
    merger = tmp_path / "merge"
    shutil.copytree(project, merger)
    merged = subprocess.run(["sh", "-c", merge_command("../machine-*/.toolkit/"
                                                       "durations-shard-*.json")],
                            cwd=merger, env=_env({}), capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    assert "16 tests" in merged.stdout
    for machine in machines:  # what the next run's machines get (a CI cache, an artifact)
        for left in (machine / ".toolkit").glob("durations*"):
            left.unlink()
        shutil.copy(merger / ".toolkit" / "durations.json", machine / ".toolkit")
    second = _run_shards(machines)
    print(f"max ÷ mean: {_balance(first):.2f} by count, {_balance(second):.2f} by merged durations")
    assert _balance(second) <= 1.10, (_balance(first), second)
    assert _balance(second) < _balance(first)
