"""Deterministic shards of a test suite: every machine computes the same split from the same
inputs, whatever order it listed the tests in."""

from __future__ import annotations

import hashlib
import heapq
import json
import os
from collections.abc import Callable, Iterable, Mapping

from toolkit.errors import ToolkitError

STRATEGIES = ("hash", "duration")


class ShardError(ToolkitError):
    pass


def _bucket(item: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(item.encode()).digest()[:8], "big") % shards


def partition(items: Iterable[str], shards: int, strategy: str = "hash",
              durations: Mapping[str, float] | None = None) -> list[list[str]]:
    """``items`` split into ``shards`` lists (shard 1 is element 0), each sorted.

    ``hash``: an item's shard depends on its name alone, so adding a test never moves another.
    ``duration``: longest first onto the least-loaded shard, from ``durations`` (unknown items
    count as the mean of the known ones)."""
    check_count(shards, "the number of shards")
    check_strategy(strategy)
    unique = sorted(set(items))
    result: list[list[str]] = [[] for _ in range(shards)]
    if strategy == "hash":
        for item in unique:
            result[_bucket(item, shards)].append(item)
        return result
    cost = estimate(unique, durations or {})
    loads = [(0.0, index) for index in range(shards)]  # a heap: least load, then lowest index
    for item in sorted(unique, key=lambda i: (-cost[i], i)):
        load, index = heapq.heappop(loads)
        result[index].append(item)
        heapq.heappush(loads, (load + cost[item], index))
    return [sorted(shard) for shard in result]


def plan_id(items: Iterable[str], parts: list[list[str]]) -> str:
    """What a split is: ``COLLECTION-SPLIT``, a hash of every test collected and one of how
    they were split (shard count, strategy and stored durations decide that)."""
    collection = hashlib.sha256("\n".join(sorted(set(items))).encode()).hexdigest()[:8]
    split = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:8]
    return f"{collection}-{split}"


def check_plan(expected: str, actual: str, collected: int, shard: int, shards: int) -> None:
    """Refuse to run a split other than the one every shard was given (TOOLKIT_SHARD_PLAN)."""
    if expected == actual:
        return
    if expected.split("-")[0] != actual.split("-")[0]:
        raise ShardError(
            f"shard {shard}/{shards} collected other tests than the plan it was given: "
            f"{collected} tests here (plan {actual}), plan {expected} was made on another "
            "collection; a different checkout? Run every shard on the same commit, or plan "
            "again (toolkit test.shard --plan-id)")
    raise ShardError(
        f"shard {shard}/{shards} splits the same {collected} tests otherwise than the plan it "
        f"was given (plan {actual} here, {expected} given): its stored durations or strategy "
        "differ; give every shard the same .toolkit/durations.json and settings")


def estimate(items: Iterable[str], durations: Mapping[str, float]) -> dict[str, float]:
    """Each item's expected seconds: its stored duration, else the mean of the known ones."""
    items = list(items)
    known = [durations[i] for i in items if i in durations]
    mean = sum(known) / len(known) if known else 1.0
    return {i: durations.get(i, mean) for i in items}


# CI systems that split one job over parallel nodes: (index variable, total variable, base).
# GitHub Actions and Jenkins have none: a matrix passes --shard/--shards (toolkit ci.matrix)
CI_NODES = (
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", 1),  # GitLab `parallel:`
    ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),  # CircleCI
    ("BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),  # Buildkite
    ("SEMAPHORE_JOB_INDEX", "SEMAPHORE_JOB_COUNT", 1),  # Semaphore
    # Azure Pipelines sets these on every job: 1 of 1 is a job not split (see ci_nodes)
    ("SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE", 1),
    # a Kubernetes Indexed Job gives each pod its index; the total is the Job's completions,
    # which no pod is told: the manifest passes it as TOOLKIT_SHARDS (toolkit ci.matrix)
    ("JOB_COMPLETION_INDEX", "TOOLKIT_SHARDS", 0),
)
# what to set when only the index is there
MISSING_TOTAL = {"JOB_COMPLETION_INDEX": "a Kubernetes Indexed Job: set TOOLKIT_SHARDS to the "
                                         "Job's spec.completions in the pod's environment"}


def from_ci(environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """(shard, shards), 1-based, from the CI's parallel-node variables, or None outside one."""
    found = ci_nodes(environ)
    return (found[0][0], found[0][1]) if found else None


def ci_nodes(environ: Mapping[str, str] | None = None) -> list[tuple[int, int, str, str]]:
    """Every CI's parallel-node variables that are set, as (shard, shards, index variable,
    total variable), shards 1-based."""
    env = os.environ if environ is None else environ
    found = []
    for index_var, total_var, base in CI_NODES:
        if env.get(index_var) and not env.get(total_var) and index_var in MISSING_TOTAL:
            raise ShardError(f"{index_var}={env[index_var]} is set but not {total_var}: "
                             f"{MISSING_TOTAL[index_var]}")
        if env.get(index_var) and env.get(total_var):
            try:
                index, total = int(env[index_var]), int(env[total_var])
            except ValueError as exc:
                raise ShardError(f"{index_var}={env[index_var]!r} / {total_var}="
                                 f"{env[total_var]!r} are not whole numbers") from exc
            if total == 1 and index_var == "SYSTEM_JOBPOSITIONINPHASE":
                continue  # an Azure job that is not split: flags decide
            found.append((index - base + 1, total, index_var, total_var))
    return found


def check_count(shards: int, what: str = "--shards") -> int:
    if shards < 1:
        raise ShardError(f"{what} must be at least 1, not {shards}")
    return shards


def resolve(shard: int | None, shards: int | None, environ: Mapping[str, str] | None = None,
            say: Callable[[str], None] | None = None) -> tuple[int, int]:
    """The shard to run, 1-based: from the CI's variables inside a CI job split over parallel
    nodes (flags may repeat them, never contradict them), else from both flags, else 1/1."""
    if shards is not None:
        check_count(shards)
    detected = ci_nodes(environ)
    if len(detected) > 1 and say is not None:
        names = ", ".join(f"{i}/{t}" for _, _, i, t in detected)
        say(f"toolkit: several CIs' parallel-node variables are set ({names}); using "
            f"{detected[0][2]}/{detected[0][3]}")
    if detected:
        ci_shard, ci_shards, index_var, total_var = detected[0]
        if shards is not None and shards != ci_shards:
            raise ShardError(f"--shards {shards} disagrees with {total_var}={ci_shards} set by "
                             "the CI: drop the flag (or the variable), or some shards never run")
        if shard is not None and shard != ci_shard:
            raise ShardError(f"--shard {shard} disagrees with {index_var} (shard {ci_shard} of "
                             f"{ci_shards} on this node): drop the flag, or every node runs the "
                             "same shard")
        shard, shards = ci_shard, ci_shards
    elif (shard is None) != (shards is None):
        raise ShardError("give both --shard K and --shards N (or run inside a CI job "
                         "split over parallel nodes)")
    shard, shards = (1 if shard is None else shard), (1 if shards is None else shards)
    if not 1 <= shard <= shards:
        raise ShardError(f"shard {shard} is outside 1..{shards} (shards are numbered from 1)")
    return shard, shards


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise ShardError(f"unknown shard strategy {strategy!r}: choose {' or '.join(STRATEGIES)}")
    return strategy


def parse_spec(spec: str) -> tuple[int, int]:
    """'K/N' as given to --toolkit-shard (which must agree with the CI's variables, if set)."""
    try:
        k, n = (int(part) for part in spec.split("/"))
    except ValueError as exc:
        raise ShardError(f"--toolkit-shard takes K/N, e.g. 3/5, not {spec!r}") from exc
    return resolve(k, n)
