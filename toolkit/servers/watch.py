"""Keeping an eye on the server under test during a run: has its process or container ended,
does it still answer a real query, what its log says, and (when toolkit started it) bringing
it back after a crash."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from toolkit.servers.clickhouse import (
    ClickHouseQueryError,
    ClickHouseUnreachable,
    Endpoint,
    parse_url,
    probe,
)
from toolkit.servers.local import LocalServer, launch
from toolkit.servers.ready import ServerError, wait_ready

ANSWER_TIMEOUT_S = 3.0
RESTART_TIMEOUT_S = 60.0


@dataclasses.dataclass
class Watch:
    """The server at ``endpoint``; ``local`` or ``container`` when toolkit started it (else
    only whether it answers is known). ``state`` is server.up's record of it, kept current
    across restarts."""

    endpoint: Endpoint
    local: LocalServer | None = None
    container: str | None = None
    state: Path | None = None
    # how far the error log was read: a crash is there well before the process ends (18.16
    # logs a segfault, then hangs the query for ~11 s before it exits)
    _read: int = dataclasses.field(default=-1, repr=False)

    def __post_init__(self) -> None:
        if self.local is not None:
            self._fatal_signal(self.local.directory / "server.err.log")  # marks where we are

    def exited(self) -> str | None:
        """How its process or container ended (or a fatal signal its error log reports), or
        None while it runs (or is not ours)."""
        if self.local is not None and process_gone(self.local.pid):
            return f"its process (pid {self.local.pid}) exited"
        if self.local is not None:
            crash = self._fatal_signal(self.local.directory / "server.err.log")
            if crash:
                return f"it crashed: {crash}"
        if self.container is not None:
            box = self._container()
            if box is None:
                return f"its container {self.container[:12]} is gone"
            if box.status != "running":
                code = box.attrs.get("State", {}).get("ExitCode")
                return f"its container {box.short_id} {box.status} (exit code {code})"
        return None

    def _fatal_signal(self, log: Path) -> str | None:
        """The first 'Received signal' line the error log gained since the run began."""
        try:
            with log.open("rb") as f:
                if self._read < 0:  # the run begins: only what comes later counts
                    self._read = f.seek(0, 2)
                    return None
                f.seek(self._read)
                new = f.read()
        except OSError:  # no error log yet: everything it will hold is new
            self._read = max(self._read, 0)
            return None
        self._read += len(new)
        for line in new.decode(errors="replace").splitlines():
            if "Received signal" in line and "BaseDaemon" in line:
                return line.split("BaseDaemon: ", 1)[-1].strip()
        return None

    def answers(self, timeout: float = ANSWER_TIMEOUT_S) -> bool:
        try:
            self.endpoint.query("SELECT 1", timeout)
            return True
        except (ClickHouseUnreachable, ClickHouseQueryError):
            return False

    def down(self) -> str | None:
        """Why the server is of no more use, or None when it is fine."""
        gone = self.exited()
        if gone:
            return gone
        if not self.answers():
            return f"it did not answer SELECT 1 within {ANSWER_TIMEOUT_S:g} s"
        return None

    def log_tail(self, lines: int = 30) -> str:
        """Its last ``lines`` log lines, the error log's first."""
        if self.local is not None:
            taken: list[str] = []
            for log in self.local.logs:
                if len(taken) >= lines:
                    break
                text = log.read_text(errors="replace").rstrip("\n").splitlines()
                if text:
                    taken += [f"== {log}", *text[-(lines - len(taken)):]]
            return "\n".join(taken) or f"(its logs in {self.local.directory} are empty)"
        if self.container is not None:
            box = self._container()
            if box is not None:
                return str(box.logs(tail=lines).decode(errors="replace")).rstrip("\n")
            return "(its container is gone, and its log with it)"
        return f"(no server log: toolkit did not start the server at {self.endpoint.where})"

    def restart(self) -> None:
        """Start it again where it was; raises ServerError when toolkit did not start it."""
        if self.local is not None:
            self.local.halt()
            self.local = launch(self.local, detach=self.state is not None,
                                ready_timeout=RESTART_TIMEOUT_S)
            if self.state is not None:
                self.state.write_text(self.local.to_json())
            return
        if self.container is not None:
            box = self._container()
            if box is None:
                raise ServerError(f"cannot restart container {self.container[:12]}: it is gone")
            box.restart(timeout=5)

            def exited(seconds: float) -> str | None:
                return self.exited()

            wait_ready(f"container {box.short_id}", lambda: probe(self.endpoint), exited,
                       RESTART_TIMEOUT_S)
            return
        raise ServerError(f"cannot restart the server at {self.endpoint.where}: toolkit did not "
                          "start it (start it with `toolkit server.up clickhouse`)")

    def _container(self):  # type: ignore[no-untyped-def]
        from docker.errors import NotFound

        from toolkit.docker import client

        try:
            return client().containers.get(self.container)
        except NotFound:
            return None


def process_gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie counts: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def for_url(state_dir: Path, endpoint: Endpoint) -> Watch:
    """The watch for a server: server.up's record of it when toolkit started the one at that
    address, else one that only knows whether it answers."""
    for state in sorted(state_dir.glob("*.json")):
        data = json.loads(state.read_text())
        if data.get("kind") != "clickhouse":
            continue
        if parse_url(data["url"]).where != endpoint.where:
            continue
        if data.get("provider") == "docker":
            return Watch(endpoint, container=data["container"], state=state)
        return Watch(endpoint, local=LocalServer.from_json(state.read_text()), state=state)
    return Watch(endpoint)
