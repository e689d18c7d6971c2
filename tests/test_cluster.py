"""toolkit.cluster itself: a partition cuts one pair and no other, isolate keeps the host in,
a restarted node gets its faults back, bad input is one line with nothing left running, a
failed test's report carries the nodes' logs (and --toolkit-keep-failed keeps its cluster),
and server.gc removes the clusters of a kill -9ed run but never a live run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import toolkit_cli
from toolkit.cluster import CLUSTER_LABEL, Cluster, ClusterError, NoAnswer, Node

PG = "toolkit/postgres-replica"


def _ours(docker_client, cluster_id: str | None = None) -> int:  # type: ignore[no-untyped-def]
    label = f"{CLUSTER_LABEL}={cluster_id}" if cluster_id else CLUSTER_LABEL
    return len(docker_client.containers.list(all=True, filters={"label": label})) + \
        len(docker_client.networks.list(filters={"label": label}))


def _reaches(node, other) -> bool:  # type: ignore[no-untyped-def]
    try:
        node.round_trip(other, timeout=1)
        return True
    except NoAnswer:
        return False


def test_a_partition_cuts_one_pair_and_isolate_keeps_the_host(
        docker_client, cluster_images) -> None:  # type: ignore[no-untyped-def]
    with Cluster(docker_client, [Node(n, PG, "postgres") for n in "abc"]) as c:
        a, b, cc = c["a"], c["b"], c["c"]
        c.partition("a", "b")
        assert not _reaches(a, b) and not _reaches(b, a)
        assert _reaches(a, cc) and _reaches(cc, b)  # the others untouched
        c.heal()
        assert _reaches(a, b)
        c.isolate("c")
        assert not _reaches(a, cc) and not _reaches(cc, b)
        assert cc.query("SELECT 1") == [(1,)]  # the host still reaches it
        cc.restart()  # a new network namespace: the fault is applied to it again
        assert not _reaches(a, cc)
        c.heal()
        assert _reaches(a, cc)
    assert _ours(docker_client, c.id) == 0


def test_bad_input_is_one_line_and_leaves_nothing(docker_client, cluster_images  # type: ignore[no-untyped-def]
                                                  ) -> None:
    before = _ours(docker_client)
    with pytest.raises(ClusterError, match="unknown kind 'oracle' \\(choose one of postgres, "
                                           "clickhouse, zookeeper, generic\\)"):
        Cluster(docker_client, [Node("a", PG, "oracle")])
    with pytest.raises(ClusterError, match="no image 'toolkit/nosuch:1' in the Docker daemon: "
                                           "build or pull it"):
        Cluster(docker_client, [Node("a", "toolkit/nosuch:1", "postgres")])
    with pytest.raises(ClusterError, match="node never not ready after 2 s .*last log lines: "
                                           "warming up"):
        Cluster(docker_client, [Node("never", PG, "generic", command=[
            "sh", "-c", "echo warming up; exec sleep 600"], ready=["false"])], ready_timeout=2)
    with Cluster(docker_client, [Node("a", PG, "postgres")]) as c:
        with pytest.raises(ClusterError, match="no node 'zz' in cluster .* \\(its nodes: a\\)"):
            c.partition("a", "zz")
    assert _ours(docker_client) == before


def test_a_docker_daemon_that_is_down_is_one_line(pytester: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyprojecttoml("")
    pytester.makepyfile(test_it="""
        from toolkit.cluster import Node

        def test_it(toolkit_cluster):
            toolkit_cluster(Node("db", "toolkit/postgres-replica", "postgres"))
    """)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/none.sock")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*toolkit: cannot reach the Docker daemon at unix://"
                                 f"{pytester.path}/none.sock: *"])
    assert "Traceback" not in result.stdout.str()


def test_a_failed_tests_report_has_the_logs_and_keep_failed_keeps_its_cluster(
        pytester: pytest.Pytester, docker_client, cluster_images) -> None:  # type: ignore[no-untyped-def]
    pytester.makepyprojecttoml("")
    pytester.makepyfile(test_it="""
        from toolkit.cluster import Node

        def test_fails(toolkit_cluster):
            c = toolkit_cluster(Node("db", "toolkit/postgres-replica", "postgres"))
            print("cluster", c.id)
            assert c["db"].query("SELECT 1") == [(2,)]
    """)
    before = _ours(docker_client)
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*toolkit cluster logs*", "*node db ---*",
                                 "*database system is ready to accept connections*"])
    assert _ours(docker_client) == before
    kept = pytester.runpytest_subprocess("-s", "--toolkit-keep-failed")
    kept.assert_outcomes(failed=1)
    kept.stdout.fnmatch_lines(["*kept cluster * db: postgresql+psycopg://postgres@127.0.0.1:*"
                               "(docker exec -it toolkit-*-db sh); remove it with "
                               "`toolkit server.gc` once this run has ended*"])
    assert _ours(docker_client) > before
    gc = toolkit_cli(pytester.path, "server.gc")
    assert gc.returncode == 0, gc.stderr
    assert _ours(docker_client) == before


OWNER = """
import sys, time
from toolkit.cluster import Cluster, Node
from toolkit.docker import client
c = Cluster(client(), [Node("db", "toolkit/postgres-replica", "postgres")])
print(c.id, flush=True)
sys.stdin.read()  # held until the test kills this process or closes its stdin
c.close()
"""


def test_server_gc_removes_a_killed_runs_cluster_and_not_a_live_ones(
        tmp_path: Path, docker_client, cluster_images) -> None:  # type: ignore[no-untyped-def]
    def owner() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen([sys.executable, "-c", OWNER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        return proc, proc.stdout.readline().strip()

    killed, killed_id = owner()
    live, live_id = owner()
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert _ours(docker_client, killed_id) == 3  # its node, the node's helper, its network
    try:
        (tmp_path / "pyproject.toml").write_text("")
        gc = toolkit_cli(tmp_path, "server.gc")
        assert gc.returncode == 0, gc.stderr
        assert f"removed toolkit-{killed_id}-db" in gc.stdout
        assert _ours(docker_client, killed_id) == 0
        assert _ours(docker_client, live_id) == 3  # the live run's cluster stays whole
    finally:
        assert live.stdin is not None
        live.stdin.close()
        live.wait(timeout=60)
    assert _ours(docker_client, live_id) == 0


def test_a_paused_postgres_node_says_so_within_its_timeout(docker_client, cluster_images  # type: ignore[no-untyped-def]
                                                           ) -> None:
    with Cluster(docker_client, [Node("db", PG, "postgres")]) as c:
        c["db"].pause()
        with pytest.raises(NoAnswer, match="node db: no answer within 2 s"):
            c["db"].query("SELECT 1", timeout=2)
        c["db"].unpause()
        assert c["db"].query("SELECT 1") == [(1,)]


def test_the_server_binary_under_test_is_mounted_into_clickhouse_nodes(
        docker_client, cluster_images) -> None:  # type: ignore[no-untyped-def]
    binary = "/usr/sbin/clickhouse-server"
    with Cluster(docker_client, [Node("ch", "toolkit/clickhouse", "clickhouse", binary=True)],
                 binary=binary) as c:
        mounts = c["ch"].container.attrs["Mounts"]
        assert [(m["Source"], m["Destination"], m["RW"]) for m in mounts] == [
            (binary, "/usr/sbin/clickhouse-server", False)]
        assert c["ch"].query("SELECT 1") == [("1",)]
    with pytest.raises(ClusterError, match="node pg: only clickhouse nodes take the server "
                                           "binary under test"):
        Cluster(docker_client, [Node("pg", PG, "postgres", binary=True)], binary=binary)
