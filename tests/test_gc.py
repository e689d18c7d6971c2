"""gc drops what dead owners left, never a live owner's clone, and old templates."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import add_revision, run_toolkit
from toolkit import create_clone, ensure_template, gc, status
from toolkit.settings import Settings


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_dead_owner_dropped_live_owner_kept(settings: Settings) -> None:
    tpl = ensure_template(settings)
    live = create_clone(settings, tpl)  # owned by this (live) test process
    sibling = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    alive_other = create_clone(settings, tpl, owner_pid=sibling.pid)
    dead = create_clone(settings, tpl, owner_pid=_dead_pid())
    try:
        would = gc(settings, dry_run=True)
        assert [n for n, _ in would] == [dead.name]
        assert dead.name in {e.name for e in status(settings)}
        dropped = gc(settings)
        assert [n for n, _ in dropped] == [dead.name]
        left = {e.name for e in status(settings)}
        assert {live.name, alive_other.name, tpl.name} <= left and dead.name not in left
    finally:
        sibling.communicate(b"\n")
    assert {n for n, _ in gc(settings)} == {alive_other.name}


def test_keeps_newest_templates_per_lineage(settings: Settings, project: Path) -> None:
    """Templates built by processes that have ended: only the newest keep_templates stay."""
    built = [run_toolkit(settings, "db.template").stdout.strip()]
    for i in range(3):
        add_revision(project, f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY)")
        built.append(run_toolkit(settings, "db.template").stdout.strip())
    assert settings.keep_templates == 2
    assert {n for n, _ in gc(settings, dry_run=True)} == set(built[:2])
    assert {n for n, _ in gc(settings)} == set(built[:2])
    assert {e.name for e in status(settings)} == set(built[2:])
