"""Crash points: where toolkit changes state, so that tests can SIGKILL a real toolkit process
right there and check that whatever it left is recoverable.

``TOOLKIT_CRASH_AT=NAME`` kills the process at the first point of that name,
``TOOLKIT_CRASH_AT=N`` at the N-th point reached (1-based), whatever its name; a test walks N
from 1 until a run completes, and so covers every point in the order they happen. Unset (as it
always is outside such tests), a point costs one dictionary lookup."""

from __future__ import annotations

import os
import signal
import sys

_reached = 0


def point(name: str) -> None:
    global _reached
    target = os.environ.get("TOOLKIT_CRASH_AT")
    if not target:
        return
    _reached += 1
    if target == name or target == str(_reached):
        print(f"toolkit: crash point {_reached} {name}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
