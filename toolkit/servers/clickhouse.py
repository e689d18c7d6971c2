"""ClickHouse as the server under test: its HTTP interface (one small client, used by the
readiness probe, the reference runner and the run's watchdog), ``clickhouse://`` URLs, and the
files a private server starts from (config.xml and users.xml, written for any version)."""

from __future__ import annotations

import dataclasses
import http.client
import os
import re
import shutil
import urllib.parse
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.servers.ready import ServerError

HTTP_PORT, TCP_PORT = 8123, 9000
# parameters a clickhouse:// URL takes besides server settings; tcp_port is toolkit's own:
# where the native-protocol client of .sh tests connects (default: the server's, or 9000)
OWN_PARAMETERS = ("user", "password", "tcp_port")
_CODE = re.compile(r"^Code: (\d+)[.,]")


class ClickHouseUnreachable(ToolkitError):
    """No answer at the HTTP level: refused, reset, timed out."""


class ClickHouseQueryError(ToolkitError):
    def __init__(self, code: int | None, text: str) -> None:
        self.code, self.text = code, text
        first = text.strip().splitlines()[0] if text.strip() else "error"
        super().__init__(first)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A ClickHouse server's HTTP interface as a ``clickhouse://[user[:password]@]HOST:PORT
    [?setting=value…]`` URL names it."""

    host: str
    port: int
    user: str = "default"
    password: str = dataclasses.field(default="", repr=False)
    tcp_port: int | None = None
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, **extra: str) -> str:
        """The URL again (the password included: for child processes, never for printing)."""
        auth = urllib.parse.quote(self.user, safe="")
        if self.password:
            auth += ":" + urllib.parse.quote(self.password, safe="")
        query = [*self.settings, *(("tcp_port", str(self.tcp_port)),) * bool(self.tcp_port),
                 *extra.items()]
        return (f"clickhouse://{auth}@{self.host}:{self.port}"
                + ("?" + urllib.parse.urlencode(query) if query else ""))

    def query(self, sql: str, timeout: float = 30.0, **params: str) -> str:
        """Run one statement; its output (TabSeparated unless it says otherwise)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            return request(conn, self, sql, params)
        finally:
            conn.close()


def parse_url(url: str) -> Endpoint:
    """``clickhouse://…`` as an Endpoint; one line on anything it cannot use."""
    parts = urllib.parse.urlsplit(url)
    shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    try:
        port = parts.port or HTTP_PORT
    except ValueError as exc:
        raise ServerError(f"the port in {shown!r} is not a number") from exc
    if parts.scheme != "clickhouse" or not parts.hostname:
        raise ServerError(f"{shown!r} is not a ClickHouse server URL: write "
                          "clickhouse://HOST:HTTP_PORT (the HTTP interface, e.g. 8123)")
    if parts.path not in ("", "/"):
        raise ServerError(f"{shown!r} names a path: each test gets its own database, so the URL "
                          "names only the server (clickhouse://HOST:PORT)")
    params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in params if k in OWN_PARAMETERS}
    tcp = own.get("tcp_port")
    if tcp is not None and not tcp.isdigit():
        raise ServerError(f"tcp_port={tcp!r} in {shown!r} is not a port number")
    return Endpoint(
        parts.hostname, port,
        own.get("user") or urllib.parse.unquote(parts.username or "") or "default",
        own.get("password") or urllib.parse.unquote(parts.password or ""),
        int(tcp) if tcp else None,
        tuple((k, v) for k, v in params if k not in OWN_PARAMETERS))


def request(conn: http.client.HTTPConnection, endpoint: Endpoint, sql: str,
            params: dict[str, str]) -> str:
    """POST one statement on ``conn`` (kept alive by the caller)."""
    query = urllib.parse.urlencode([*endpoint.settings, *params.items()])
    headers = {"X-ClickHouse-User": endpoint.user, "Connection": "keep-alive"}
    if endpoint.password:
        headers["X-ClickHouse-Key"] = endpoint.password
    try:
        conn.request("POST", "/?" + query, body=sql.encode(), headers=headers)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "backslashreplace")
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise ClickHouseUnreachable(f"no answer from ClickHouse at {endpoint.where}: "
                                    f"{exc or type(exc).__name__}") from exc
    if response.status != 200:
        found = _CODE.match(body.strip())
        raise ClickHouseQueryError(int(found.group(1)) if found else None,
                                   body or f"HTTP {response.status}")
    return body


def check(endpoint: Endpoint, timeout: float = 5.0) -> str:
    """The server's version, after checking the URL against it: it answers, the user and
    password are accepted, every URL parameter is a setting it knows."""
    bare = dataclasses.replace(endpoint, settings=())  # the settings are checked, not used
    try:
        version = bare.query("SELECT version()", timeout).strip()
        names = ", ".join(f"'{k}'" for k, _ in endpoint.settings if re.fullmatch(r"\w+", k))
        known = set(bare.query(f"SELECT name FROM system.settings WHERE name IN ({names})",
                               timeout).split()) if names else set()
    except ClickHouseUnreachable as exc:
        raise ServerError(f"{exc} (is the server running, and is {endpoint.port} its HTTP "
                          "port? clickhouse:// URLs name the HTTP interface, e.g. 8123)") from exc
    except ClickHouseQueryError as exc:
        if exc.code in (192, 193, 194, 516):  # unknown user, wrong password, …
            raise ServerError(f"ClickHouse at {endpoint.where} refused user {endpoint.user!r}: "
                              f"{exc} (check the user and password in the URL)") from exc
        hint = "" if exc.code else (" (clickhouse:// URLs name the HTTP interface, e.g. 8123, "
                                    "not the native protocol's port)")
        raise ServerError(f"ClickHouse at {endpoint.where}: {exc}{hint}") from exc
    unknown = [k for k, _ in endpoint.settings if k not in known]
    if unknown:
        raise ServerError(f"unknown parameter {unknown[0]!r} in the ClickHouse URL: it takes "
                          f"{', '.join(OWN_PARAMETERS)} and server settings (checked "
                          f"system.settings on {endpoint.where})")
    return version


# --- a private server ------------------------------------------------------------------

BINARY_ENV = "TOOLKIT_SERVER_BINARY"


def find_binary(binary: str | None = None, source: str = "--binary") -> str:
    """The server binary: ``binary`` (given as ``source``), else $TOOLKIT_SERVER_BINARY, else
    clickhouse-server or clickhouse on PATH (or in /usr/sbin, where Debian puts it)."""
    chosen = binary or os.environ.get(BINARY_ENV)
    if chosen:
        path = shutil.which(chosen) or chosen
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            source = source if binary else BINARY_ENV
            raise ServerError(f"{source}={chosen}: no executable file there (give the path of "
                              "a ClickHouse server binary: clickhouse or clickhouse-server)")
        return os.path.abspath(path)
    for name in ("clickhouse-server", "clickhouse"):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    raise ServerError("no ClickHouse server binary: set TOOLKIT_SERVER_BINARY (or pass --binary) "
                      "to a build, or install one (apt-get install clickhouse-server "
                      "clickhouse-client)")


def command(binary: str, config: Path) -> list[str]:
    """How to start ``binary`` with ``config``: the all-in-one ``clickhouse`` takes ``server``."""
    name = Path(binary).name
    prefix = [binary] if "server" in name else [binary, "server"]
    return [*prefix, f"--config-file={config}"]


def config_xml(directory: Path, http_port: int, tcp_port: int, listen: str = "127.0.0.1",
               console: bool = False) -> str:
    """A config any version starts from: ports, paths under ``directory``, our users.xml."""
    log = ("<console>1</console>" if console else
           f"<log>{directory}/server.log</log><errorlog>{directory}/server.err.log</errorlog>")
    return f"""<?xml version="1.0"?>
<clickhouse>
    <logger><level>information</level>{log}</logger>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <listen_host>{listen}</listen_host>
    <path>{directory}/data/</path>
    <tmp_path>{directory}/tmp/</tmp_path>
    <user_files_path>{directory}/user_files/</user_files_path>
    <format_schema_path>{directory}/format_schemas/</format_schema_path>
    <users_config>{directory}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>200</max_concurrent_queries>
</clickhouse>
"""


USERS_XML = """<?xml version="1.0"?>
<clickhouse>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>::/0</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</clickhouse>
"""


def write_config(directory: Path, http_port: int, tcp_port: int, listen: str = "127.0.0.1",
                 console: bool = False) -> Path:
    config = directory / "config.xml"
    config.write_text(config_xml(directory, http_port, tcp_port, listen, console))
    (directory / "users.xml").write_text(USERS_XML)
    return config


def probe(endpoint: Endpoint) -> None:
    """A real query; raises while the server is not ready."""
    endpoint.query("SELECT 1", timeout=2.0)
