"""DOCKER_HOST=ssh://USER@HOST, through the Docker SDK's ssh support (toolkit-dbtest[ssh]):
an sshd on the remote engine's host (tests/remote_docker.py) lets this host in with a key,
and server.up starts a ClickHouse server there whose URL names that host, with the binary
under test copied in; it answers, and server.down removes it. Without the SDK's ssh support
the command says so in one line."""

from __future__ import annotations

from pathlib import Path

import docker

from tests.helpers import toolkit_cli
from tests.remote_docker import ENGINE_IP, ssh_into_engine
from toolkit.docker import LABEL
from toolkit.servers.clickhouse import parse_url

BINARY = "/usr/sbin/clickhouse-server"


def test_a_server_over_ssh(remote_docker: tuple[str, docker.DockerClient],
                           clickhouse_image: str, tmp_path: Path) -> None:
    _, engine = remote_docker
    (tmp_path / "pyproject.toml").write_text("")
    with ssh_into_engine(tmp_path / "ssh") as env:
        up = toolkit_cli(tmp_path, "server.up", "clickhouse", "--provider", "docker",
                      "--image", clickhouse_image, "--binary", BINARY, env=env)
        assert up.returncode == 0, up.stderr
        url = up.stdout.strip().splitlines()[-1]
        assert url.startswith(f"clickhouse://default@{ENGINE_IP}:"), url
        try:
            assert parse_url(url).query("SELECT 1").strip() == "1"
            box = engine.containers.list(filters={"label": f"{LABEL}.server=clickhouse"})[0]
            assert box.attrs["Mounts"] == []  # copied in over ssh, not mounted
        finally:
            down = toolkit_cli(tmp_path, "server.down", env=env)
        assert down.returncode == 0, down.stderr
    assert engine.containers.list(all=True, filters={"label": f"{LABEL}.server"}) == []


def test_without_the_sdks_ssh_support_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    # an interpreter that cannot import paramiko: the Docker SDK's ssh transport needs it
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\nsys.modules['paramiko'] = None  # as if it were not installed\n")
    done = toolkit_cli(tmp_path, "server.status", env={"DOCKER_HOST": "ssh://root@192.0.2.1",
                                                       "PYTHONPATH": str(hide)})
    assert done.returncode == 1
    assert done.stderr.strip() == ("toolkit: error: DOCKER_HOST=ssh://root@192.0.2.1 needs the "
                                   "Docker SDK's ssh support, which is not installed: pip "
                                   "install 'toolkit-dbtest[ssh]'")
