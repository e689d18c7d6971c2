"""ClickHouse over the network: a server under test at ``clickhouse://HOST:PORT`` (its HTTP
interface). Each test gets ``CREATE DATABASE`` and an HTTP session of its own (``session_id``),
so a ``SET`` lasts for the test and never reaches the next one; each statement gets a query id
(``<database>-<n>``), so a test over its timeout can be ended with ``KILL QUERY``. The body of
an HTTP answer is TabSeparated, byte for byte what ``clickhouse-client --multiquery`` prints."""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
from pathlib import Path

from toolkit.refs.engines import BACKSLASH_ESCAPES, StatementFailed, client_wrapper
from toolkit.refs.engines.clickhouse import failure
from toolkit.refs.engines.clickhouse_errors import CODES
from toolkit.refs.random_settings import Draw
from toolkit.servers.clickhouse import TCP_PORT, ClickHouseQueryError, Endpoint, parse_url, request

# the parent gives up on a test at its deadline and kills the worker: this only bounds a
# socket nobody will ever answer
SOCKET_TIMEOUT_S = 3600.0


def query_ids(database: str) -> str:
    """A condition on system.processes: the statements of the test using ``database``."""
    return f"query_id LIKE '{database}-%'"


class ClickHouseServerBackend:
    engine = "clickhouse"
    backslash_escapes = BACKSLASH_ESCAPES["clickhouse"]

    def __init__(self, url: str, overrides: tuple[tuple[str, str], ...] = (),
                 client: list[str] | None = None) -> None:
        self.endpoint = parse_url(url)
        self.overrides = dict(overrides)
        self.client = client  # clickhouse-client's command, without connection arguments
        self.conn = http.client.HTTPConnection(self.endpoint.host, self.endpoint.port,
                                               timeout=SOCKET_TIMEOUT_S)
        self.session = ""
        self.database = ""
        self.statements = 0
        self.per_test: dict[str, str] = {}

    def normalize(self, code: str) -> str:
        """Names as numbers: an old server's errors carry only the number."""
        code = code.upper()
        return str(CODES[code]) if code in CODES else code

    def _post(self, sql: str, **params: str) -> str:
        try:
            return request(self.conn, self.endpoint, sql, params)
        except ClickHouseQueryError as exc:
            raise failure(exc.text) from exc

    def create(self, name: str) -> str:
        self.session = f"toolkit-{name}-{secrets.token_hex(4)}"
        self.database, self.statements, self.per_test = name, 0, {}
        self._post(f"CREATE DATABASE `{name}`")
        self.execute(f"USE `{name}`")  # the session's current database, as the client's
        return name

    def apply(self, settings: tuple[tuple[str, str], ...]) -> None:
        self.per_test = dict(settings)  # sent with each of this test's statements

    def execute(self, sql: str) -> str:
        self.statements += 1
        return self._post(sql, session_id=self.session,
                          query_id=f"{self.database}-{self.statements}",
                          **{**self.per_test, **self.overrides})

    def drop(self, name: str) -> None:
        self._post(f"DROP DATABASE IF EXISTS `{name}`")

    def keep(self, name: str) -> str:
        return f"database {name} on {self.endpoint.where}"

    def escaped(self, name: str) -> str:
        return ""  # a database of its own per test

    def client_env(self, name: str, tmp: Path, settings: Draw = ()) -> dict[str, str]:
        env = {"TOOLKIT_DATABASE_URL": self.endpoint.url(database=name)}
        if not self.client:
            env["TOOLKIT_CLIENT"] = client_wrapper(tmp, (), body=(
                "echo 'toolkit: no clickhouse-client here: install one (apt-get install "
                "clickhouse-client) or set TOOLKIT_SERVER_BINARY to an all-in-one clickhouse' "
                ">&2; exit 1"))
            return env
        args = [*self.client, "--database", name]
        if self.client[0] != "docker":  # docker exec: the container's own client and port
            args += ["--host", self.endpoint.host, "--port", str(self.tcp_port())]
        if self.endpoint.user != "default" or self.endpoint.password:
            # in a file of the test's own, so the password is on no command line
            config = tmp / ".clickhouse-client.xml"
            config.write_text(f"<config><user>{_xml(self.endpoint.user)}</user><password>"
                              f"{_xml(self.endpoint.password)}</password></config>")
            args += ["--config-file", str(config)]
        for key, value in {**dict(settings), **self.overrides}.items():
            args.append(f"--{key}={value}")
        env["TOOLKIT_CLIENT"] = client_wrapper(tmp, args)
        return env

    def tcp_port(self) -> int:
        """Where the native protocol listens: the URL's tcp_port, else what the server says
        (newer servers), else the default."""
        if self.endpoint.tcp_port:
            return self.endpoint.tcp_port
        try:
            return int(self._post("SELECT getServerPort('tcp_port')").strip())
        except (StatementFailed, ValueError):
            return TCP_PORT

    def close(self) -> None:
        self.conn.close()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def client_command(server_binary: str = "", container: str | None = None) -> list[str] | None:
    """The clickhouse-client of the server under test: the all-in-one binary's own client, else
    one on PATH, else the one inside the server's container; None when there is none."""
    if server_binary and "server" not in Path(server_binary).name and os.access(server_binary,
                                                                                   os.X_OK):
        return [server_binary, "client"]
    for name, args in (("clickhouse-client", []), ("clickhouse", ["client"])):
        found = shutil.which(name)
        if found:
            return [found, *args]
    if container and shutil.which("docker"):
        return ["docker", "exec", "-i", container, "clickhouse-client"]
    return None


def kill_test(endpoint: Endpoint, database: str, timeout: float = 5.0) -> None:
    """End what a test still runs on the server and drop its database."""
    endpoint.query(f"KILL QUERY WHERE {query_ids(database)} SYNC", timeout)
    endpoint.query(f"DROP DATABASE IF EXISTS `{database}`", timeout)
