"""Docker benchmark: a cold image build (no layer cache), a no-op rebuild of the unchanged
context, and container start-to-ready, for images/postgres on the local Debian base.

    DOCKER_HOST=… python -m bench.docker [--starts 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toolkit.docker import client
from toolkit.image import build, debian_base
from toolkit.servers import docker as containers

CONTEXT = Path(__file__).resolve().parent.parent / "images" / "postgres"
TAG = "toolkit-bench/postgres:dev"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    docker = client()
    base = debian_base(docker)
    for image in docker.images.list(name="toolkit-bench/postgres"):
        docker.images.remove(image.id, force=True)
    docker.images.prune(filters={"dangling": True})
    start = time.perf_counter()
    cold = build(docker, CONTEXT, tag=TAG, build_args={"BASE": base}, no_cache=True)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    again = build(docker, CONTEXT, tag=TAG, build_args={"BASE": base})
    noop_s = time.perf_counter() - start
    assert cold.built and not again.built
    ready = []
    for _ in range(args.starts):
        start = time.perf_counter()
        with containers.running(docker, "postgres", TAG):
            ready.append(time.perf_counter() - start)
    table = Table(title="images/postgres (Debian PostgreSQL 15 on a debootstrap base)")
    for column in ("cold build", "no-op rebuild", "start → ready p50", "start → ready max"):
        table.add_column(column, justify="right")
    table.add_row(f"{cold_s:.1f} s", f"{noop_s * 1000:.0f} ms",
                  f"{statistics.median(ready) * 1000:.0f} ms", f"{max(ready) * 1000:.0f} ms")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
