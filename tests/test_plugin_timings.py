"""--toolkit-timings shows where each test's database time goes — the wait for a clone, the
hand-over, what dropping it cost the test — with and without the pool, serial and under xdist,
and writes the same into .toolkit/timings.json."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.helpers import plugin_project
from tests.test_pool import SUITE
from toolkit.settings import Settings


@pytest.mark.parametrize("xdist", [[], ["-n", "2", "-p", "xdist"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("pool", [[], ["--toolkit-no-pool"]], ids=["pool", "no-pool"])
def test_each_test_has_its_wait_hand_over_and_drop(
        pytester: pytest.Pytester, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        xdist: list[str], pool: list[str]) -> None:
    plugin_project(pytester, monkeypatch, settings.database_url, settings.prefix)
    pytester.makepyfile(**{f"test_{n}": textwrap.dedent(SUITE.format(n=n)) for n in range(4)})
    result = pytester.runpytest_subprocess("--toolkit-timings", *pool, *xdist)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*toolkit: clone timings*",
                                 "*wait*hand-over*drop*pool*",
                                 "*pool hit rate: */4 (*%)*"])
    kind = "made" if pool else "*"  # without a pool every clone is made for its test
    result.stdout.fnmatch_lines([f"* ms * ms * ms  {kind}*test_0.py::test_0*"])
    timings = json.loads((pytester.path / ".toolkit" / "timings.json").read_text())
    assert sorted(timings["tests"]) == [f"test_{n}.py::test_{n}" for n in range(4)]
    for value in timings["tests"].values():
        assert {"wait_s", "handover_s", "drop_s", "hit"} <= set(value)
        assert min(value["wait_s"], value["handover_s"], value["drop_s"]) >= 0
        assert value["hit"] is False or not pool
