"""The Docker engine through its Python SDK: one client, and a one-line error when no daemon
answers; where a container's published ports are reached, and how files reach a container,
whether the engine runs here or on another host (DOCKER_HOST=tcp://… or ssh://…)."""

from __future__ import annotations

import io
import os
import random
import socket
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import docker
from docker.errors import DockerException

from toolkit.errors import ToolkitError

LABEL = "io.toolkit"  # every image and container toolkit makes carries labels under this


class DockerUnreachableError(ToolkitError):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the Docker daemon at {where}: {reason} (start one, e.g. `dockerd &`, "
            "or point DOCKER_HOST at a running daemon)")


def client() -> docker.DockerClient:
    # the SDK reads DOCKER_HOST itself; named here only to say what was tried
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST unset)"
    if where.startswith("ssh://"):
        try:
            import paramiko  # noqa: F401  (the SDK's ssh transport)
        except ImportError as exc:
            raise ToolkitError(f"DOCKER_HOST={where} needs the Docker SDK's ssh support, which "
                               "is not installed: pip install 'toolkit-dbtest[ssh]'") from exc
    try:
        c = docker.from_env()
        c.ping()
    except DockerException as exc:
        raise DockerUnreachableError(where, str(exc).split(": ", 1)[-1][:200]) from exc
    return c


LOCAL_HOSTS = (None, "", "localhost", "127.0.0.1", "::1")


def engine_host(client: docker.DockerClient) -> str | None:
    """The host the engine runs on when it is another one (tcp:// or ssh:// in DOCKER_HOST),
    else None: a unix socket is this host's engine."""
    url = urlparse(client.api.base_url)
    if url.scheme in ("http", "https") and url.hostname not in LOCAL_HOSTS:
        return url.hostname
    given = os.environ.get("DOCKER_HOST", "")
    if given.startswith("ssh://") and urlparse(given).hostname not in LOCAL_HOSTS:
        return urlparse(given).hostname  # the SDK's ssh adapter keeps its host to itself
    return None


def reach_host(client: docker.DockerClient) -> str:
    """Where this process reaches the ports containers publish: 127.0.0.1 on a local engine,
    the engine's host on another one."""
    return engine_host(client) or "127.0.0.1"


def publish_ports(client: docker.DockerClient, ports: Iterable[int]
                  ) -> dict[str, tuple[str, int]]:
    """Host ports for a container's ``ports``, fixed rather than ephemeral (a restarted
    container keeps them, so its URL stays true). Here: free ports of 127.0.0.1. On another
    host: on the address this process reaches it by (not on every interface), at random
    ports, since its free ones cannot be seen from here; a taken one fails the start, which
    ``start_published`` tries again."""
    remote = engine_host(client)
    if remote is None:
        from toolkit.servers.local import free_port

        return {f"{p}/tcp": ("127.0.0.1", free_port()) for p in ports}
    address = socket.gethostbyname(remote)
    chosen = random.sample(range(20000, 30000), len(list(ports)))
    return {f"{p}/tcp": (address, port) for p, port in zip(ports, chosen, strict=True)}


PORT_TAKEN = ("port is already allocated", "address already in use")


def start_published(client: docker.DockerClient, ports: list[int],
                    create: Callable[[dict[str, tuple[str, int]]], Any], tries: int = 5) -> Any:
    """``create(port bindings)`` then start it, again with other ports while a port turns
    out taken on the engine's host (only a remote engine's ports are chosen blind)."""
    from docker.errors import APIError

    for attempt in range(tries):
        container = create(publish_ports(client, ports))
        try:
            container.start()
        except APIError as exc:
            container.remove(force=True)
            if attempt + 1 < tries and any(t in str(exc) for t in PORT_TAKEN):
                continue
            raise
        return container
    raise AssertionError("unreachable")


def put_file(container: Any, path: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` at ``path`` inside a created container, through the engine's API: it
    works on another host's engine, where this host's files cannot be mounted."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(Path(path).name)
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))
    container.put_archive(str(Path(path).parent), buffer.getvalue())


def _nothing(container: Any) -> None:
    pass


def binary_in(client: docker.DockerClient, binary: str | None, target: str
              ) -> tuple[dict[str, dict[str, str]], Callable[[Any], None]]:
    """How a host binary (if any) replaces ``target`` in a container: (volumes for create,
    what to do to the created container before it starts). On a local engine, a read-only
    bind mount; on another host's, nothing to mount and a copy into the container."""
    if not binary:
        return {}, _nothing
    if engine_host(client) is None:
        return {os.path.abspath(binary): {"bind": target, "mode": "ro"}}, _nothing
    data = Path(binary).read_bytes()
    return {}, lambda box: put_file(box, target, data, 0o755)
