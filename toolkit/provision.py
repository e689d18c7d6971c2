"""Set up a machine for a test run: the Debian packages the tests need (installed when run as
root, named in one line otherwise) and a Docker engine (a private ``dockerd`` when none answers,
stopped afterwards). Idempotent: on a machine that has everything it installs and starts nothing.
"""

from __future__ import annotations

import dataclasses
import glob
import http.client
import json
import logging
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.marker import owner, owner_alive

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
PRIVATE_DOCKER_HOST = "unix:///run/toolkit-docker/docker.sock"
PRIVATE_DATA_ROOT = Path("/var/lib/toolkit-docker/data")  # kept: images are cached across runs
DOCKERD_READY_S = 60.0
DOCKERD_STOP_S = 30.0


log = logging.getLogger("toolkit")


class ProvisionError(ToolkitError):
    pass


@dataclasses.dataclass(frozen=True)
class Need:
    """Something the tests need from the machine: a Debian package, present when one of its
    programs is on PATH or under one of ``dirs`` (PostgreSQL keeps its binaries off PATH)."""

    package: str
    programs: tuple[str, ...]
    dirs: tuple[str, ...] = ()

    def present(self) -> bool:
        for program in self.programs:
            if shutil.which(program):
                return True
            if any(glob.glob(f"{d}/{program}") for d in self.dirs):
                return True
        return False


NEEDS = {
    "postgresql": Need("postgresql", ("initdb",), ("/usr/lib/postgresql/*/bin",)),
    "mariadb": Need("mariadb-server", ("mariadbd", "mysqld"), ("/usr/sbin",)),
    "sqlite3": Need("sqlite3", ("sqlite3",)),
    "docker": Need("docker.io", ("dockerd",)),
    "debootstrap": Need("debootstrap", ("debootstrap",), ("/usr/sbin",)),
    # the ClickHouse server under test when TOOLKIT_SERVER_BINARY names none, and its client
    "clickhouse-server": Need("clickhouse-server", ("clickhouse-server", "clickhouse"),
                              ("/usr/sbin",)),
    "clickhouse-client": Need("clickhouse-client", ("clickhouse-client", "clickhouse"),
                              ("/usr/bin",)),
    # the browser the report's tests open pages in, headless
    "chromium": Need("chromium", ("chromium",), ("/usr/bin",)),
    # a network namespace for the engine that plays another host (ip; nsenter is util-linux)
    "iproute2": Need("iproute2", ("ip",), ("/usr/sbin", "/sbin")),
    # that host's sshd, for DOCKER_HOST=ssh://
    "openssh-server": Need("openssh-server", ("sshd",), ("/usr/sbin",)),
}


def missing(needs: Sequence[Need]) -> list[Need]:
    return [need for need in needs if not need.present()]


def install_command(packages: Sequence[str], sudo: bool) -> list[str]:
    return [*(["sudo"] if sudo else []), "apt-get", "install", "-y", "-q",
            "--no-install-recommends", *packages]


def packages(needs: Sequence[Need], say: Callable[[str], None] | None = None,
             is_root: bool | None = None) -> list[str]:
    """Install the missing Debian packages (as root) and return their names; when not root,
    raise one line naming the command to run. Installs nothing when nothing is missing."""
    say = say or log.info
    absent = list(dict.fromkeys(need.package for need in missing(needs)))
    if not absent:
        return []
    if not (os.geteuid() == 0 if is_root is None else is_root):
        raise ProvisionError(f"the tests need Debian package(s) {', '.join(absent)}, which are "
                             f"not installed: run `{shlex.join(install_command(absent, True))}`")
    if not shutil.which("apt-get"):
        raise ProvisionError(f"the tests need {', '.join(absent)} and this machine has no "
                             "apt-get: install them with its package manager")
    say(f"installing {', '.join(absent)} (apt-get; once per machine)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], install_command(absent, False)):
        # never a question: no stdin, non-interactive front end, -y
        result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True)
        if result.returncode:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
            raise ProvisionError(f"`{shlex.join(command)}` failed (exit {result.returncode}): "
                                 f"{tail}")
    still = missing(needs)
    if still:
        raise ProvisionError(f"installed {', '.join(absent)} but still cannot find "
                             f"{', '.join(p for n in still for p in n.programs[:1])}")
    return absent


def _socket_path(host: str) -> str | None:
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def docker_answers(host: str, timeout: float = 2.0) -> bool:
    """Whether a Docker engine answers ``GET /_ping`` at ``host`` (a unix socket or tcp://)."""
    path = _socket_path(host)
    try:
        if path is not None:
            if not os.path.exists(path):
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(path)
            conn = http.client.HTTPConnection("localhost", timeout=timeout)
            conn.sock = sock
        else:
            address = host.split("://", 1)[-1]
            conn = http.client.HTTPConnection(address, timeout=timeout)
        try:
            conn.request("GET", "/_ping")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return False


@dataclasses.dataclass(frozen=True)
class _Private:
    """Where a private daemon keeps its state: beside its socket, plus a data root."""

    host: str
    data_root: Path

    @property
    def state(self) -> Path:
        path = _socket_path(self.host)
        assert path is not None
        return Path(path).parent

    @property
    def owner_file(self) -> Path:
        return self.state / "owner.json"

    @property
    def pidfile(self) -> Path:
        return self.state / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.state / "dockerd.log"


@contextmanager
def docker_daemon(host: str | None = None, data_root: Path = PRIVATE_DATA_ROOT,
                  say: Callable[[str], None] | None = None, is_root: bool | None = None
                  ) -> Iterator[str]:
    """The ``DOCKER_HOST`` of an engine that answers. With ``host`` None: ``DOCKER_HOST``, else
    the default socket, else a private daemon. A daemon this starts (or one a killed earlier run
    started, found by its owner record) is stopped when the block ends."""
    say = say or log.info
    host = host or os.environ.get("DOCKER_HOST") or ""
    if not host:
        host = DEFAULT_DOCKER_HOST if docker_answers(DEFAULT_DOCKER_HOST) else PRIVATE_DOCKER_HOST
    private = _Private(host, data_root)
    ours = _adopt(private)
    if docker_answers(host) and not ours:
        yield host  # somebody else's daemon: use it, leave it be
        return
    if not ours:
        if _socket_path(host) is None:
            raise ProvisionError(f"no Docker engine answers at DOCKER_HOST={host}: start it, or "
                                 "unset DOCKER_HOST to let toolkit start a private one")
        if not (os.geteuid() == 0 if is_root is None else is_root):
            raise ProvisionError(f"no Docker engine answers at {host} and only root can start "
                                 "one: run `sudo \"$(command -v inv)\" test`, or start dockerd "
                                 "and set DOCKER_HOST")
        if not shutil.which("dockerd"):
            raise ProvisionError(f"no Docker engine answers at {host} and dockerd is not "
                                 "installed: run `apt-get install -y docker.io`")
        _start(private, say)
    try:
        yield host
    finally:
        _stop(private, say)


def _adopt(private: _Private) -> bool:
    """Whether a daemon at this socket is one toolkit started (its owner record says so): then
    this run owns it from now on, so that a run killed earlier leaves nothing running for long."""
    if _socket_path(private.host) is None:
        return False
    try:
        record = json.loads(private.owner_file.read_text())
    except (OSError, ValueError):
        return False
    try:
        host, pid, started = str(record["owner"]).rsplit(":", 2)
        alive = owner_alive(host, int(pid), int(started))
    except (KeyError, ValueError):
        alive = False
    if alive:
        return False  # a live run's daemon (maybe an enclosing block's): that run stops it
    if not docker_answers(private.host):
        _stop(private, lambda _: None)  # a half-started or dying daemon of a killed run
        return False
    _write_owner(private, _daemon_pid(private))
    return True


def _write_owner(private: _Private, pid: int | None) -> None:
    # written before the daemon starts and rewritten on adoption, so that whatever moment a
    # run is killed at, the next one can tell this daemon is toolkit's to stop
    tmp = private.owner_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"owner": owner(), "dockerd": pid}))
    os.replace(tmp, private.owner_file)


def _daemon_pid(private: _Private) -> int | None:
    try:
        return int(private.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _start(private: _Private, say: Callable[[str], None]) -> None:
    socket_path = _socket_path(private.host)
    assert socket_path is not None
    private.state.mkdir(parents=True, exist_ok=True)
    private.data_root.mkdir(parents=True, exist_ok=True)
    _write_owner(private, None)
    say(f"starting a private Docker engine at {private.host} (log {private.log})")
    with private.log.open("wb") as log:  # one run's log, not every run's
        proc = subprocess.Popen(
            ["dockerd", "--data-root", str(private.data_root),
             "--exec-root", str(private.state / "exec"), "--pidfile", str(private.pidfile),
             "-H", private.host],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # a Ctrl-C in the terminal reaches us, and we stop it
    _write_owner(private, proc.pid)
    deadline = time.monotonic() + DOCKERD_READY_S
    while not docker_answers(private.host, timeout=1.0):
        try:
            code = proc.wait(timeout=0.25)  # the pause between probes is a wait on its exit
        except subprocess.TimeoutExpired:
            code = None
        if code is not None or time.monotonic() > deadline:
            _stop(private, lambda _: None)
            why = f"exited with code {code}" if code is not None else \
                f"did not answer within {DOCKERD_READY_S:.0f}s"
            raise ProvisionError(f"dockerd {why}: {_tail(private.log)}")


def _tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    return " | ".join(lines[-3:])[-600:]


def _stop(private: _Private, say: Callable[[str], None]) -> None:
    """Stop the daemon toolkit started at this socket, wait for it to exit, forget it."""
    try:
        record = json.loads(private.owner_file.read_text())
    except (OSError, ValueError):
        record = {}
    pid = _daemon_pid(private) or record.get("dockerd")
    if pid and _is_dockerd(int(pid)):
        say(f"stopping the private Docker engine at {private.host}")
        os.kill(int(pid), signal.SIGTERM)
        if not _wait_gone(int(pid), DOCKERD_STOP_S):
            os.kill(int(pid), signal.SIGKILL)
            _wait_gone(int(pid), 5.0)
    private.owner_file.unlink(missing_ok=True)


def _is_dockerd(pid: int) -> bool:
    """A live dockerd (an exited one may linger as a zombie until its new parent reaps it)."""
    try:
        name, rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    except (OSError, ValueError):
        return False
    return name.endswith("(dockerd") and rest.split()[0] not in ("Z", "X")


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for ``pid`` to exit, bounded by ``timeout``: a pidfd becomes readable when it does,
    whether or not it is our child (an adopted daemon is not)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it when it was our child
    except ChildProcessError:
        pass
    return bool(ready)


@contextmanager
def prepared(needs: Sequence[Need], docker: bool = True) -> Iterator[dict[str, str]]:
    """The environment for a test run on this machine, set up first: missing packages installed,
    a Docker engine answering at the ``DOCKER_HOST`` it holds (stopped afterwards if started)."""
    packages(needs)
    env = dict(os.environ)
    if not docker:
        yield env
        return
    with docker_daemon() as host:
        env["DOCKER_HOST"] = host
        yield env
