"""Private local servers: ready on a real connection, nothing left behind when stopped."""

import os
from pathlib import Path

import psycopg
import pymysql
import pytest

from toolkit.servers import clickhouse, local
from toolkit.urls import parse


@pytest.mark.parametrize("kind", local.KINDS)
def test_start_query_stop_leaves_nothing(kind: str) -> None:
    with local.running(kind) as server:
        if kind == "clickhouse":
            endpoint = clickhouse.parse_url(server.url)
            assert endpoint.query("SELECT 1 + 1") == "2\n"
            assert endpoint.host == "127.0.0.1"
        elif kind == "postgres":
            url = parse(server.url)
            with psycopg.connect(host=url.host, port=url.port, user="postgres") as conn:
                assert conn.execute("SHOW fsync").fetchone() == ("off",)
        else:
            url = parse(server.url)
            with pymysql.connect(unix_socket=url.query["unix_socket"], user="root") as conn:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    assert cur.fetchone() == (1,)
        assert server.directory.is_dir()
    assert not server.directory.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)


def test_up_is_reused_and_down_stops(tmp_path: Path) -> None:
    first = local.up(tmp_path, "postgres")
    try:
        assert local.up(tmp_path, "postgres") == first
    finally:
        assert local.down(tmp_path, "postgres") is True
    assert not first.directory.exists()
    assert local.down(tmp_path, "postgres") is False


def test_unknown_kind() -> None:
    with pytest.raises(local.ServerError, match="choose one of postgres, mariadb"):
        local.start("oracle")
