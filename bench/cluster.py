"""Cluster benchmark: per topology, start until every node answers (p50 over --reps), each
verb's time until it is in effect, teardown, and what is left afterwards (must be nothing) —
also after the test process is kill -9ed and `toolkit server.gc` runs.

    python -m bench.cluster [--reps 5]

Needs the images (toolkit image.build --context images/NAME --tag toolkit/NAME for
postgres-replica, clickhouse, zookeeper, nethelper) and a Docker engine at DOCKER_HOST.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toolkit.cluster import CLUSTER_LABEL, Cluster, Node
from toolkit.docker import client
from toolkit.image import build, debian_base
from toolkit.topologies import clickhouse_replicas, postgres_primary_standby

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES: dict[str, tuple[Callable[[], list[Node]], str, str, float]] = {
    # name: (nodes, the node hurt, its peer, start target in s)
    "postgres primary + standby": (postgres_primary_standby, "primary", "standby", 5.0),
    "clickhouse 2 replicas + zookeeper": (lambda: clickhouse_replicas(2), "ch1", "ch2", 15.0),
}
VERB_TARGET_S = 0.3


def images(engine) -> None:  # type: ignore[no-untyped-def]
    base = debian_base(engine)
    for name in ("postgres-replica", "clickhouse", "zookeeper", "nethelper"):
        build(engine, ROOT / "images" / name, tag=f"toolkit/{name}", build_args={"BASE": base})


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def leftovers(engine) -> int:  # type: ignore[no-untyped-def]
    return len(engine.containers.list(all=True, filters={"label": CLUSTER_LABEL})) + \
        len(engine.networks.list(filters={"label": CLUSTER_LABEL}))


def one_rep(engine, nodes, hurt: str, peer: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    times: dict[str, float] = {}
    started = time.perf_counter()
    cluster = Cluster(engine, nodes())
    times["ready"] = time.perf_counter() - started
    try:
        times["partition"] = timed(lambda: cluster.partition(hurt, peer))
        times["heal"] = timed(cluster.heal)
        times["delay"] = timed(lambda: cluster.delay(hurt, 200))
        cluster.heal()
        times["pause"] = timed(cluster[hurt].pause)
        cluster[hurt].unpause()
        times["kill"] = timed(cluster[hurt].kill)
    finally:
        times["teardown"] = timed(cluster.close)
    return times


KILLED = """
import sys, time
from toolkit.cluster import Cluster
from toolkit.docker import client
from toolkit.topologies import postgres_primary_standby
Cluster(client(), postgres_primary_standby())
print("ready", flush=True)
time.sleep(600)  # held until the benchmark kill -9s this process
"""


def killed_then_gc() -> tuple[int, int]:
    """Containers and networks a kill -9ed owner leaves, before and after server.gc."""
    engine = client()
    proc = subprocess.Popen([sys.executable, "-c", KILLED], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = leftovers(engine)
    subprocess.run([sys.executable, "-m", "toolkit", "server.gc"], check=True,
                   capture_output=True)
    return before, leftovers(engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    engine = client()
    images(engine)
    assert leftovers(engine) == 0, "clusters from another run are on this daemon"
    table = Table(title=f"toolkit.cluster, {os.cpu_count()} cores, p50 of {args.reps} reps "
                        "(verbs: until in effect)")
    for column in ("topology", "start → all ready", "partition", "heal", "delay", "pause",
                   "kill", "teardown", "left after", "targets"):
        table.add_column(column, justify="right")
    for name, (nodes, hurt, peer, target) in TOPOLOGIES.items():
        reps = [one_rep(engine, nodes, hurt, peer) for _ in range(args.reps)]
        p50 = {k: statistics.median(r[k] for r in reps) for k in reps[0]}
        network = max(max(r[k] for r in reps) for k in ("partition", "heal", "delay"))
        left = leftovers(engine)
        ok = p50["ready"] <= target and network <= VERB_TARGET_S and left == 0
        table.add_row(name, f"{p50['ready']:.2f} s",
                      *(f"{p50[k] * 1000:.0f} ms" for k in ("partition", "heal", "delay",
                                                            "pause", "kill")),
                      f"{p50['teardown']:.2f} s", str(left),
                      f"ready ≤ {target:g} s, network ≤ {VERB_TARGET_S * 1000:.0f} ms (max "
                      f"{network * 1000:.0f}), 0 left {'✓' if ok else '✗'}")
    before, after = killed_then_gc()
    table.add_row("kill -9 of the owner, then server.gc", "", "", "", "", "", "", "",
                  f"{before} → {after}", f"0 left {'✓' if after == 0 else '✗'}")
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
