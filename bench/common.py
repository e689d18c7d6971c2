"""What the benchmarks share."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path


def timed(command: list[str], cwd: Path, env: Mapping[str, str], reps: int) -> list[float]:
    """Seconds each of ``reps`` runs of ``command`` took (it must succeed)."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=dict(env), check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times
