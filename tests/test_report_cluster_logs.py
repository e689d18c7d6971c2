"""A failed cluster test's nodes' logs reach the report: under --toolkit-report, the page's
server and cluster section holds each node's last log lines (a real cluster of one
PostgreSQL node, whose test fails)."""

from __future__ import annotations

import pytest

from toolkit import report


def test_the_nodes_logs_are_in_the_report(pytester: pytest.Pytester, docker_client,  # type: ignore[no-untyped-def]
                                           cluster_images) -> None:
    pytester.makepyprojecttoml("")
    pytester.makepyfile(test_it="""
        from toolkit.cluster import Node

        def test_fails(toolkit_cluster):
            c = toolkit_cluster(Node("db", "toolkit/postgres-replica", "postgres"))
            assert c["db"].query("SELECT 1") == [(2,)]
    """)
    result = pytester.runpytest_subprocess("--toolkit-report=run.html")
    result.assert_outcomes(failed=1)
    run = report.load([pytester.path / "run.json"])
    (failed,) = [t for t in run.tests if t.outcome == "failed"]
    assert [name for name, _ in failed.sections] == ["toolkit cluster logs"]
    page = (pytester.path / "run.html").read_text()
    servers = page.split('id="servers"', 1)[1].split("</section>", 1)[0]
    assert "node db ---" in servers
    assert "database system is ready to accept connections" in servers
