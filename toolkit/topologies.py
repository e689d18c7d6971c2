"""Ready-made worlds for toolkit.cluster, from the images under images/ (built on the offline
Debian base): a PostgreSQL primary with a hot standby, and ClickHouse replicas coordinated by
ZooKeeper."""

from __future__ import annotations

import time

from toolkit.cluster import ClusterError, Node, Running

POSTGRES_IMAGE = "toolkit/postgres-replica"
CLICKHOUSE_IMAGE = "toolkit/clickhouse"
ZOOKEEPER_IMAGE = "toolkit/zookeeper"


def postgres_primary_standby(primary: str = "primary", standby: str = "standby",
                             image: str = POSTGRES_IMAGE) -> list[Node]:
    """A primary and a hot standby streaming from it (pg_basebackup at its first start)."""
    return [Node(primary, image, "postgres"),
            Node(standby, image, "postgres", environment={"PRIMARY": primary})]


def promote(node: Running, timeout: float = 30.0) -> None:
    """Make a standby the primary; returns once it accepts writes."""
    node.query("SELECT pg_promote(true, 30)", timeout=timeout)
    wait_for(lambda: node.query("SELECT pg_is_in_recovery()") == [(False,)], timeout,
             f"{node.name} to leave recovery")


def replay_lag_bytes(primary: Running, standby: Running) -> int:
    """How far the standby's replay is behind the primary's WAL, in bytes."""
    (current,), = primary.query("SELECT pg_current_wal_lsn()::text")
    (lag,), = standby.query(f"SELECT pg_wal_lsn_diff('{current}', "
                            "pg_last_wal_replay_lsn())::bigint")
    return int(lag)


CLICKHOUSE_KEEPER = """<?xml version="1.0"?>
<clickhouse>
    <zookeeper>
        <node><host>${zookeeper}</host><port>2181</port></node>
        <session_timeout_ms>2000</session_timeout_ms>
        <operation_timeout_ms>1000</operation_timeout_ms>
    </zookeeper>
    <macros><shard>${shard}</shard><replica>${name}</replica></macros>
    <interserver_http_port>9009</interserver_http_port>
    <interserver_http_host>${name}</interserver_http_host>
</clickhouse>
"""


def clickhouse_replicas(count: int = 2, zookeeper: str = "zk", prefix: str = "ch",
                        image: str = CLICKHOUSE_IMAGE, zookeeper_image: str = ZOOKEEPER_IMAGE,
                        binary: bool = False) -> list[Node]:
    """One ZooKeeper and ``count`` ClickHouse replicas of shard 1 (``ch1``, ``ch2``, …) with
    short ZooKeeper timeouts, so a replica cut off from it notices in seconds.
    ``ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}')`` works on them;
    ``binary`` mounts TOOLKIT_SERVER_BINARY into every replica."""
    config = {"/var/lib/toolkit-clickhouse/config.d/replication.xml": CLICKHOUSE_KEEPER}
    return [Node(zookeeper, zookeeper_image, "zookeeper")] + [
        Node(f"{prefix}{i}", image, "clickhouse", files=config, binary=binary,
             macros={"zookeeper": zookeeper, "shard": "1"},
             # ready once it has a ZooKeeper session, not merely up
             ready_query="SELECT count() FROM system.zookeeper WHERE path = '/'")
        for i in range(1, count + 1)]


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition`` (a real check, e.g. a query) until it holds; ClusterError after
    ``timeout`` seconds naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # a node that cannot answer yet is a "not yet"
            pass
        if time.monotonic() > deadline:
            raise ClusterError(f"waited {timeout:g} s for {what}")
        time.sleep(0.1)  # between checks of a real condition, bounded by the deadline
