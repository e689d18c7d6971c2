"""Random settings, repetition and random order in refs.run, on every engine: a test that reads
a default setting, or prints rows without ORDER BY, is caught and reported FLAKY (with the
failing draws) or failed with a command that reproduces it; a correct test never is; tagged
no-random-settings gets none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import refs_project, toolkit_cli
from toolkit.refs.random_settings import draw

# a value each engine's random list changes, read back: the reference holds the default
READS_A_DEFAULT = {
    "sqlite": ("PRAGMA cache_size;\n", "-2000\n"),
    "postgresql": ("SHOW work_mem;\n", "4MB\n"),
    "mysql": ("SELECT @@SESSION.join_buffer_size;\n", "262144\n"),
    "clickhouse": ("SELECT value FROM system.settings WHERE name = 'max_block_size';\n",
                   "65409\n"),
}
# ordered output, and a join, a sort and an aggregation the random plans must not change
CORRECT = ("CREATE TABLE a (id INTEGER, v INTEGER);\nCREATE TABLE b (id INTEGER, w INTEGER);\n"
           "INSERT INTO a VALUES (3, 30), (1, 10), (2, 20);\n"
           "INSERT INTO b VALUES (2, 200), (3, 300), (1, 100);\n"
           "SELECT a.id, v + w FROM a JOIN b ON a.id = b.id ORDER BY a.id;\n"
           "SELECT count(*), sum(v) FROM a;\n", "1\t110\n2\t220\n3\t330\n3\t60\n")
CLICKHOUSE_CORRECT = ("CREATE TABLE a (id Int32, v Int32) ENGINE = Memory;\n"
                      "CREATE TABLE b (id Int32, w Int32) ENGINE = Memory;\n" + CORRECT[0].split(
                          "\n", 2)[2], CORRECT[1])


def _engine(url: str) -> str:
    return {"chdb": "clickhouse", "sqli": "sqlite", "post": "postgresql"}.get(url[:4], "mysql")


def _keeps_the_default(engine: str, seed: int, default: str, runs: int) -> bool:
    """Whether any of a run's draws for reads_default leaves its setting at the default."""
    name = {"sqlite": "cache_size", "postgresql": "work_mem", "mysql": "join_buffer_size",
            "clickhouse": "max_block_size"}[engine]
    return any(dict(draw(engine, seed + run, "reads_default"))[name] == default.strip()
               for run in range(runs))


def test_a_test_that_reads_a_default_is_flaky_and_a_correct_one_never(
        tmp_path: Path, refs_url: str) -> None:
    engine = _engine(refs_url)
    reads, default = READS_A_DEFAULT[engine]
    correct = CLICKHOUSE_CORRECT if engine == "clickhouse" else CORRECT
    if engine == "sqlite" or engine == "mysql":
        correct = CORRECT
    project = refs_project(tmp_path, {
        "reads_default.sql": reads, "reads_default.reference": default,
        "tagged.sql": f"-- Tags: no-random-settings\n{reads}", "tagged.reference": default,
        "correct.sql": correct[0], "correct.reference": correct[1]})
    plain = toolkit_cli(project, "refs.run", "--url", refs_url)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # the references are right
    result = toolkit_cli(project, "refs.run", "--url", refs_url, "--random-settings",
                         "--repeat", "12", "--order", "random", "--json", "out.json")
    assert result.returncode == 1, result.stdout
    seed = int(re.search(r"^seed (\d+) ", result.stderr, re.M).group(1))  # type: ignore[union-attr]
    statuses = {r["name"]: r["status"] for r in json.loads((project / "out.json").read_text())}
    # FLAKY when some of the twelve draws keep the default, failed when none does (about one
    # seed in 170 on the engines whose list holds it; always on ClickHouse, whose
    # max_block_size list holds no default: versions differ in it)
    flagged = statuses.pop("reads_default")
    assert statuses == {"tagged": "passed", "correct": "passed"}, result.stdout
    if _keeps_the_default(engine, seed, default, runs=12):
        assert flagged == "flaky", result.stdout
        assert "FLAKY reads_default: failed " in result.stdout
        assert "failing runs:\n  run with seed " in result.stdout
        assert result.stdout.strip().splitlines()[-1] == "2 passed, 1 failed (1 flaky), 0 skipped"
    else:
        assert flagged == "failed", result.stdout
        assert "reproduce: toolkit refs.run --random-settings --seed " in result.stdout
    again = toolkit_cli(project, "refs.run", "--url", refs_url, "--random-settings",
                        "--repeat", "12", "--order", "random", "--seed", str(seed))
    assert again.stdout == result.stdout  # the same draws, the same verdicts


def test_a_test_no_draw_of_which_keeps_the_default_fails_with_the_command_that_reproduces_it(
        tmp_path: Path) -> None:
    reads, default = READS_A_DEFAULT["sqlite"]
    seed = next(s for s in range(10_000) if not _keeps_the_default("sqlite", s, default, runs=12))
    project = refs_project(tmp_path, {"reads_default.sql": reads,
                                      "reads_default.reference": default})
    result = toolkit_cli(project, "refs.run", "--url", f"sqlite:///{tmp_path}/refs.sqlite",
                         "--random-settings", "--repeat", "12", "--seed", str(seed))
    assert result.returncode == 1, result.stdout
    assert "FLAKY" not in result.stdout
    assert "reproduce: toolkit refs.run --random-settings --seed " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 passed, 1 failed, 0 skipped"


def test_a_failure_under_random_settings_prints_the_command_that_reproduces_it(
        tmp_path: Path) -> None:
    project = refs_project(tmp_path, {
        "unordered.sql": "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1), (2), (3);\n"
                         "SELECT x FROM t;\n",
        "unordered.reference": "1\n2\n3\n"})
    failing = None
    for seed in range(20):  # reverse_unordered_selects is on in about half the draws
        result = toolkit_cli(project, "refs.run", "--random-settings", "--seed", str(seed))
        if result.returncode:
            failing = (seed, result.stdout)
            break
    assert failing is not None
    seed, out = failing
    assert "reverse_unordered_selects=1" in out
    command = re.search(r"reproduce: (toolkit refs\.run [^\]]+)\]", out).group(1)  # type: ignore[union-attr]
    assert command == f"toolkit refs.run --random-settings --seed {seed} -s unordered"
    again = toolkit_cli(project, *command.split()[1:])
    assert again.returncode == 1 and "reverse_unordered_selects=1" in again.stdout


@pytest.mark.parametrize("args, message", [
    (["--repeat", "0"], "--repeat 0: give a number of runs from 1"),
    (["--order", "shuffled"], "--order 'shuffled': choose name or random"),
    (["--seed", "x"], "--seed takes a whole number, not 'x'"),
])
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    project = refs_project(tmp_path, {"a.sql": "SELECT 1;\n", "a.reference": "1\n"})
    result = toolkit_cli(project, "refs.run", *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"toolkit: error: {message}"]
