"""A lease on a template lives as long as the process holding it: a process that exits takes
its lease with it (nothing piles up run after run), one that is SIGKILLed leaves it for the
next gc, on every engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers import run_toolkit
from toolkit import core
from toolkit.engines import get_engine
from toolkit.settings import Settings

HOLDER = """
import sys
from toolkit import core
from toolkit.settings import Settings
core.find_template(Settings.load(), sys.argv[1])
print("leased", flush=True)
sys.stdin.readline()
"""


def _leases(settings: Settings) -> list[tuple[str, int]]:
    return [(name, m.pid) for name, m in get_engine(settings).leases(settings.prefix)]


def _holder(settings: Settings, project: Path, template: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env.update(TOOLKIT_DATABASE_URL=settings.database_url, TOOLKIT_PREFIX=settings.prefix)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, template], cwd=project, text=True,
                              env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "leased"
    return holder


def test_a_process_that_exits_takes_its_lease_with_it(settings: Settings, project: Path
                                                     ) -> None:
    template = run_toolkit(settings, "db.template").stdout.strip().splitlines()[-1]
    assert _leases(settings) == []  # db.template's own, gone with it
    holder = _holder(settings, project, template)
    assert _leases(settings) == [(template, holder.pid)]
    holder.communicate("done\n", timeout=60)
    assert holder.returncode == 0
    assert _leases(settings) == []


def test_a_killed_process_leaves_its_lease_to_gc(settings: Settings, project: Path) -> None:
    template = run_toolkit(settings, "db.template").stdout.strip().splitlines()[-1]
    holder = _holder(settings, project, template)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=60)
    assert _leases(settings) == [(template, holder.pid)]
    core.gc(settings)
    assert _leases(settings) == []
