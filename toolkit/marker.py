"""The marker every database toolkit creates carries, so it only ever drops its own."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Literal

Kind = Literal["building", "template", "clone", "lease"]
FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Marker:
    kind: Kind
    fingerprint: str
    lineage: str
    host: str
    pid: int
    started: int  # owner's start time in clock ticks, so a reused pid is not mistaken for the owner
    created: str
    # a template's inputs (file or option name → hash), so a later run can tell whether it is
    # still what the migrations would build, and say what changed
    inputs: tuple[tuple[str, str], ...] = ()
    # a lease: kept until then even when the owner is gone (CLI clones: the shell that asked
    # for one is often a short-lived subshell)
    expires: str = ""

    @classmethod
    def new(cls, kind: Kind, fingerprint: str, lineage: str, pid: int | None = None) -> Marker:
        """A marker owned by ``pid`` (default: this process)."""
        pid = pid or os.getpid()
        return cls(kind, fingerprint, lineage, socket.gethostname(), pid, _start_of(pid),
                   datetime.now(UTC).isoformat(timespec="microseconds"))

    def with_kind(self, kind: Kind) -> Marker:
        return dataclasses.replace(self, kind=kind)

    def with_inputs(self, inputs: dict[str, str]) -> Marker:
        return dataclasses.replace(self, inputs=tuple(sorted(inputs.items())))

    def dumps(self) -> str:
        # the fields as they are (asdict() deep-copies, which shows on every clone)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return json.dumps({"toolkit": FORMAT, **fields}, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> Marker | None:
        """The marker in ``text``, or None for anything that is not one of ours."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.pop("toolkit", None) != FORMAT:
            return None
        try:
            data["inputs"] = tuple((str(k), str(v)) for k, v in data.get("inputs", ()))
            return cls(**data)
        except (TypeError, ValueError):
            return None

    def owner_alive(self) -> bool:
        return owner_alive(self.host, self.pid, self.started)

    def held(self) -> bool:
        """Whether gc must keep what this marks: its owner lives, or its lease runs."""
        if self.expires and datetime.fromisoformat(self.expires) > datetime.now(UTC):
            return True
        return self.owner_alive()

    def with_lease(self, seconds: float | None) -> Marker:
        if not seconds:
            return self
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        return dataclasses.replace(self, expires=until.isoformat(timespec="seconds"))

    @property
    def owner_key(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    @property
    def age_s(self) -> float:
        return (datetime.now(UTC) - datetime.fromisoformat(self.created)).total_seconds()


def owner(pid: int | None = None) -> str:
    """``host:pid:start`` of a process (default: this one), for labels that outlive it."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start(pid)}"


def owner_alive(host: str, pid: int, started: int) -> bool:
    """False only when the owner is provably gone; another host's process can't be checked,
    and a reused pid (another start time) is not the owner."""
    if host != socket.gethostname():
        return True
    return pid_alive(pid) and process_start(pid) == started


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (another user's counts). A zombie
    does not: it has exited, and only waits for a parent (or an init that may never come) to
    collect its exit status."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc to ask: it answered the signal


_own_start: tuple[int, int] = (0, 0)  # this process's pid and start, read once per pid


def _start_of(pid: int) -> int:
    """process_start(), without reading /proc again for this process (a pool marks a clone
    every few milliseconds); a forked child has another pid, so reads its own."""
    global _own_start
    if pid != os.getpid():
        return process_start(pid)
    if _own_start[0] != pid:
        _own_start = (pid, process_start(pid))
    return _own_start[1]


def process_start(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # the command name may contain spaces, so count fields after its closing parenthesis
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0
