"""Many processes calling ensure_template at once: exactly one migrates, all get the template."""

import multiprocessing
from pathlib import Path

from tests.helpers import migration_runs
from toolkit import ensure_template
from toolkit.engines import close_all
from toolkit.settings import Settings

PROCESSES = 6


def _build(settings: Settings, start: "multiprocessing.synchronize.Barrier") -> str:
    close_all()  # never share a parent's connection after fork
    start.wait()
    return ensure_template(settings).name


def test_one_process_migrates_the_others_wait(settings: Settings, project: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with ctx.Pool(PROCESSES) as pool:
            names = pool.starmap(_build, [(settings, barrier)] * PROCESSES)
    assert len(set(names)) == 1
    assert migration_runs(project) == 1
