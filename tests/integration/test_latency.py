"""delay(a, 200): a round trip from a peer to a takes at least 200 ms; heal(): back under
20 ms. (No netem here: a userspace proxy in a's namespace holds each request.)"""

from __future__ import annotations

from toolkit.cluster import Node


def test_delay_slows_a_peers_round_trip_and_heal_restores_it(
        toolkit_cluster, cluster_images) -> None:  # type: ignore[no-untyped-def]
    cluster = toolkit_cluster(Node("a", "toolkit/postgres-replica", "postgres"),
                              Node("b", "toolkit/postgres-replica", "postgres"))
    a, b = cluster["a"], cluster["b"]
    assert b.round_trip(a) < 0.02
    cluster.delay("a", 200)
    assert b.round_trip(a) >= 0.2
    assert a.query("SELECT 1") == [(1,)]  # the host's own connections are not delayed
    cluster.heal()
    assert b.round_trip(a) < 0.02
