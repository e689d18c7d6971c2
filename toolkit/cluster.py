"""Integration environments: several servers on a private Docker network, and verbs that hurt
them — kill, stop, pause a node; partition, isolate, delay the network — for tests that ask what
survives. Everything goes through the Docker SDK.

A cluster owns one user-defined bridge network (nodes reach each other by name) and its nodes;
every container and the network carry the owner's label, so ``toolkit server.gc`` removes what a
killed run left and never what a live one holds. Network faults are iptables rules (and, for
latency, a userspace proxy: this kernel has no netem) applied from a helper container that
joins a node's network namespace with NET_ADMIN, so server images need nothing extra.
On another host's engine (DOCKER_HOST=tcp://… or ssh://…) nodes publish their ports on the
address that host is reached by, and files and the server binary under test are copied into
the containers: nothing is mounted from this host.

    with cluster(Node("a", "toolkit/postgres", "postgres"), Node("b", ...)) as c:
        c["a"].query("SELECT 1"); c.partition("a", "b"); c.heal()
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import string
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from toolkit.docker import LABEL, binary_in, put_file, reach_host, start_published
from toolkit.errors import ToolkitError
from toolkit.marker import owner

CLUSTER_LABEL = f"{LABEL}.cluster"
NODE_LABEL = f"{LABEL}.node"
OWNER_LABEL = f"{LABEL}.owner"
HELPER_IMAGE = "toolkit/nethelper"
READY_TIMEOUT_S = 60.0
BINARY_PATHS = {"clickhouse": "/usr/sbin/clickhouse-server"}


class ClusterError(ToolkitError):
    pass


class QueryError(ToolkitError):
    """A query a node refused: ``code`` is ClickHouse's number or PostgreSQL's SQLSTATE."""

    def __init__(self, node: str, code: str, message: str) -> None:
        self.node, self.code, self.message = node, code, message
        super().__init__(f"{node}: {message}")


class NoAnswer(ToolkitError):
    """A node that did not answer in time (paused, partitioned, dead)."""


@dataclasses.dataclass(frozen=True)
class Node:
    """What a node is: a name (its host name on the network), an image, a kind (``postgres``,
    ``clickhouse``, ``zookeeper`` or ``generic``), its environment and command, files written
    into it before it starts (``${name}``, ``${cluster}`` and ``macros`` substituted), for a
    generic node the command that succeeds once it is ready (for the others, a query), and
    whether the server binary under test (TOOLKIT_SERVER_BINARY) replaces the image's."""

    name: str
    image: str
    kind: str = "generic"
    environment: dict[str, str] = dataclasses.field(default_factory=dict)
    command: list[str] | None = None
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    macros: dict[str, str] = dataclasses.field(default_factory=dict)
    ready: list[str] | None = None
    binary: bool = False
    ready_query: str = "SELECT 1"  # postgres and clickhouse: ready once this succeeds


@dataclasses.dataclass(frozen=True)
class Kind:
    port: int  # the service, published on the engine's host
    url: str  # {host}, {port}: where the published one is reached
    ping: bytes  # a request the server answers at once (for round_trip)


KINDS = {
    "postgres": Kind(5432, "postgresql+psycopg://postgres@{host}:{port}/postgres",
                     bytes.fromhex("0000000804d2162f")),  # SSLRequest: answered 'N'
    "clickhouse": Kind(8123, "clickhouse://default@{host}:{port}",
                       b"GET /ping HTTP/1.0\r\n\r\n"),
    "zookeeper": Kind(2181, "zookeeper://{host}:{port}", b"ruok"),
    "generic": Kind(0, "", b""),
}


class Running:
    """A node of a running cluster: the verbs a test uses on it."""

    def __init__(self, cluster: Cluster, spec: Node, container: Any, port: int | None) -> None:
        self.cluster, self.spec, self.container, self.port = cluster, spec, container, port
        self.helper: Any = None
        self.lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        """Where host-side clients reach it (published on 127.0.0.1, or on the address of the
        engine's host)."""
        kind = KINDS[self.spec.kind]
        if not kind.url:
            raise ClusterError(f"node {self.name} is generic: it has no URL (use exec)")
        return kind.url.format(host=self.cluster.host, port=self.port)

    @property
    def ip(self) -> str:
        self.container.reload()
        return str(self.container.attrs["NetworkSettings"]["Networks"][self.cluster.network.name]
                   ["IPAddress"])

    def query(self, sql: str, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        """Run ``sql`` on the node; its rows (ClickHouse: strings, as TabSeparated has them).
        QueryError when the server refuses it, NoAnswer when none comes within ``timeout``."""
        if self.spec.kind == "postgres":
            return self._query_postgres(sql, timeout)
        if self.spec.kind == "clickhouse":
            return self._query_clickhouse(sql, timeout)
        raise ClusterError(f"node {self.name} is {self.spec.kind}: query() is for postgres and "
                           "clickhouse nodes (use exec)")

    def _query_postgres(self, sql: str, timeout: float) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            with psycopg.connect(host=self.cluster.host, port=self.port, user="postgres",
                                 dbname="postgres", autocommit=True,
                                 connect_timeout=max(1, int(timeout)),
                                 options=f"-c statement_timeout={int(timeout * 1000)}") as conn:
                cur = conn.execute(sql)  # type: ignore[arg-type]
                return list(cur.fetchall()) if cur.description else []
        except psycopg.OperationalError as exc:
            if exc.sqlstate:  # the server answered with an error
                raise QueryError(self.name, exc.sqlstate, str(exc).strip()) from exc
            raise NoAnswer(f"node {self.name}: no answer within {timeout:g} s "
                           f"({str(exc).strip().splitlines()[0]})") from exc
        except psycopg.Error as exc:
            raise QueryError(self.name, exc.sqlstate or "", str(exc).strip()) from exc

    def _query_clickhouse(self, sql: str, timeout: float) -> list[tuple[Any, ...]]:
        from toolkit.servers.clickhouse import ClickHouseQueryError, ClickHouseUnreachable, Endpoint

        try:
            text = Endpoint(self.cluster.host, int(self.port or 0)).query(sql, timeout)
        except ClickHouseUnreachable as exc:
            raise NoAnswer(f"node {self.name}: no answer within {timeout:g} s ({exc})") from exc
        except ClickHouseQueryError as exc:
            raise QueryError(self.name, str(exc.code), str(exc)) from exc
        return [tuple(line.split("\t")) for line in text.splitlines()]

    def exec(self, cmd: Sequence[str] | str, check: bool = True) -> str:
        """Run ``cmd`` inside the node; its output (ClusterError on a non-zero exit)."""
        code, out = self.container.exec_run(cmd if isinstance(cmd, str) else list(cmd))
        text = out.decode(errors="replace")
        if check and code:
            raise ClusterError(f"node {self.name}: {cmd!r} exited {code}: {text.strip()[-300:]}")
        return str(text)

    def logs(self, tail: int | None = None) -> str:
        return str(self.container.logs(tail=tail or "all").decode(errors="replace"))

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to shut down."""
        self.container.kill()
        self._wait_status("exited")

    def stop(self) -> None:
        self.container.stop(timeout=10)
        self._wait_status("exited")

    def start(self) -> None:
        """Start it again and wait until it answers; its network faults are applied again."""
        self._drop_helper()  # it joined the namespace of the run that ended
        self.container.start()
        self.cluster._wait_ready(self)
        self.cluster._apply(self)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """Frozen, not dead: its processes stop, its sockets stay open."""
        self.container.pause()
        self._wait_status("paused")

    def unpause(self) -> None:
        self.container.unpause()
        self._wait_status("running")

    def round_trip(self, to: Running, timeout: float = 10.0) -> float:
        """Seconds for one request to ``to``'s server and its answer, measured inside this
        node's network namespace (a connection opened for it); NoAnswer after ``timeout``."""
        ping = KINDS[to.spec.kind].ping
        if not ping:
            raise ClusterError(f"node {to.name} is generic: there is nothing to ping")
        out = self.cluster._helper(self).exec_run(
            ["python3", "/usr/local/lib/toolkit/round_trip.py", to.name,
             str(KINDS[to.spec.kind].port), ping.hex(), str(timeout)])
        if out[0] == 3:
            raise NoAnswer(f"round trip {self.name} → {to.name}: no answer within {timeout:g} s")
        if out[0]:
            raise ClusterError(f"round trip {self.name} → {to.name}: "
                               f"{out[1].decode(errors='replace').strip()}")
        return float(out[1].decode().strip().splitlines()[-1])

    def _wait_status(self, status: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.container.reload()
            if self.container.status == status:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"node {self.name} is {self.container.status}, not {status}, "
                                   f"after {timeout:g} s")
            time.sleep(0.05)  # polling the daemon's view of the container, bounded above

    def _drop_helper(self) -> None:
        if self.helper is not None:
            self.helper.remove(force=True)
            self.helper = None


@dataclasses.dataclass
class Faults:
    """What the network verbs asked for, so a node that restarts gets it again."""

    partitions: set[frozenset[str]] = dataclasses.field(default_factory=set)
    isolated: set[str] = dataclasses.field(default_factory=set)
    delays: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)


class Cluster:
    def __init__(self, client: Any, specs: Sequence[Node], name: str | None = None,
                 binary: str | None = None, ready_timeout: float = READY_TIMEOUT_S) -> None:
        self.client = client
        self.host = reach_host(client)  # where this process reaches the nodes' ports
        self.ready_timeout = ready_timeout
        self.id = name or secrets.token_hex(4)
        self.labels = {CLUSTER_LABEL: self.id, OWNER_LABEL: owner()}
        self.binary = binary if binary is not None else os.environ.get("TOOLKIT_SERVER_BINARY")
        self.faults = Faults()
        self.nodes: dict[str, Running] = {}
        names = [s.name for s in specs]
        for spec in specs:
            if spec.kind not in KINDS:
                raise ClusterError(f"node {spec.name}: unknown kind {spec.kind!r} (choose one "
                                   f"of {', '.join(KINDS)})")
            if spec.kind == "generic" and not spec.ready:
                raise ClusterError(f"node {spec.name} is generic: give it a ready command")
        if len(set(names)) != len(names):
            raise ClusterError(f"node names must differ: {', '.join(names)}")
        for spec in specs:
            self._image(spec.image)
        self.network = client.networks.create(f"toolkit-{self.id}", driver="bridge",
                                              labels=self.labels)
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(specs))) as pool:
                for running in pool.map(self._start, specs):
                    self.nodes[running.name] = running
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name: str) -> Running:
        try:
            return self.nodes[name]
        except KeyError:
            raise ClusterError(f"no node {name!r} in cluster {self.id} (its nodes: "
                               f"{', '.join(self.nodes)})") from None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- nodes ---------------------------------------------------------------------------

    def _image(self, image: str) -> None:
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(image)
        except ImageNotFound:
            context = {"toolkit/postgres": "postgres", "toolkit/clickhouse": "clickhouse",
                       "toolkit/zookeeper": "zookeeper", HELPER_IMAGE: "nethelper"}
            base = image.split(":")[0]
            how = (f"toolkit image.base && toolkit image.build --context images/{context[base]} "
                   f"--tag {base}") if base in context else "build or pull it"
            raise ClusterError(f"no image {image!r} in the Docker daemon: {how}") from None

    def _start(self, spec: Node) -> Running:
        kind = KINDS[spec.kind]
        if spec.binary:
            if spec.kind not in BINARY_PATHS:
                raise ClusterError(f"node {spec.name}: only {', '.join(BINARY_PATHS)} nodes "
                                   "take the server binary under test")
            if not self.binary:
                raise ClusterError(f"node {spec.name} wants the server binary under test: set "
                                   "TOOLKIT_SERVER_BINARY")
        volumes, place = binary_in(self.client, self.binary if spec.binary else None,
                                   BINARY_PATHS.get(spec.kind, ""))
        macros = {"name": spec.name, "cluster": self.id, **spec.macros}

        def create(ports: dict[str, tuple[str, int]]) -> Any:
            container = self.client.containers.create(
                spec.image, command=spec.command, name=f"toolkit-{self.id}-{spec.name}",
                hostname=spec.name, environment=spec.environment, volumes=volumes,
                labels={**self.labels, NODE_LABEL: spec.name}, network=self.network.name,
                ports=ports, networking_config=self.client.api.create_networking_config(
                    {self.network.name: self.client.api.create_endpoint_config(
                        aliases=[spec.name])}))
            place(container)
            for path, text in spec.files.items():
                put_file(container, path, string.Template(text).substitute(macros).encode())
            return container

        # fixed ports: a node started again after kill() keeps its URL
        container = start_published(self.client, [kind.port] if kind.port else [], create)
        container.reload()
        published = container.ports.get(f"{kind.port}/tcp") if kind.port else None
        running = Running(self, spec, container,
                          int(published[0]["HostPort"]) if published else None)
        if self._has_helper_image():
            self._helper(running)  # now, while the server starts: a fault then costs no start
        self._wait_ready(running)
        return running

    def _has_helper_image(self) -> bool:
        try:
            self._image(HELPER_IMAGE)
            return True
        except ClusterError:
            return False

    def _wait_ready(self, node: Running) -> None:
        """Until a real query (or the ready command) succeeds; the log tail if it never does."""
        from toolkit.servers.docker import log_line

        timeout = self.ready_timeout
        deadline = time.monotonic() + timeout
        probe = _PROBES[node.spec.kind]
        while True:
            try:
                probe(node)
                return
            except Exception as exc:  # any failure means "not yet"
                last = exc
            node.container.reload()
            if node.container.status in ("exited", "dead"):
                raise ClusterError(f"node {node.name} exited while starting: "
                                   f"{log_line(node.container)}")
            if time.monotonic() > deadline:
                raise ClusterError(f"node {node.name} not ready after {timeout:g} s ({last}); "
                                   f"last log lines: {log_line(node.container)}")
            time.sleep(0.1)  # between probes of a starting server, bounded by the deadline

    # --- the network ---------------------------------------------------------------------

    def partition(self, a: str, b: str) -> None:
        """Traffic between ``a`` and ``b`` dropped both ways; the others untouched."""
        self[a], self[b]
        self.faults.partitions.add(frozenset((a, b)))
        self._apply_all([a, b])

    def isolate(self, a: str) -> None:
        """``a`` reaches no other node and none reaches it; the host still does."""
        self[a]
        self.faults.isolated.add(a)
        self._apply_all([a])

    def delay(self, a: str, ms: int, jitter_ms: int = 0) -> None:
        """Requests that reach ``a``'s server from its peers wait ``ms`` (+ up to
        ``jitter_ms``) first; connections opened from now on."""
        node = self[a]
        if not KINDS[node.spec.kind].port:
            raise ClusterError(f"node {a} is generic: delay needs a server port")
        self.faults.delays[a] = (int(ms), int(jitter_ms))
        self._apply_all([a])

    def heal(self) -> None:
        """Every fault undone."""
        touched = {n for pair in self.faults.partitions for n in pair} | self.faults.isolated \
            | set(self.faults.delays)
        self.faults = Faults()
        self._apply_all(sorted(touched))

    def _apply_all(self, names: list[str]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(lambda n: self._apply(self[n]), names))

    def _apply(self, node: Running) -> None:
        """Make the node's rules what the faults say, in one iptables-restore."""
        touched = node.name in self.faults.isolated or node.name in self.faults.delays or \
            any(node.name in pair for pair in self.faults.partitions)
        if not touched and node.helper is None:
            return
        node.container.reload()
        if node.container.status != "running":
            return  # applied when it starts again
        helper = self._helper(node)
        gateway, subnet = self._gateway_subnet()
        rules = ["*filter", ":TOOLKIT_IN - [0:0]", ":TOOLKIT_OUT - [0:0]"]
        if node.name in self.faults.isolated:
            rules += [f"-A TOOLKIT_IN -s {gateway} -j ACCEPT",
                      f"-A TOOLKIT_OUT -d {gateway} -j ACCEPT",
                      f"-A TOOLKIT_IN -s {subnet} -j DROP", f"-A TOOLKIT_OUT -d {subnet} -j DROP"]
        for pair in self.faults.partitions:
            if node.name in pair:
                (peer,) = pair - {node.name}
                ip = self[peer].ip
                rules += [f"-A TOOLKIT_IN -s {ip} -j DROP", f"-A TOOLKIT_OUT -d {ip} -j DROP"]
        rules += ["COMMIT", "*nat", ":TOOLKIT_PRE - [0:0]"]
        delay = self.faults.delays.get(node.name)
        port = KINDS[node.spec.kind].port
        if delay:
            rules += [f"-A TOOLKIT_PRE -s {gateway} -j RETURN",
                      f"-A TOOLKIT_PRE -p tcp --dport {port} -j REDIRECT --to-ports {PROXY_PORT}"]
        rules.append("COMMIT")
        script = ("if [ -f /tmp/proxy.pid ]; then kill $(cat /tmp/proxy.pid); rm /tmp/proxy.pid; fi; "
                  f"printf '%s\\n' {' '.join(_quote(r) for r in rules)} | iptables-restore --noflush")
        if delay:
            script += (f"; python3 /usr/local/lib/toolkit/delay_proxy.py {PROXY_PORT} {port} "
                       f"{delay[0]} {delay[1]} > /tmp/proxy.log 2>&1 & echo $! > /tmp/proxy.pid; "
                       f"for i in $(seq 100); do grep -q listening /tmp/proxy.log && exit 0; "
                       "sleep 0.02; done; cat /tmp/proxy.log; exit 1")
        code, out = helper.exec_run(["sh", "-c", script])
        if code:
            raise ClusterError(f"network rules on {node.name} failed: "
                               f"{out.decode(errors='replace').strip()[-300:]}")

    def _gateway_subnet(self) -> tuple[str, str]:
        self.network.reload()
        config = self.network.attrs["IPAM"]["Config"][0]
        return str(config["Gateway"]), str(config["Subnet"])

    def _helper(self, node: Running) -> Any:
        """The node's network helper in the node's namespace (started with the node when its
        image is there, else on first use)."""
        with node.lock:
            if node.helper is None:
                self._image(HELPER_IMAGE)
                node.helper = self.client.containers.run(
                    HELPER_IMAGE, detach=True, network_mode=f"container:{node.container.id}",
                    cap_add=["NET_ADMIN"], labels={**self.labels, NODE_LABEL: f"{node.name}-net"},
                    name=f"toolkit-{self.id}-{node.name}-net")
                code, out = node.helper.exec_run(["sh", "-c", JUMPS])
                if code:
                    raise ClusterError(f"network helper on {node.name}: "
                                       f"{out.decode(errors='replace').strip()[-300:]}")
            return node.helper

    # --- teardown --------------------------------------------------------------------------

    def close(self) -> None:
        """Remove every container and the network (safe to repeat)."""
        remove_cluster(self.client, self.id)


PROXY_PORT = 15999
# our chains, hooked in once; iptables-restore --noflush rewrites only them, so Docker's own
# rules (its DNS at 127.0.0.11 lives in the nat table) stay
JUMPS = ("iptables -N TOOLKIT_IN && iptables -N TOOLKIT_OUT && iptables -t nat -N TOOLKIT_PRE && "
         "iptables -I INPUT -j TOOLKIT_IN && iptables -I OUTPUT -j TOOLKIT_OUT && "
         "iptables -t nat -I PREROUTING -j TOOLKIT_PRE")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def remove_cluster(client: Any, cluster_id: str) -> list[str]:
    """Remove a cluster's containers (helpers first) and network; what was removed."""
    from docker.errors import APIError, NotFound

    removed = []
    found = client.containers.list(all=True, filters={"label": f"{CLUSTER_LABEL}={cluster_id}"})
    for container in sorted(found, key=lambda c: not c.name.endswith("-net")):
        try:
            container.remove(force=True)
            removed.append(container.name)
        except NotFound:
            pass
    for network in client.networks.list(filters={"label": f"{CLUSTER_LABEL}={cluster_id}"}):
        try:
            network.remove()
            removed.append(network.name)
        except (NotFound, APIError):
            pass
    return removed


def _probe_query(node: Running) -> None:
    node.query(node.spec.ready_query, timeout=2.0)


def _probe_zookeeper(node: Running) -> None:
    with socket.create_connection((node.cluster.host, int(node.port or 0)), timeout=2.0) as sock:
        sock.sendall(b"ruok")
        if sock.recv(4) != b"imok":
            raise ClusterError("not serving yet")


def _probe_generic(node: Running) -> None:
    node.exec(node.spec.ready or ["true"])


_PROBES: dict[str, Callable[[Running], None]] = {
    "postgres": _probe_query, "clickhouse": _probe_query,
    "zookeeper": _probe_zookeeper, "generic": _probe_generic}


@contextmanager
def cluster(*nodes: Node, client: Any = None, binary: str | None = None) -> Iterator[Cluster]:
    """A cluster of ``nodes`` for the block, removed at exit whatever happens."""
    if client is None:
        from toolkit.docker import client as docker_client

        client = docker_client()
    started = Cluster(client, nodes, binary=binary)
    try:
        yield started
    finally:
        started.close()


def gc(client: Any, dry_run: bool = False) -> list[str]:
    """Remove the clusters whose owner process is gone; their containers and networks."""
    from toolkit.servers.docker import owner_alive_label

    dead: set[str] = set()
    for container in client.containers.list(all=True, filters={"label": CLUSTER_LABEL}):
        if not owner_alive_label(container.labels.get(OWNER_LABEL, "?:0:0")):
            dead.add(container.labels[CLUSTER_LABEL])
    for network in client.networks.list(filters={"label": CLUSTER_LABEL}):
        if not owner_alive_label(network.attrs.get("Labels", {}).get(OWNER_LABEL, "?:0:0")):
            dead.add(network.attrs["Labels"][CLUSTER_LABEL])
    removed: list[str] = []
    for cluster_id in sorted(dead):
        if dry_run:
            removed += [c.name for c in client.containers.list(
                all=True, filters={"label": f"{CLUSTER_LABEL}={cluster_id}"})]
            removed += [n.name for n in client.networks.list(
                filters={"label": f"{CLUSTER_LABEL}={cluster_id}"})]
        else:
            removed += remove_cluster(client, cluster_id)
    return removed
