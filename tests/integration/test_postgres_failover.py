"""A primary and a hot standby: rows follow; a partition stops them and the standby falls
behind; healed, they arrive; the primary killed, the promoted standby has the data and takes
writes."""

from __future__ import annotations

from toolkit.topologies import postgres_primary_standby, promote, replay_lag_bytes, wait_for


def test_the_standby_follows_survives_a_partition_and_takes_over(
        toolkit_cluster, cluster_images) -> None:  # type: ignore[no-untyped-def]
    cluster = toolkit_cluster(*postgres_primary_standby())
    primary, standby = cluster["primary"], cluster["standby"]
    primary.query("CREATE TABLE t (id int PRIMARY KEY)")
    primary.query("INSERT INTO t SELECT generate_series(1, 100)")
    wait_for(lambda: standby.query("SELECT count(*) FROM t") == [(100,)], 30,
             "the standby to replay 100 rows")

    cluster.partition("primary", "standby")
    primary.query("INSERT INTO t SELECT generate_series(101, 200)")
    wait_for(lambda: replay_lag_bytes(primary, standby) > 0, 10, "the replay lag to grow")
    assert standby.query("SELECT count(*) FROM t") == [(100,)]

    cluster.heal()
    wait_for(lambda: standby.query("SELECT count(*) FROM t") == [(200,)], 60,
             "the standby to catch up after heal()")
    assert replay_lag_bytes(primary, standby) == 0

    primary.kill()
    promote(standby)
    assert standby.query("SELECT count(*) FROM t") == [(200,)]
    standby.query("INSERT INTO t VALUES (201)")
    assert standby.query("SELECT max(id) FROM t") == [(201,)]
