"""Shard partitioning: properties that must hold for any suite, N and input order."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.shards import ShardError, estimate, from_ci, parse_spec, partition, resolve

names = st.lists(st.text(min_size=1, max_size=12), max_size=60)
strategies = st.sampled_from(["hash", "duration"])


@given(names, st.integers(min_value=1, max_value=12), strategies, st.randoms())
@settings(max_examples=200, deadline=None)
def test_union_is_the_suite_and_shards_are_disjoint(items, n, strategy, rnd) -> None:
    durations = {i: rnd.random() * 10 for i in items if rnd.random() < 0.7}
    shards = partition(items, n, strategy, durations)
    assert len(shards) == n
    flat = [i for shard in shards for i in shard]
    assert sorted(flat) == sorted(set(items))
    assert len(flat) == len(set(flat))


@given(names, st.integers(min_value=1, max_value=8), strategies, st.randoms())
@settings(max_examples=100, deadline=None)
def test_same_split_whatever_the_input_order(items, n, strategy, rnd) -> None:
    durations = {i: float(len(i)) for i in items}
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert partition(items, n, strategy, durations) == partition(shuffled, n, strategy, durations)


@given(names, st.text(min_size=1, max_size=12), st.integers(min_value=1, max_value=8))
def test_hash_adding_a_test_moves_no_other(items, new, n) -> None:
    before = partition(items, n, "hash")
    after = partition([*items, new], n, "hash")
    for old_shard, new_shard in zip(before, after, strict=True):
        assert set(old_shard) <= set(new_shard)


def test_duration_balances_skewed_suite() -> None:
    rnd = random.Random(7)
    durations = {f"t{i:03d}": rnd.lognormvariate(0, 1.2) for i in range(240)}
    loads = [sum(durations[i] for i in s) for s in partition(durations, 4, "duration", durations)]
    assert max(loads) / (sum(loads) / 4) <= 1.05


def test_unknown_items_cost_the_mean() -> None:
    assert estimate(["a", "b", "c"], {"a": 1.0, "b": 3.0}) == {"a": 1.0, "b": 3.0, "c": 2.0}
    assert estimate(["x"], {}) == {"x": 1.0}


@pytest.mark.parametrize(("env", "expected"), [
    ({"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "5"}, (3, 5)),  # GitLab, 1-based
    ({"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "4"}, (1, 4)),  # CircleCI, 0-based
    ({"BUILDKITE_PARALLEL_JOB": "2", "BUILDKITE_PARALLEL_JOB_COUNT": "3"}, (3, 3)),
    ({"SEMAPHORE_JOB_INDEX": "2", "SEMAPHORE_JOB_COUNT": "2"}, (2, 2)),  # Semaphore, 1-based
    # Azure Pipelines, 1-based; a job not split is 1 of 1, which leaves the flags to decide
    ({"SYSTEM_JOBPOSITIONINPHASE": "3", "SYSTEM_TOTALJOBSINPHASE": "4"}, (3, 4)),
    ({"SYSTEM_JOBPOSITIONINPHASE": "1", "SYSTEM_TOTALJOBSINPHASE": "1"}, None),
    # a Kubernetes Indexed Job, 0-based, its total passed in as TOOLKIT_SHARDS
    ({"JOB_COMPLETION_INDEX": "0", "TOOLKIT_SHARDS": "3"}, (1, 3)),
    ({"JOB_COMPLETION_INDEX": "2", "TOOLKIT_SHARDS": "3"}, (3, 3)),
    ({"TOOLKIT_SHARDS": "3"}, None),  # the nox sessions' count, outside a Job
    ({}, None),
])
def test_ci_variables(env: dict[str, str], expected: tuple[int, int] | None) -> None:
    assert from_ci(env) == expected


def test_flags_may_repeat_the_ci_never_contradict_it() -> None:
    env = {"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "5"}
    assert resolve(3, 5, env) == (3, 5)
    assert resolve(None, 5, env) == (3, 5)
    with pytest.raises(ShardError, match="disagrees with CI_NODE_TOTAL=5"):
        resolve(2, 4, env)
    with pytest.raises(ShardError, match="disagrees with CI_NODE_INDEX"):
        resolve(2, None, env)
    assert resolve(None, None, env) == (3, 5)
    assert resolve(None, None, {}) == (1, 1)


def test_an_unsplit_azure_job_takes_the_flags() -> None:
    env = {"SYSTEM_JOBPOSITIONINPHASE": "1", "SYSTEM_TOTALJOBSINPHASE": "1"}
    assert resolve(2, 4, env) == (2, 4)
    with pytest.raises(ShardError, match="disagrees with SYSTEM_TOTALJOBSINPHASE=4"):
        resolve(2, 3, {"SYSTEM_JOBPOSITIONINPHASE": "2", "SYSTEM_TOTALJOBSINPHASE": "4"})


@pytest.mark.parametrize(("call", "message"), [
    (lambda: resolve(None, None, {"JOB_COMPLETION_INDEX": "1"}),
     "JOB_COMPLETION_INDEX=1 is set but not TOOLKIT_SHARDS: a Kubernetes Indexed Job"),
    (lambda: resolve(None, None, {"JOB_COMPLETION_INDEX": "x", "TOOLKIT_SHARDS": "2"}),
     "not whole numbers"),
    (lambda: resolve(0, 3, {}), "outside 1..3"),
    (lambda: resolve(4, 3, {}), "outside 1..3"),
    (lambda: resolve(2, None, {}), "give both --shard K and --shards N"),
    (lambda: parse_spec("3of5"), "takes K/N"),
    (lambda: partition(["a"], 0), "at least 1"),
    (lambda: partition(["a"], 2, "random"), "unknown shard strategy"),
])
def test_bad_input(call, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        call()
