"""Shards never lose a test: the split ignores what --lf/-k deselect, arguments keep their
quoting end to end, dry runs show collection errors and work under xdist, flags that disagree
with the CI are refused, every command reads the same shard count, merges drop removed tests
and never race with recording, and xfail tests are timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import toolkit_cli
from toolkit import durations

ROOT = Path(__file__).parent.parent
FAILING = {"tests/integration/test_m0.py::test_1", "tests/integration/test_m3.py::test_2"}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.toolkit]\nshards = 3\n")
    integration = tmp_path / "tests" / "integration"
    integration.mkdir(parents=True)
    for f in range(6):
        (integration / f"test_m{f}.py").write_text("".join(
            f"def test_{t}():\n    assert {f'tests/integration/test_m{f}.py::test_{t}'!r} "
            f"not in {sorted(FAILING)!r}\n" for t in range(4)))
    # uneven stored durations, so the duration strategy's split depends on the whole suite
    durations.record(durations.path(tmp_path), {
        f"tests/integration/test_m{f}.py::test_{t}": 0.1 * (f + 1) * (t + 1)
        for f in range(6) for t in range(4)})
    return tmp_path


def _outcomes(result: subprocess.CompletedProcess[str], word: str) -> set[str]:
    return {line.split(" ")[0] for line in result.stdout.splitlines() if f" {word}" in line}


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_last_failed_reruns_failures_on_the_shard_where_they_failed(suite: Path) -> None:
    failed: dict[int, set[str]] = {}
    for k in (1, 2, 3):  # each CI node has its own pytest cache
        cache = f"-ocache_dir=.cache-{k}"
        first = toolkit_cli(suite, "test.shard", f"--shard={k}", "--shards=3", "--", "-v", cache)
        failed[k] = _outcomes(first, "FAILED")
    assert set().union(*failed.values()) == FAILING
    for k in (1, 2, 3):
        cache = f"-ocache_dir=.cache-{k}"
        again = toolkit_cli(suite, "test.shard", f"--shard={k}", "--shards=3", "--", "-v", cache,
                         "--lf")
        assert _outcomes(again, "FAILED") == failed[k], again.stdout
        assert again.returncode == (1 if failed[k] else 0), again.stdout
        if failed[k]:
            assert not _outcomes(again, "PASSED"), "--lf ran only the shard's failures"


def test_arguments_after_the_double_dash_keep_their_quoting(suite: Path) -> None:
    (suite / "tests" / "integration" / "test_ids.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('x', [1, 2], ids=['a b', 'c'])\n"
        "def test_p(x):\n    pass\n")
    result = toolkit_cli(suite, "test.shard", "--shard=1", "--shards=1", "--", "-v",
                      "-k", "test_m1 and (test_0 or test_1)")
    assert _outcomes(result, "PASSED") == {"tests/integration/test_m1.py::test_0",
                                           "tests/integration/test_m1.py::test_1"}, result.stdout
    # a node id with a space reaches pytest as one argument (the shard's whole suite runs too)
    spaced = toolkit_cli(suite, "test.shard", "--shard=1", "--shards=1", "--", "-v",
                      "tests/integration/test_ids.py::test_p[a b]")
    assert "not found" not in spaced.stdout + spaced.stderr
    assert "tests/integration/test_ids.py::test_p[a b] PASSED" in spaced.stdout
    # reaches pytest intact, which judges it (no traceback from splitting it again)
    quote = toolkit_cli(suite, "test.shard", "--shard=1", "--shards=1", "--", "-k", "quote'single")
    assert "Traceback" not in quote.stderr
    assert "Wrong expression passed to '-k': quote'single" in quote.stderr


def test_nox_sessions_pass_arguments_as_given() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    result = subprocess.run(["nox", "--force-venv-backend", "none", "-s", "integration-1", "--",
                             "-k", "orders or nosuchthing"], cwd=ROOT, text=True,
                            capture_output=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "file or directory not found" not in result.stdout + result.stderr


def test_dry_run_shows_collection_errors(suite: Path) -> None:
    (suite / "tests" / "integration" / "test_broken.py").write_text(
        "import nosuchmodule_xyz\n\ndef test_x():\n    pass\n")
    result = toolkit_cli(suite, "test.shard", "--shard=1", "--shards=3", "--dry-run")
    assert result.returncode != 0
    assert "nosuchmodule_xyz" in result.stdout + result.stderr
    assert "test_broken.py" in result.stdout + result.stderr


def test_dry_run_under_xdist_plans_without_workers(suite: Path) -> None:
    result = toolkit_cli(suite, "test.shard", "--shard=2", "--shards=3", "--dry-run", "--",
                      "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INTERNALERROR" not in result.stdout + result.stderr
    assert any(line.startswith("shard 2/3 (duration):") for line in result.stdout.splitlines())


def test_flags_that_disagree_with_the_ci_are_refused(suite: Path) -> None:
    gitlab = {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4"}
    line = _one_line(toolkit_cli(suite, "test.shard", "--shards=8", env=gitlab))
    assert "--shards 8" in line and "CI_NODE_TOTAL=4" in line
    line = _one_line(toolkit_cli(suite, "test.shard", "--shard=3", env=gitlab))
    assert "--shard 3" in line and "CI_NODE_INDEX" in line
    agree = toolkit_cli(suite, "test.shard", "--shard=1", "--shards=4", "--dry-run", env=gitlab)
    assert agree.returncode == 0, agree.stderr
    both = toolkit_cli(suite, "test.shard", "--dry-run",
                    env={**gitlab, "CIRCLE_NODE_INDEX": "1", "CIRCLE_NODE_TOTAL": "2"})
    assert both.returncode == 0, both.stderr
    assert "CI_NODE_INDEX/CI_NODE_TOTAL" in both.stderr and "CIRCLE_NODE_INDEX" in both.stderr
    assert "shard 1/4" in both.stdout


def test_nox_and_ci_matrix_read_the_same_shard_count() -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")},
           "TOOLKIT_SHARDS": "6"}
    listing = subprocess.run(["nox", "-l"], cwd=ROOT, text=True, capture_output=True, env=env)
    assert "integration-6" in listing.stdout, listing.stdout + listing.stderr
    matrix = subprocess.run([sys.executable, "-m", "toolkit", "ci.matrix"],
                            cwd=ROOT / "examples" / "shop", text=True, capture_output=True,
                            env=env)
    assert json.loads(matrix.stdout) == [1, 2, 3, 4, 5, 6]


def test_a_shard_count_below_one_is_refused(suite: Path) -> None:
    line = _one_line(toolkit_cli(suite, "ci.matrix", "--shards", "0"))
    assert "--shards" in line and "at least 1" in line
    (suite / "pyproject.toml").write_text("[tool.toolkit]\nshards = 0\n")
    line = _one_line(toolkit_cli(suite, "ci.matrix"))
    assert "shards" in line and "at least 1" in line
    line = _one_line(toolkit_cli(suite, "test.shard", "--shard=1", "--shards=-2"))
    assert "at least 1" in line


def test_unknown_strategy_is_one_line(suite: Path) -> None:
    line = _one_line(toolkit_cli(suite, "test.shard", "--shard=1", "--shards=3",
                              "--strategy=bogus"))
    assert "bogus" in line and "hash" in line and "duration" in line


def test_merge_drops_tests_removed_from_a_file_that_still_exists(suite: Path) -> None:
    for k in (1, 2, 3):
        toolkit_cli(suite, "test.shard", f"--shard={k}", "--shards=3")
    module = suite / "tests" / "integration" / "test_m5.py"
    module.write_text(module.read_text().replace("def test_3", "def renamed_3"))
    files = []
    for k in (1, 2, 3):
        toolkit_cli(suite, "test.shard", f"--shard={k}", "--shards=3")
        files += ["--merge", str(durations.shard_path(suite, k, 3))]
    result = toolkit_cli(suite, "test.durations", *files)
    assert result.returncode == 0, result.stderr
    merged = durations.load(durations.path(suite))
    assert "tests/integration/test_m5.py::test_3" not in merged
    assert "tests/integration/test_m5.py::test_2" in merged
    assert "1 removed tests dropped" in result.stdout


def test_merge_and_record_never_lose_each_others_writes(tmp_path: Path) -> None:
    target = durations.path(tmp_path)
    source = tmp_path / "shard.json"
    durations.record(source, {"from/shard.py::test_s": 1.0})

    def work(i: int) -> None:
        if i % 2:
            durations.merge(target, [source])
        else:
            durations.record(target, {f"t.py::test_{i}": float(i)})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(40)))
    stored = durations.load(target)
    assert {f"t.py::test_{i}" for i in range(0, 40, 2)} <= stored.keys()
    assert "from/shard.py::test_s" in stored
    assert not list(target.parent.glob("*.tmp"))


def test_xfail_tests_record_their_real_time(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "test_x.py").write_text(
        "import time\nimport pytest\n\n@pytest.mark.xfail(strict=False)\n"
        "def test_slow_xfail():\n    start = time.perf_counter()\n"
        "    while time.perf_counter() - start < 0.3:\n        pass  # work, not a wait\n"
        "    assert False\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                   cwd=tmp_path, capture_output=True, check=False)
    assert durations.seconds(durations.path(tmp_path))["test_x.py::test_slow_xfail"] >= 0.3
