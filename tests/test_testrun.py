"""toolkit test.shard / test.changed / test.durations / ci.matrix on a real pytest suite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit import durations

TESTS = 12


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.toolkit]\nshards = 3\n")
    integration = tmp_path / "tests" / "integration"
    integration.mkdir(parents=True)
    for f in range(4):
        (integration / f"test_m{f}.py").write_text("".join(
            f"def test_{t}():\n    pass\n" for t in range(TESTS // 4)))
    (integration / "test_env.py").write_text(
        "import os\n\ndef test_env():\n"
        "    assert os.environ['TOOLKIT_IMAGE'] == 'db:abc'\n"
        "    assert os.environ['TOOLKIT_DATABASE_URL'].startswith('sqlite')\n")
    return tmp_path


def _toolkit(root: Path, *args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLKIT_", "CI_"))}
    return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=root, text=True,
                          capture_output=True, env={**base, "TOOLKIT_IMAGE": "db:abc",
                                                    **(env or {})})


def _ran(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split(" ")[0] for line in result.stdout.splitlines() if " PASSED" in line}


def test_shards_cover_the_suite_once(suite: Path) -> None:
    seen: list[str] = []
    for k in (1, 2, 3):
        result = _toolkit(suite, "test.shard", f"--shard={k}", "--shards=3", "--", "-v")
        assert result.returncode == 0, result.stdout + result.stderr
        seen += _ran(result)
    assert len(seen) == len(set(seen)) == TESTS + 1


def test_dry_run_prints_items_and_prediction(suite: Path) -> None:
    result = _toolkit(suite, "test.shard", "--shard=2", "--shards=3", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    items = [ln for ln in lines if ln.startswith("tests/integration/") and "\t" in ln]
    assert items and all(ln.endswith("s") for ln in items)
    assert any(ln.startswith("shard 2/3 (duration):") and "predicted" in ln for ln in lines)
    assert not (suite / ".toolkit" / "durations.json").exists()


def test_ci_variables_choose_the_shard(suite: Path) -> None:
    gitlab = _toolkit(suite, "test.shard", "--dry-run",
                      env={"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "3"})
    assert "shard 3/3" in gitlab.stdout
    # flags that contradict the CI would leave shards unrun: refused (see test_shard_safety)
    explicit = _toolkit(suite, "test.shard", "--shard=1", "--shards=2", "--dry-run",
                        env={"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "3"})
    assert explicit.returncode == 1 and "disagrees with CI_NODE_TOTAL=3" in explicit.stderr


def test_empty_shard_exits_zero_with_a_line(tmp_path: Path) -> None:
    (tmp_path / "tests" / "integration").mkdir(parents=True)
    (tmp_path / "tests" / "integration" / "test_one.py").write_text("def test_a():\n    pass\n")
    results = [_toolkit(tmp_path, "test.shard", f"--shard={k}", "--shards=4") for k in (1, 2, 3, 4)]
    assert all(r.returncode == 0 for r in results)
    assert sum("selected no tests: nothing to run" in r.stdout for r in results) == 3


def test_failures_keep_pytest_exit_code(suite: Path) -> None:
    (suite / "tests" / "integration" / "test_m0.py").write_text("def test_x():\n    assert 0\n")
    codes = {_toolkit(suite, "test.shard", f"--shard={k}", "--shards=3").returncode
             for k in (1, 2, 3)}
    assert codes == {0, 1}


def test_durations_recorded_per_shard_then_merged(suite: Path) -> None:
    _toolkit(suite, "test.shard", "--shard=1", "--shards=2")
    _toolkit(suite, "test.shard", "--shard=2", "--shards=2")
    assert not durations.path(suite).exists()  # shards never change what the others plan from
    parts = sorted((suite / ".toolkit").glob("durations-shard-*-of-2.json"))
    assert len(parts) == 2
    _toolkit(suite, "test.durations", *[a for p in parts for a in ("--merge", str(p))])
    assert len(durations.seconds(durations.path(suite))) == TESTS + 1
    other = suite / "shard2.json"
    other.write_text(json.dumps({"format": 1, "tests": {
        "tests/integration/test_m1.py::test_0": {"duration": 7.0, "at": "2999-01-01T00:00:00"},
        "tests/integration/test_deleted.py::test_0": {"duration": 1.0,
                                                      "at": "2999-01-01T00:00:00"}}}))
    merged = _toolkit(suite, "test.durations", "--merge", str(other))
    assert merged.returncode == 0 and "1 removed tests dropped" in merged.stdout
    assert durations.seconds(durations.path(suite))["tests/integration/test_m1.py::test_0"] == 7.0


def test_changed_runs_within_budget(suite: Path) -> None:
    durations.record(durations.path(suite), {
        "tests/integration/test_m0.py::test_0": 50.0, "tests/integration/test_m1.py::test_0": 1.0})
    listing = suite / "changed.txt"
    listing.write_text("README.md\ntests/integration/test_m0.py\ntests/integration/test_m1.py\n")
    result = _toolkit(suite, "test.changed", "--budget=10", f"--changed-files={listing}", "--",
                      "-v")
    assert result.returncode == 0, result.stderr
    assert "left out (over the 10s budget): tests/integration/test_m0.py (~50.0s)" in result.stdout
    assert _ran(result) == {f"tests/integration/test_m1.py::test_{t}" for t in range(3)}


def test_ci_matrix(suite: Path) -> None:
    assert json.loads(_toolkit(suite, "ci.matrix").stdout) == [1, 2, 3]
    assert json.loads(_toolkit(suite, "ci.matrix", "--shards=2").stdout) == [1, 2]


def test_bad_flags_are_one_line(suite: Path) -> None:
    result = _toolkit(suite, "test.shard", "--shard=5", "--shards=3")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "shard 5 is outside 1..3" in result.stderr
