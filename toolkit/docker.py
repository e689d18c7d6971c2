"""The Docker engine through its Python SDK: one client, and a one-line error when no daemon
answers."""

from __future__ import annotations

import os

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
    try:
        c = docker.from_env()
        c.ping()
    except DockerException as exc:
        raise DockerUnreachableError(where, str(exc).split(": ", 1)[-1][:200]) from exc
    return c
