"""toolkit on a Docker engine of another host (DOCKER_HOST=tcp://…): a second private dockerd
listening on TCP inside a network namespace of its own stands in for the remote host
(tests/remote_docker.py). Its containers publish their ports on its address, so URLs must
name that address, and nothing of this host can be mounted into them, so the server binary
under test and a node's files must be copied in. A ClickHouse server from server.up passes
the repository's reference run there, a cluster loses a node and gets it back, image.build
builds there, and server.gc removes what a killed run left there."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from tests.helpers import clean_env, toolkit_cli
from tests.remote_docker import ENGINE_IP
from toolkit.cluster import Cluster, NoAnswer, Node
from toolkit.docker import LABEL

ROOT = Path(__file__).parent.parent
BINARY = "/usr/sbin/clickhouse-server"


@pytest.fixture
def remote(remote_docker: tuple[str, docker.DockerClient]) -> tuple[str, docker.DockerClient]:
    return remote_docker


def _toolkit(cwd: Path, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    return toolkit_cli(cwd, *args, env={"DOCKER_HOST": host})


def _labelled(engine: docker.DockerClient) -> list[str]:
    """The containers and networks toolkit made on the engine (servers and clusters)."""
    found = {c.name for label in (f"{LABEL}.server", f"{LABEL}.cluster")
             for c in engine.containers.list(all=True, filters={"label": label})}
    return sorted(found | {n.name for n in engine.networks.list(
        filters={"label": f"{LABEL}.cluster"})})


def test_a_clickhouse_server_there_passes_the_reference_run(
        remote: tuple[str, docker.DockerClient], clickhouse_image: str, tmp_path: Path) -> None:
    host, engine = remote
    (tmp_path / "pyproject.toml").write_text("")
    up = _toolkit(tmp_path, host, "server.up", "clickhouse", "--provider", "docker",
                  "--image", clickhouse_image, "--binary", BINARY)
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip().splitlines()[-1]
    assert url.startswith(f"clickhouse://default@{ENGINE_IP}:"), url
    try:
        box = engine.containers.list(filters={"label": f"{LABEL}.server=clickhouse"})[0]
        # the binary under test was copied in, not mounted: the engine's host has no such file
        assert box.attrs["Mounts"] == [] and not box.attrs["HostConfig"].get("Binds")
        inside = box.exec_run(["sha256sum", BINARY]).output.decode().split()[0]
        assert inside == hashlib.sha256(Path(BINARY).read_bytes()).hexdigest()
        checked = _toolkit(ROOT, host, "refs.record", "--check", "--url", url)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.strip().splitlines()[-1] == "7 passed, 0 failed, 3 skipped"
    finally:
        down = _toolkit(tmp_path, host, "server.down")
    assert down.returncode == 0, down.stderr
    assert engine.containers.list(all=True, filters={"label": f"{LABEL}.server"}) == []


def test_a_cluster_there_loses_a_node_and_gets_it_back(
        remote: tuple[str, docker.DockerClient], clickhouse_image: str) -> None:
    _, engine = remote
    note = "/var/lib/toolkit-clickhouse/config.d/name.txt"
    nodes = [Node(name, clickhouse_image, "clickhouse", files={note: "${name}"}, binary=True)
             for name in ("a", "b")]
    with Cluster(engine, nodes, binary=BINARY) as cluster:
        a, b = cluster["a"], cluster["b"]
        assert a.url.startswith(f"clickhouse://default@{ENGINE_IP}:")
        assert a.exec(["cat", note]) == "a"  # a node's files were copied in before it started
        assert a.query("SELECT count() FROM remote('b', system.one)") == [("1",)]
        url = b.url
        b.kill()
        assert a.query("SELECT 1") == [("1",)]  # what survived still answers
        with pytest.raises(NoAnswer):  # and the dead one does not, at its published port
            b.query("SELECT 1", timeout=2)
        b.start()
        assert b.url == url and b.query("SELECT 1") == [("1",)]
        assert a.query("SELECT count() FROM remote('b', system.one)") == [("1",)]
    assert _labelled(engine) == []


def test_image_build_builds_there(remote: tuple[str, docker.DockerClient], base_image: str,
                                  docker_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, engine = remote
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY hello.txt /hello.txt\n")
    (context / "hello.txt").write_text(f"built remotely from {tmp_path.name}\n")
    built = _toolkit(tmp_path, host, "image.build", "--context", str(context), "--tag",
                     "toolkit-test/remote:dev", "--build-arg", f"BASE={base_image}")
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip().splitlines()[-1]
    image = engine.images.get(tag)
    out = engine.containers.run(image.id, ["cat", "/hello.txt"], remove=True)
    assert out.decode() == f"built remotely from {tmp_path.name}\n"
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(tag)  # built there, not here


KILLED = """
import sys, time
import docker
from toolkit.cluster import Cluster, Node
from toolkit.servers import docker as containers

engine = docker.DockerClient(base_url=sys.argv[1])
Cluster(engine, [Node("a", sys.argv[2], "clickhouse")])
containers.start(engine, "clickhouse", sys.argv[2])
print("ready", flush=True)
time.sleep(600)  # until the test kills this process
"""


def test_server_gc_removes_what_a_killed_run_left_there(
        remote: tuple[str, docker.DockerClient], clickhouse_image: str, tmp_path: Path) -> None:
    host, engine = remote
    run = subprocess.Popen([sys.executable, "-c", KILLED, host, clickhouse_image],
                           stdout=subprocess.PIPE, text=True, env=clean_env({"DOCKER_HOST": host}))
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "ready"
        left = _labelled(engine)
        assert len(left) == 3, left  # a node, its network, a server
        # the owner is alive: gc leaves its containers alone
        (tmp_path / "pyproject.toml").write_text("")
        assert _toolkit(tmp_path, host, "server.gc").returncode == 0
        assert _labelled(engine) == left
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    gc = _toolkit(tmp_path, host, "server.gc")
    assert gc.returncode == 0, gc.stderr
    assert _labelled(engine) == []
