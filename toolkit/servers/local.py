"""Private PostgreSQL, MariaDB and ClickHouse servers from the machine's binaries (ClickHouse:
the one under test, from TOOLKIT_SERVER_BINARY), in a temp dir on tmpfs, tuned for tests (no
fsync), listening on 127.0.0.1 (and a unix socket) only."""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.servers.ready import ServerError, probe_mariadb, probe_postgres, wait_ready

KINDS = ("postgres", "mariadb", "clickhouse")
READY_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True)
class LocalServer:
    kind: str
    url: str
    pid: int
    directory: Path
    command: tuple[str, ...] = ()  # how it was started (ClickHouse: to restart it after a crash)

    def stop(self) -> None:
        """Stop the server and remove its files; safe to repeat."""
        self.halt()
        shutil.rmtree(self.directory, ignore_errors=True)

    def halt(self) -> None:
        """Stop the process, keeping its files."""
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM is the others' normal one
        sig = signal.SIGINT if self.kind == "postgres" else signal.SIGTERM
        try:
            os.kill(self.pid, sig)
            _wait_gone(self.pid, 30.0)
        except ProcessLookupError:
            pass

    @property
    def logs(self) -> list[Path]:
        """Its log files, the error log first."""
        return [self.directory / name for name in ("server.err.log", "server.log")
                if (self.directory / name).is_file()]

    def to_json(self) -> str:
        return json.dumps({**dataclasses.asdict(self), "directory": str(self.directory),
                           "provider": "local"})

    @classmethod
    def from_json(cls, text: str) -> LocalServer:
        data = json.loads(text)
        return cls(data["kind"], data["url"], data["pid"], Path(data["directory"]),
                   tuple(data.get("command", ())))


def _wait_gone(pid: int, timeout: float) -> None:
    """Wait for the process to exit (a pidfd becomes readable then), killing it at the deadline."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if not select.select([fd], [], [], timeout)[0]:
            os.kill(pid, signal.SIGKILL)
            select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    try:
        os.waitpid(pid, 0)  # reap it when it is our child
    except ChildProcessError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str, search: list[str]) -> str:
    found = shutil.which(name)
    for pattern in search:
        if found:
            break
        matches = sorted(glob.glob(f"{pattern}/{name}"), reverse=True)
        found = matches[0] if matches else None
    if not found:
        raise ServerError(f"{name} not found on PATH or in {', '.join(search)}: install the "
                          "server (e.g. apt-get install postgresql / mariadb-server) or point the "
                          "tests at a running one with TOOLKIT_TEST_POSTGRES_URL / "
                          "TOOLKIT_TEST_MYSQL_URL")
    return found


def _workdir(kind: str) -> tuple[Path, str | None]:
    """A fresh directory (on tmpfs when there is one) and, as root, the user to run as."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix=f"toolkit-{kind}-", dir=base))
    user = None
    if os.geteuid() == 0:  # neither server runs as root
        user = "postgres" if kind == "postgres" else "mysql"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            user, entry = "nobody", pwd.getpwnam("nobody")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    return directory, user


def _run(cmd: list[str], user: str | None, log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(cmd, user=user, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode:
        raise ServerError(f"{Path(cmd[0]).name} failed (exit {result.returncode}): "
                          f"{_tail(log)}")


def _tail(*logs: Path) -> str:
    """The last lines of the first of ``logs`` that has any."""
    for log in logs:
        try:
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            continue
        if lines:
            return " | ".join(lines[-3:])
    return "no log"


def _wait_ready(proc: subprocess.Popen[bytes], probe: Callable[[], None], log: Path,
                timeout: float = READY_TIMEOUT_S, *more_logs: Path) -> None:
    def exited(seconds: float) -> str | None:
        try:
            return f"exit code {proc.wait(timeout=seconds)}: {_tail(log, *more_logs)}"
        except subprocess.TimeoutExpired:
            return None

    try:
        wait_ready(f"{Path(str(proc.args[0])).name} (log {log})", probe, exited,  # type: ignore[index]
                   timeout, lambda: _tail(log, *more_logs))
    except ServerError:
        proc.kill()
        proc.wait()
        raise


def start(kind: str, detach: bool = False, binary: str | None = None,
          ready_timeout: float = READY_TIMEOUT_S) -> LocalServer:
    """Start a private server of ``kind`` (postgres, mariadb or clickhouse: from ``binary``
    when given) and wait until it answers a real query."""
    if kind not in KINDS:
        raise ServerError(f"unknown server kind {kind!r}: choose one of {', '.join(KINDS)}")
    if kind == "clickhouse":
        return _start_clickhouse(detach, binary, ready_timeout)
    return (_start_postgres if kind == "postgres" else _start_mariadb)(detach)


def _start_postgres(detach: bool) -> LocalServer:
    search = ["/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin"]
    initdb, postgres = _binary("initdb", search), _binary("postgres", search)
    directory, user = _workdir("postgres")
    data, log, port = directory / "data", directory / "server.log", free_port()
    _run([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
          "--no-instructions"], user, log)
    settings = {"listen_addresses": "127.0.0.1", "port": str(port),
                "unix_socket_directories": str(directory), "fsync": "off",
                "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200",
                "shared_buffers": "128MB",
                # two-phase commit works, as on servers that use it (off by default)
                "max_prepared_transactions": "20"}
    args = [postgres, "-D", str(data)] + [a for k, v in settings.items() for a in ("-c", f"{k}={v}")]
    proc = subprocess.Popen(args, user=user, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=detach)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    _wait_ready(proc, lambda: probe_postgres(host="127.0.0.1", port=port), log)
    return LocalServer("postgres", url, proc.pid, directory)


def _start_mariadb(detach: bool) -> LocalServer:
    search = ["/usr/sbin", "/usr/local/mysql/bin", "/usr/local/bin"]
    install, mariadbd = _binary("mariadb-install-db", search), _binary("mariadbd", search)
    directory, user = _workdir("mariadb")
    data, log, port = directory / "data", directory / "server.log", free_port()
    sock = directory / "mysqld.sock"
    common = ["--no-defaults", f"--datadir={data}"] + ([f"--user={user}"] if user else [])
    _run([install, *common, "--auth-root-authentication-method=normal", "--skip-test-db"],
         None, log)
    proc = subprocess.Popen(
        [mariadbd, *common, f"--socket={sock}", f"--port={port}", "--bind-address=127.0.0.1",
         f"--pid-file={directory / 'mariadbd.pid'}", f"--log-error={log}", "--skip-log-bin",
         "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
         "--innodb-buffer-pool-size=256M", "--max-connections=300", "--character-set-server=utf8mb4"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=detach)
    url = f"mysql+pymysql://root@localhost/?unix_socket={sock}"

    _wait_ready(proc, lambda: probe_mariadb(unix_socket=str(sock)), log)
    return LocalServer("mariadb", url, proc.pid, directory)


def _start_clickhouse(detach: bool, binary: str | None, ready_timeout: float) -> LocalServer:
    from toolkit.servers import clickhouse

    path = clickhouse.find_binary(binary)
    directory, _ = _workdir("clickhouse")  # it runs as the caller, root included
    http_port, tcp_port = free_port(), free_port()
    config = clickhouse.write_config(directory, http_port, tcp_port)
    endpoint = clickhouse.Endpoint("127.0.0.1", http_port, tcp_port=tcp_port)
    server = LocalServer("clickhouse", endpoint.url(), 0, directory,
                         tuple(clickhouse.command(path, config)))
    try:
        return launch(server, detach, ready_timeout)
    except ServerError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise ServerError(f"{path} did not start a ClickHouse server: {exc}") from exc


def launch(server: LocalServer, detach: bool = False,
           ready_timeout: float = READY_TIMEOUT_S) -> LocalServer:
    """Start ``server.command`` in its directory (again, after a crash) and wait until it
    answers; the server with its new pid."""
    from toolkit.servers import clickhouse

    out = server.directory / "stdout.log"
    proc = subprocess.Popen(list(server.command), cwd=server.directory, stdin=subprocess.DEVNULL,
                            stdout=out.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=detach)
    endpoint = clickhouse.parse_url(server.url)
    # its own log says why it did not start; a binary that is no server writes to stdout
    _wait_ready(proc, lambda: clickhouse.probe(endpoint), server.directory / "server.err.log",
                ready_timeout, out)
    return dataclasses.replace(server, pid=proc.pid)


@contextmanager
def running(kind: str, binary: str | None = None) -> Iterator[LocalServer]:
    """A private server for the duration of the block, stopped and removed at exit."""
    server = start(kind, binary=binary)
    try:
        yield server
    finally:
        server.stop()


def state_file(state_dir: Path, kind: str) -> Path:
    return state_dir / f"{kind}.json"


def up(state_dir: Path, kind: str, binary: str | None = None,
       ready_timeout: float = READY_TIMEOUT_S) -> LocalServer:
    """Start a detached server that outlives this process (``server.up``), or return the running one."""
    path = state_file(state_dir, kind)
    if path.is_file():
        server = LocalServer.from_json(path.read_text())
        try:
            os.kill(server.pid, 0)
            return server
        except ProcessLookupError:
            server.stop()
    server = start(kind, detach=True, binary=binary, ready_timeout=ready_timeout)
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(server.to_json())
    return server


def down(state_dir: Path, kind: str) -> bool:
    path = state_file(state_dir, kind)
    if not path.is_file():
        return False
    LocalServer.from_json(path.read_text()).stop()
    path.unlink()
    return True
