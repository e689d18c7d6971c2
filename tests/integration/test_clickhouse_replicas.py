"""Two ClickHouse replicas and ZooKeeper: a replica killed loses nothing, the other takes
inserts and the first catches up when it is back; a replica cut off from ZooKeeper refuses
inserts with ClickHouse's read-only/keeper error, and takes them again once healed."""

from __future__ import annotations

from toolkit.cluster import QueryError
from toolkit.topologies import clickhouse_replicas, wait_for

TABLE = ("CREATE TABLE t (id UInt32) ENGINE = ReplicatedMergeTree("
         "'/clickhouse/tables/{shard}/t', '{replica}') ORDER BY id")
# TABLE_IS_READ_ONLY, NO_ZOOKEEPER, KEEPER_EXCEPTION, UNKNOWN_STATUS_OF_INSERT
KEEPER_ERRORS = {"242", "225", "999", "319"}


def test_a_replica_killed_or_cut_off_loses_nothing(toolkit_cluster, cluster_images  # type: ignore[no-untyped-def]
                                                   ) -> None:
    cluster = toolkit_cluster(*clickhouse_replicas(2))
    a, b = cluster["ch1"], cluster["ch2"]
    for node in (a, b):
        node.query(TABLE)
    a.query("INSERT INTO t SELECT number FROM numbers(1000)")
    wait_for(lambda: b.query("SELECT count() FROM t") == [("1000",)], 30, "ch2 to replicate")

    a.kill()
    assert b.query("SELECT count() FROM t") == [("1000",)]
    b.query("INSERT INTO t SELECT number + 1000 FROM numbers(10)")
    a.restart()
    wait_for(lambda: a.query("SELECT count() FROM t") == [("1010",)], 60, "ch1 to catch up")

    cluster.isolate("ch2")
    refused: list[str] = []

    def insert_refused() -> bool:
        try:
            b.query("INSERT INTO t VALUES (5000)", timeout=10)
        except QueryError as exc:
            refused.append(exc.code)
            return exc.code in KEEPER_ERRORS
        return False

    wait_for(insert_refused, 30, "an insert on the isolated ch2 to be refused")
    assert refused[-1] in KEEPER_ERRORS

    cluster.heal()

    def insert_taken() -> bool:
        b.query("INSERT INTO t VALUES (6000)", timeout=10)
        return True

    wait_for(insert_taken, 60, "ch2 to take inserts again after heal()")
    wait_for(lambda: a.query("SELECT countIf(id = 6000) FROM t") == [("1",)], 30,
             "the insert to reach ch1")
