"""Shards that would not split one suite the same way say so in one line instead of running
another split: a planning step prints the plan (`toolkit test.shard --plan-id`), every shard
gets it as TOOLKIT_SHARD_PLAN, and a shard whose checkout collects other tests, or whose
stored durations split them otherwise, refuses (under xdist too). Without a plan, the merge of
the shards' durations says when they ran different splits. Each machine is a checkout of its
own and each shard a process of its own."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.helpers import clean_env, toolkit_cli
from toolkit import durations

SUITE = """
import pytest


@pytest.mark.parametrize("i", range({count}))
def test_work(i):
    pass
"""


def _checkout(root: Path, count: int = 6) -> Path:
    (root / "tests" / "integration").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "tests" / "integration" / "test_suite.py").write_text(SUITE.format(count=count))
    return root


def _plan(machine: Path) -> str:
    done = toolkit_cli(machine, "test.shard", "--plan-id", "--shards", "2")
    assert done.returncode == 0, done.stderr
    plan = done.stdout.strip()
    assert len(plan) == 17 and plan[8] == "-", plan
    return plan


def _shard(machine: Path, k: int, plan: str | None, *pytest_args: str
           ) -> subprocess.CompletedProcess[str]:
    env = {"TOOLKIT_SHARD_PLAN": plan} if plan else {}
    return toolkit_cli(machine, "test.shard", "--shard", str(k), "--shards", "2", "--", "-q",
                       *pytest_args, env=env)


def test_a_shard_on_another_checkout_refuses_in_one_line(tmp_path: Path) -> None:
    planned = _checkout(tmp_path / "a")
    plan = _plan(planned)
    assert _shard(planned, 1, plan).returncode == 0
    other = _checkout(tmp_path / "b", count=7)  # one more test: another commit
    for args in ((), ("-p", "xdist", "-n", "2")):
        done = _shard(other, 2, plan, *args)
        assert done.returncode == 1, done.stdout
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "toolkit: error: shard 2/2 collected other tests than the plan it was given: "
            "7 tests here (plan "), lines
        assert lines[0].endswith(f"plan {plan} was made on another collection; a different "
                                 "checkout? Run every shard on the same commit, or plan again "
                                 "(toolkit test.shard --plan-id)")
        assert "passed" not in done.stdout  # nothing ran


def test_plain_pytest_refuses_too(tmp_path: Path) -> None:
    plan = _plan(_checkout(tmp_path / "a"))
    other = _checkout(tmp_path / "b", count=7)
    done = subprocess.run(["python", "-m", "pytest", "--toolkit-shard", "1/2", "-q",
                           "tests/integration", "-p", "no:cacheprovider"], cwd=other,
                          capture_output=True, text=True,
                          env=clean_env({"TOOLKIT_SHARD_PLAN": plan}))
    assert done.returncode == 4
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        line for line in done.stderr.splitlines() if line.startswith("ERROR: toolkit: shard 1/2 "
                                                                     "collected other tests")]


def test_other_stored_durations_split_otherwise_and_refuse(tmp_path: Path) -> None:
    planned = _checkout(tmp_path / "a")
    plan = _plan(planned)
    other = _checkout(tmp_path / "b")
    # this machine's durations (another cache) put the tests on other shards
    durations.record(durations.path(other), {
        f"tests/integration/test_suite.py::test_work[{i}]": 10.0 if i == 0 else 0.1
        for i in range(6)})
    done = _shard(other, 1, plan)
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        "toolkit: error: shard 1/2 splits the same 6 tests otherwise than the plan it was given")
    assert done.stderr.strip().endswith("give every shard the same .toolkit/durations.json and "
                                        "settings")


def test_the_merge_says_when_the_shards_ran_different_splits(tmp_path: Path) -> None:
    first, second = _checkout(tmp_path / "a"), _checkout(tmp_path / "b", count=7)
    assert _shard(first, 1, None, "-p", "xdist", "-n", "2").returncode == 0
    assert _shard(second, 2, None).returncode == 0
    # under xdist too the shard records what its workers collected and the plan they ran
    recorded = json.loads((first / ".toolkit" / "durations-shard-1-of-2.json").read_text())
    assert len(recorded["collected"]["tests"]) == 6 and recorded["collected"]["plan"]
    merger = _checkout(tmp_path / "merge")
    files = [first / ".toolkit" / "durations-shard-1-of-2.json",
             second / ".toolkit" / "durations-shard-2-of-2.json"]
    done = toolkit_cli(merger, "test.durations", *[a for f in files for a in ("--merge", str(f))])
    assert done.returncode == 0
    assert done.stderr.startswith("warning: the shards ran 2 different splits (")
    assert "some tests ran twice or not at all" in done.stderr
    # the same checkout on both machines: no warning
    shutil.rmtree(second)
    second = _checkout(tmp_path / "b")
    assert _shard(second, 2, None).returncode == 0
    done = toolkit_cli(merger, "test.durations", *[a for f in files for a in ("--merge", str(f))])
    assert done.returncode == 0 and done.stderr == ""


def test_the_ci_recipes_plan_once_and_hand_the_plan_to_every_shard(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    github = yaml.safe_load(toolkit_cli(tmp_path, "ci.matrix", "--format", "github",
                                        "--shards", "2").stdout)
    assert github["jobs"]["shard"]["needs"] == "plan"
    assert github["jobs"]["shard"]["env"] == {
        "TOOLKIT_SHARD_PLAN": "${{ needs.plan.outputs.plan }}"}
    assert github["jobs"]["plan"]["outputs"] == {"plan": "${{ steps.plan.outputs.plan }}"}
    gitlab = yaml.safe_load(toolkit_cli(tmp_path, "ci.matrix", "--format", "gitlab",
                                        "--shards", "2").stdout)
    plan_job = gitlab["plan"]
    assert plan_job["stage"] == ".pre" and plan_job["artifacts"]["reports"] == {
        "dotenv": "plan.env"}
    # GitLab's plan line, run as printed, then a shard with the variable it hands on
    machine = _checkout(tmp_path / "machine")
    done = subprocess.run(["sh", "-c", plan_job["script"][-1]], cwd=machine, env=clean_env(),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    name, _, plan = (machine / "plan.env").read_text().strip().partition("=")
    assert name == "TOOLKIT_SHARD_PLAN" and plan == _plan(machine)
    shard = subprocess.run(["sh", "-c", gitlab["integration"]["script"][-1]], cwd=machine,
                           capture_output=True, text=True,
                           env=clean_env({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "2",
                                          "TOOLKIT_SHARD_PLAN": plan}))
    assert shard.returncode == 0, shard.stderr
    assert json.loads((machine / ".toolkit" / "durations-shard-1-of-2.json").read_text())[
        "collected"]["plan"] == plan
