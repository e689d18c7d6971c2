"""Database servers in Docker containers: published on 127.0.0.1 at a free port, ready when a
real connection and query succeed, labelled as toolkit's, removed at exit unless reused."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import docker
from docker.errors import DockerException, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from toolkit.docker import LABEL
from toolkit.marker import owner, owner_alive
from toolkit.servers.ready import ServerError, probe_mariadb, probe_postgres, wait_ready

READY_TIMEOUT_S = 120.0


@dataclasses.dataclass(frozen=True)
class Kind:
    port: int
    environment: dict[str, str]
    url: str  # with {port}
    probe: Callable[[int], None]


KINDS = {
    # environment for the official images; images built from toolkit's Dockerfiles ignore it
    "postgres": Kind(5432, {"POSTGRES_HOST_AUTH_METHOD": "trust"},
                     "postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
                     lambda port: probe_postgres(host="127.0.0.1", port=port)),
    "mariadb": Kind(3306, {"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1",
                           "MYSQL_ALLOW_EMPTY_PASSWORD": "1"},
                    "mysql+pymysql://root@127.0.0.1:{port}/",
                    lambda port: probe_mariadb(host="127.0.0.1", port=port)),
}


@dataclasses.dataclass(frozen=True)
class DockerServer:
    kind: str
    url: str
    container: str  # id
    reused: bool


def _owner_alive(label: str) -> bool:
    host, pid, started = label.rsplit(":", 2)
    return owner_alive(host, int(pid), int(started))


def _image(client: docker.DockerClient, image: str) -> docker.models.images.Image:
    try:
        return client.images.get(image)
    except NotFound as exc:
        raise ServerError(f"no image {image!r} in the Docker daemon (build it with "
                          "`toolkit image.build`, or pull it)") from exc


def kind_of(client: docker.DockerClient, image: str) -> str:
    """The server kind an image runs, from the port it exposes (5432: postgres, 3306: mariadb)."""
    exposed = _image(client, image).attrs["Config"].get("ExposedPorts") or {}
    for kind, spec in KINDS.items():
        if f"{spec.port}/tcp" in exposed:
            return kind
    raise ServerError(f"image {image!r} exposes none of the ports toolkit knows "
                         f"({', '.join(f'{k.port} for {n}' for n, k in KINDS.items())})")


def reuse_key(image_id: str, kind: str) -> str:
    return hashlib.sha256(f"{image_id}\n{kind}".encode()).hexdigest()[:16]


def start(client: docker.DockerClient, kind: str, image: str, reuse: bool = False
          ) -> DockerServer:
    """A running, answering server of ``kind`` from ``image`` (a running one with the same
    image and settings when ``reuse``)."""
    if kind not in KINDS:
        raise ServerError(f"unknown server kind {kind!r}: choose one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    image_id = _image(client, image).id
    key = reuse_key(image_id, kind)
    if reuse:
        for found in client.containers.list(filters={"label": f"{LABEL}.reuse={key}"}):
            port = int(found.ports[f"{spec.port}/tcp"][0]["HostPort"])
            return DockerServer(kind, spec.url.format(port=port), found.id, reused=True)
    labels = {f"{LABEL}.server": kind, f"{LABEL}.owner": owner()}
    if reuse:
        labels[f"{LABEL}.reuse"] = key
    container = client.containers.run(
        image_id, detach=True, environment=spec.environment, labels=labels,
        ports={f"{spec.port}/tcp": ("127.0.0.1", None)}, shm_size="256m")
    try:
        container.reload()
        port = int(container.ports[f"{spec.port}/tcp"][0]["HostPort"])
        _wait_ready(container, lambda: spec.probe(port))
    except BaseException:
        container.remove(force=True)
        raise
    return DockerServer(kind, spec.url.format(port=port), container.id, reused=False)


def _wait_ready(container: docker.models.containers.Container, probe: Callable[[], None]) -> None:
    def exited(seconds: float) -> str | None:
        try:
            status = container.wait(timeout=seconds)
        except (ReadTimeout, RequestsConnectionError):
            return None
        logs = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
        return f"exit code {status.get('StatusCode')}: {logs}"

    wait_ready(f"container {container.short_id}", probe, exited, READY_TIMEOUT_S)


def stop(client: docker.DockerClient, server: DockerServer) -> None:
    """Remove the container (safe to repeat)."""
    try:
        client.containers.get(server.container).remove(force=True)
    except NotFound:
        pass


@contextmanager
def running(client: docker.DockerClient, kind: str, image: str, reuse: bool = False
            ) -> Iterator[DockerServer]:
    """A server for the block; removed at exit unless it is a reused one."""
    server = start(client, kind, image, reuse)
    try:
        yield server
    finally:
        if not reuse:
            stop(client, server)


def containers(client: docker.DockerClient) -> list[dict[str, object]]:
    """Every container toolkit started, with its kind, owner, status and whether it is reused."""
    rows = []
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}.server"}):
        owner = c.labels.get(f"{LABEL}.owner", "?:0:0")
        rows.append({"id": c.short_id, "kind": c.labels[f"{LABEL}.server"], "status": c.status,
                     "image": c.image.tags[0] if c.image.tags else c.image.short_id,
                     "owner": owner.rsplit(":", 1)[0], "owner_alive": _owner_alive(owner),
                     "reused": f"{LABEL}.reuse" in c.labels})
    return rows


def gc(client: docker.DockerClient, dry_run: bool = False) -> list[str]:
    """Remove toolkit's containers whose owner is gone (reused ones are kept on purpose)."""
    doomed = []
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}.server"}):
        if f"{LABEL}.reuse" in c.labels:
            continue
        if not _owner_alive(c.labels.get(f"{LABEL}.owner", "?:0:0")):
            doomed.append(c.short_id)
            if not dry_run:
                try:
                    c.remove(force=True)
                except (NotFound, DockerException):
                    pass
    return doomed
