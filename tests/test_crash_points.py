"""Kill-anywhere: a real toolkit process is SIGKILLed at every crash point it reaches (the N-th
point, for N = 1, 2, … until a run completes) while building a template, cloning, dropping and
collecting garbage, on every engine. After each kill: gc leaves nothing of the dead run (no
database, sidecar, intent), the next build succeeds and is at head, no clone is ever made from
an incomplete template, and a database toolkit did not create is never touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.helpers import create_foreign
from toolkit import core
from toolkit.engines import close_all, get_engine
from toolkit.settings import Settings

CLONE = """
import sys
from toolkit import core
from toolkit.settings import Settings
settings = Settings.load()
template = core.find_template(settings, sys.argv[1])
with core.clone(settings, template) as db:
    pass
"""
DEAD_CLONE = """
import os, signal, sys
from toolkit import core
from toolkit.settings import Settings
settings = Settings.load()
core.create_clone(settings, core.find_template(settings, sys.argv[1]))
os.kill(os.getpid(), signal.SIGKILL)
"""


def _foreign(settings: Settings) -> str:
    """A database under toolkit's prefix that toolkit did not create: never to be touched."""
    return f"{settings.prefix}zz_foreign"


def _run(settings: Settings, args: list[str], crash_at: int | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env.update(TOOLKIT_DATABASE_URL=settings.database_url, TOOLKIT_PREFIX=settings.prefix)
    if crash_at is not None:
        env["TOOLKIT_CRASH_AT"] = str(crash_at)
    return subprocess.run([sys.executable, *args], cwd=settings.project_dir, env=env,
                          capture_output=True, text=True)


def _killed_at(result: subprocess.CompletedProcess[str]) -> str | None:
    """The crash point that killed the run, or None when it ran to the end."""
    if result.returncode == 0:
        return None
    assert result.returncode == -9, result.stderr
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("toolkit: crash point")]
    return line[-1].split()[-1]


def _leftovers(settings: Settings, keep: set[str]) -> list[str]:
    """Everything of toolkit's under the prefix but ``keep`` and the foreign database."""
    close_all()
    engine = get_engine(settings)
    names = [e.name for e in core.status(settings) if e.name not in keep | {_foreign(settings)}]
    names += [f"intent {n}" for n in engine.intents(settings.prefix)]
    if settings.database_url.startswith("sqlite"):
        directory = Path(settings.database_url.removeprefix("sqlite:///")).parent
        allowed = {f"{n}.sqlite" for n in keep | {_foreign(settings)}} | \
            {f"{n}.sqlite.toolkit.json" for n in keep}
        # leases this test process holds on the templates it keeps
        leases = tuple(f".{n}.sqlite.lease.{os.getpid()}-" for n in keep)
        names += [f"file {p.name}" for p in directory.iterdir()
                  if p.name not in allowed and not p.name.endswith(".lock")
                  and not p.name.startswith(leases)]
    return names


def _check_template(settings: Settings, name: str) -> None:
    """A clone of it is at head, with the seed row: never an incomplete template."""
    with core.clone(settings, core.find_template(settings, name)) as db:
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
                == "r003"
            assert conn.execute(sa.text("SELECT name FROM parent")).scalar() == "seed"


def _walk(settings: Settings, args: list[str], after_kill) -> list[str]:  # type: ignore[no-untyped-def]
    """Kill ``args`` at point 1, 2, … until a run completes; ``after_kill`` checks each."""
    points: list[str] = []
    for n in range(1, 50):
        result = _run(settings, args, crash_at=n)
        point = _killed_at(result)
        if point is None:
            return points
        points.append(point)
        after_kill(point)
    raise AssertionError(f"never completed: {points}")


def test_kill_anywhere_in_a_template_build(settings: Settings) -> None:
    create_foreign(settings, _foreign(settings))

    recovery: set[str] = set()

    def after_kill(point: str) -> None:
        # the next build, itself killed at its first point (often removing the leftovers)
        again = _killed_at(_run(settings, ["-m", "toolkit", "db.template"], crash_at=1))
        if again:
            recovery.add(again)
        # and the one after that succeeds, at head, without a gc first
        tpl = core.ensure_template(settings)
        _check_template(settings, tpl.name)
        core.gc(settings)
        assert _leftovers(settings, keep={tpl.name}) == [], point
        core.drop(settings, tpl.name)
        core.gc(settings)  # the leases on the dropped template go with it
        assert _leftovers(settings, keep=set()) == [], point

    points = _walk(settings, ["-m", "toolkit", "db.template"], after_kill)
    assert len(points) >= 3, points
    assert recovery, "a recovering build was killed while it removed leftovers"
    assert _foreign(settings) in {e.name for e in core.status(settings)}
    print(f"{settings.database_url.split(':')[0]} template points: {points}; "
          f"recovery points: {sorted(recovery)}")


def _templates(settings: Settings) -> set[str]:
    return {e.name for e in core.status(settings) if e.marker and e.marker.kind == "template"}


def test_kill_anywhere_in_a_clone_its_drop_and_gc(settings: Settings) -> None:
    create_foreign(settings, _foreign(settings))
    tpl = core.ensure_template(settings)

    def after_kill(point: str) -> None:
        core.gc(settings)
        assert _leftovers(settings, keep={tpl.name}) == [], point
        _check_template(settings, tpl.name)

    clone_points = _walk(settings, ["-c", CLONE, tpl.name], after_kill)
    assert len(clone_points) >= 2, clone_points

    def dead_clone() -> None:
        assert _run(settings, ["-c", DEAD_CLONE, tpl.name]).returncode == -9

    dead_clone()
    gc_points = _walk(settings, ["-m", "toolkit", "db.gc"],
                      lambda point: (after_kill(point), dead_clone()))
    assert gc_points, "gc changes state at crash points too"
    core.gc(settings)
    assert _leftovers(settings, keep={tpl.name}) == []
    assert _foreign(settings) in {e.name for e in core.status(settings)}
    core.drop(settings, tpl.name)
    print(f"{settings.database_url.split(':')[0]} clone points: {clone_points}; "
          f"gc points: {gc_points}")
