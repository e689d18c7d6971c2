"""The report across CI machines, as `toolkit ci.matrix` lays it out: each shard job leaves
its page and results (test.shard writes .toolkit/report-shard-K-of-N.html and .json), a last
job merges the results into one report.html. The GitLab recipe's
own script lines are run here, in a checkout per machine, and the merged page holds every
shard's tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.helpers import clean_env
from tests.test_ci_matrix import _matrix
from toolkit import report

SUITE = """
import pytest


@pytest.mark.parametrize("i", range(6))
def test_work(i):
    assert i != 4, "the fifth one fails"
"""


def test_gitlabs_shard_and_report_jobs_run_as_printed(tmp_path: Path) -> None:
    config = yaml.safe_load(_matrix(tmp_path, "--format", "gitlab", "--shards", "2"))
    shard_line = config["integration"]["script"][-1]
    report_line = config["report"]["script"][-1]
    assert config["report"]["needs"] == ["integration"]
    assert config["report"]["artifacts"]["paths"] == ["report.html"]
    project = tmp_path / "checkout"
    (project / "tests" / "integration").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "tests" / "integration" / "test_suite.py").write_text(SUITE)
    merger = tmp_path / "report-job"
    shutil.copytree(project, merger)
    (merger / ".toolkit").mkdir()
    base = clean_env()
    for k in (1, 2):  # a machine each: its own checkout, GitLab's parallel variables
        machine = tmp_path / f"machine-{k}"
        shutil.copytree(project, machine)
        done = subprocess.run(["sh", "-c", shard_line], cwd=machine, capture_output=True,
                              text=True, env={**base, "CI_NODE_INDEX": str(k),
                                              "CI_NODE_TOTAL": "2"})
        assert done.returncode in (0, 1), done.stdout + done.stderr
        # the job's artifacts, as GitLab hands them to the report job
        for artifact in config["integration"]["artifacts"]["paths"]:
            for found in machine.glob(artifact):
                shutil.copy(found, merger / ".toolkit")
    merged = subprocess.run(["sh", "-c", report_line], cwd=merger, capture_output=True,
                            text=True, env=base)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.strip() == "6 tests (5 passed, 1 failed) from 2 run(s): report.html"
    run = report.load([merger / ".toolkit"])
    assert sorted(s.label for s in run.sources) == ["shard 1/2", "shard 2/2"]
    page = (merger / "report.html").read_text()
    assert "test_work[4]" in page.split('id="failures"', 1)[1]


def test_github_uploads_each_shards_results_and_merges_them(tmp_path: Path) -> None:
    workflow = yaml.safe_load(_matrix(tmp_path, "--format", "github", "--shards", "3"))
    shard, merge = workflow["jobs"]["shard"], workflow["jobs"]["report"]
    uploads = {s["with"]["name"]: s["with"]["path"] for s in shard["steps"]
               if s.get("uses", "").startswith("actions/upload")}
    assert uploads["report-shard-${{ matrix.shard }}"] == ".toolkit/report-shard-*"
    assert merge["needs"] == "shard" and merge["if"] == "always()"
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith(
        "actions/download"))
    assert download["with"]["pattern"] == "report-shard-*"
    assert "toolkit report shards/report-shard-*.json -o report.html" in [
        s.get("run") for s in merge["steps"]]
    assert merge["steps"][-1]["with"] == {"name": "report", "path": "report.html"}


def test_the_kubernetes_merge_job_writes_the_report(tmp_path: Path) -> None:
    _, job, merge = yaml.safe_load_all(_matrix(tmp_path, "--format", "k8s", "--shards", "2",
                                                "--image", "tests:1"))
    shard_command = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "cp .toolkit/durations-shard-*.json .toolkit/report-shard-* /durations/" in \
        shard_command
    merge_command = merge["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert merge_command.endswith(
        "toolkit report /durations/report-shard-*.json -o /durations/report.html")
