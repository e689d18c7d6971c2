"""A paused node is frozen, not dead: a query with a client timeout fails fast and says so;
unpaused, it answers."""

from __future__ import annotations

import time

import pytest

from toolkit.cluster import NoAnswer, Node


def test_a_paused_node_times_out_fast_and_answers_when_unpaused(
        toolkit_cluster, cluster_images) -> None:  # type: ignore[no-untyped-def]
    cluster = toolkit_cluster(Node("ch", "toolkit/clickhouse", "clickhouse"))
    node = cluster["ch"]
    assert node.query("SELECT 1") == [("1",)]
    node.pause()
    started = time.monotonic()
    with pytest.raises(NoAnswer, match="node ch: no answer within 1 s"):
        node.query("SELECT 1", timeout=1)
    assert time.monotonic() - started < 3
    node.unpause()
    assert node.query("SELECT 1") == [("1",)]
