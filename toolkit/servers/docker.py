"""Database servers in Docker containers: published on 127.0.0.1 at a free port (on another
host's engine, on the address it is reached by), ready when a real connection and query
succeed, labelled as toolkit's, removed at exit unless reused."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.errors import DockerException, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from toolkit.docker import LABEL, binary_in, reach_host, start_published
from toolkit.marker import owner, owner_alive
from toolkit.servers.ready import ServerError, probe_mariadb, probe_postgres, wait_ready

READY_TIMEOUT_S = 120.0


@dataclasses.dataclass(frozen=True)
class Kind:
    port: int
    environment: dict[str, str]
    url: str  # with {host}, {port} (and {extra} for the first extra port)
    probe: Callable[[str, int], None]  # (host, port)
    extra_ports: tuple[int, ...] = ()  # published too (ClickHouse's native protocol)
    binary_path: str = ""  # where --binary is mounted in place of the image's server


def _probe_clickhouse(host: str, port: int) -> None:
    from toolkit.servers.clickhouse import Endpoint, probe

    probe(Endpoint(host, port))


KINDS = {
    # environment for the official images; images built from toolkit's Dockerfiles ignore it
    "postgres": Kind(5432, {"POSTGRES_HOST_AUTH_METHOD": "trust"},
                     "postgresql+psycopg://postgres@{host}:{port}/postgres",
                     lambda host, port: probe_postgres(host=host, port=port)),
    "mariadb": Kind(3306, {"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1",
                           "MYSQL_ALLOW_EMPTY_PASSWORD": "1"},
                    "mysql+pymysql://root@{host}:{port}/",
                    lambda host, port: probe_mariadb(host=host, port=port)),
    # images/clickhouse (Debian's server); the HTTP interface is the URL, the native one is
    # for clickhouse-client in .sh tests
    "clickhouse": Kind(8123, {}, "clickhouse://default@{host}:{port}?tcp_port={extra}",
                       _probe_clickhouse, (9000,), "/usr/sbin/clickhouse-server"),
}


@dataclasses.dataclass(frozen=True)
class DockerServer:
    kind: str
    url: str
    container: str  # id
    reused: bool


def owner_alive_label(label: str) -> bool:
    host, pid, started = label.rsplit(":", 2)
    return owner_alive(host, int(pid), int(started))


def _image(client: docker.DockerClient, image: str) -> docker.models.images.Image:
    try:
        return client.images.get(image)
    except NotFound as exc:
        build = ("toolkit image.base && toolkit image.build --context images/clickhouse "
                 "--tag toolkit/clickhouse") if "clickhouse" in image else "toolkit image.build"
        raise ServerError(f"no image {image!r} in the Docker daemon (build it with "
                          f"`{build}`, or pull it)") from exc


def kind_of(client: docker.DockerClient, image: str) -> str:
    """The server kind an image runs, from the port it exposes (5432: postgres, 3306: mariadb)."""
    exposed = _image(client, image).attrs["Config"].get("ExposedPorts") or {}
    for kind, spec in KINDS.items():
        if f"{spec.port}/tcp" in exposed:
            return kind
    raise ServerError(f"image {image!r} exposes none of the ports toolkit knows "
                         f"({', '.join(f'{k.port} for {n}' for n, k in KINDS.items())})")


def reuse_key(image_id: str, kind: str, binary: str | None = None) -> str:
    text = f"{image_id}\n{kind}"
    if binary:  # another build of the server under test is another server
        stat = os.stat(binary)
        text += f"\n{os.path.realpath(binary)}\n{stat.st_size}\n{stat.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _url(spec: Kind, container: docker.models.containers.Container, host: str) -> str:
    def published(port: int) -> int:
        return int(container.ports[f"{port}/tcp"][0]["HostPort"])

    extra = published(spec.extra_ports[0]) if spec.extra_ports else ""
    return spec.url.format(host=host, port=published(spec.port), extra=extra)


def start(client: docker.DockerClient, kind: str, image: str, reuse: bool = False,
          binary: str | None = None, ready_timeout: float = READY_TIMEOUT_S) -> DockerServer:
    """A running, answering server of ``kind`` from ``image`` (a running one with the same
    image and settings when ``reuse``); ``binary`` is mounted read-only in place of the
    image's server, the way ClickHouse's CI tests a fresh build without rebuilding images
    (copied into the container when the engine runs on another host)."""
    if kind not in KINDS:
        raise ServerError(f"unknown server kind {kind!r}: choose one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    if binary:
        from toolkit.servers.clickhouse import find_binary

        if not spec.binary_path:
            raise ServerError(f"--binary replaces a ClickHouse server; {kind} images bring "
                              "their own")
        binary = find_binary(binary)
    volumes, place = binary_in(client, binary, spec.binary_path)
    image_id = _image(client, image).id
    key = reuse_key(image_id, kind, binary)
    host = reach_host(client)
    if reuse:
        for found in client.containers.list(filters={"label": f"{LABEL}.reuse={key}"}):
            return DockerServer(kind, _url(spec, found, host), found.id, reused=True)
    labels = {f"{LABEL}.server": kind, f"{LABEL}.owner": owner()}
    if reuse:
        labels[f"{LABEL}.reuse"] = key

    def create(ports: dict[str, tuple[str, int]]) -> docker.models.containers.Container:
        box = client.containers.create(image_id, environment=spec.environment, labels=labels,
                                       volumes=volumes, ports=ports, shm_size="256m")
        place(box)
        return box

    # fixed host ports, not ephemeral ones: a restarted container (--restart-on-crash) gets
    # the same ones, so its URL stays true
    container = start_published(client, [spec.port, *spec.extra_ports], create)
    try:
        container.reload()
        url = _url(spec, container, host)
        port = int(container.ports[f"{spec.port}/tcp"][0]["HostPort"])
        _wait_ready(container, lambda: spec.probe(host, port), ready_timeout)
    except BaseException:
        container.remove(force=True)
        raise
    return DockerServer(kind, url, container.id, reused=False)


def _wait_ready(container: docker.models.containers.Container, probe: Callable[[], None],
                timeout: float = READY_TIMEOUT_S) -> None:
    def exited(seconds: float) -> str | None:
        try:
            status = container.wait(timeout=seconds)
        except (ReadTimeout, RequestsConnectionError):
            return None
        return f"exit code {status.get('StatusCode')}: {log_line(container)}"

    wait_ready(f"container {container.short_id}", probe, exited, timeout,
               lambda: log_line(container))


def log_line(container: docker.models.containers.Container, lines: int = 5) -> str:
    """The container's last log lines as one line ('none' when it logged nothing)."""
    text = container.logs(tail=lines).decode(errors="replace")
    return " | ".join(line for line in text.strip().splitlines() if line.strip()) or "none"


def save_log(client: docker.DockerClient, container: str, path: Path) -> Path | None:
    """The container's log, kept in ``path`` for reports once the container is gone."""
    try:
        text = client.containers.get(container).logs()
    except (NotFound, DockerException):
        return None
    path.write_bytes(text)
    return path


def stop(client: docker.DockerClient, server: DockerServer) -> None:
    """Remove the container (safe to repeat)."""
    try:
        client.containers.get(server.container).remove(force=True)
    except NotFound:
        pass


@contextmanager
def running(client: docker.DockerClient, kind: str, image: str, reuse: bool = False,
            binary: str | None = None) -> Iterator[DockerServer]:
    """A server for the block; removed at exit unless it is a reused one."""
    server = start(client, kind, image, reuse, binary)
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
                     "owner": owner.rsplit(":", 1)[0], "owner_alive": owner_alive_label(owner),
                     "reused": f"{LABEL}.reuse" in c.labels})
    return rows


def gc(client: docker.DockerClient, dry_run: bool = False) -> list[str]:
    """Remove toolkit's containers whose owner is gone (reused ones are kept on purpose)."""
    doomed = []
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}.server"}):
        if f"{LABEL}.reuse" in c.labels:
            continue
        if not owner_alive_label(c.labels.get(f"{LABEL}.owner", "?:0:0")):
            doomed.append(c.short_id)
            if not dry_run:
                try:
                    c.remove(force=True)
                except (NotFound, DockerException):
                    pass
    return doomed
