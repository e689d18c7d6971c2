"""A process that has exited but was not reaped (a zombie: its parent was killed and the
machine's init does not collect it) is no owner: gc may drop what it marked."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from toolkit.marker import Marker, pid_alive


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_a_zombie_owns_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits at once, not waited for
    marker = Marker.new("clone", "f", "l", child.pid)
    try:
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)  # polls the real condition: the child has exited
        assert _state(child.pid) == "Z"
        assert not pid_alive(child.pid)
        assert not marker.owner_alive()
    finally:
        child.wait()
    assert pid_alive(os.getpid())  # a running process still is
