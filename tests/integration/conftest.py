"""The images the integration tests' clusters run, built on the offline Debian base (a no-op
when their contexts are unchanged), under the names toolkit.topologies uses."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
IMAGES = {"toolkit/postgres-replica": "postgres-replica", "toolkit/clickhouse": "clickhouse",
          "toolkit/zookeeper": "zookeeper", "toolkit/nethelper": "nethelper"}


@pytest.fixture(scope="session")
def cluster_images(docker_client, base_image: str) -> None:  # type: ignore[no-untyped-def]
    from toolkit.image import build

    for tag, context in IMAGES.items():
        build(docker_client, ROOT / "images" / context, tag=tag, build_args={"BASE": base_image})
