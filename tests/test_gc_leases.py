"""gc and ownership: a template that a live run still clones from survives gc whatever its age,
and a clone asked for on the command line survives the short-lived shell that asked for it
(a lease), unless told otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import add_revision, run_toolkit
from toolkit import core
from toolkit.settings import Settings

USER = """
import sys
from toolkit import core
from toolkit.settings import Settings
settings = Settings.load()
template = core.find_template(settings, sys.argv[1])
print("leased", flush=True)
sys.stdin.readline()  # until the test says: clone again
with core.clone(settings, template) as db:
    print("cloned", db.name, flush=True)
"""


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env.update(TOOLKIT_DATABASE_URL=settings.database_url, TOOLKIT_PREFIX=settings.prefix)
    return env


def _build(settings: Settings) -> str:
    """In another process, so this test holds no lease of its own."""
    return run_toolkit(settings, "db.template").stdout.strip().splitlines()[-1]


def test_a_template_a_live_run_uses_survives_gc(settings: Settings, project: Path) -> None:
    oldest = _build(settings)
    user = subprocess.Popen([sys.executable, "-c", USER, oldest], cwd=project, text=True,
                            env=_env(settings), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert user.stdout is not None and user.stdin is not None
    assert user.stdout.readline().strip() == "leased"
    newer = []
    for i in range(2):  # keep_templates = 2: the oldest is now beyond it
        add_revision(project, f"CREATE TABLE extra{i} (id INTEGER PRIMARY KEY)")
        newer.append(_build(settings))
    assert oldest not in [name for name, _ in core.gc(settings)]
    user.stdin.write("go\n")
    user.stdin.flush()
    out, _ = user.communicate(timeout=60)
    assert user.returncode == 0 and "cloned" in out
    # its user gone, it is just an old template again
    assert oldest in [name for name, _ in core.gc(settings)]
    assert {e.name for e in core.status(settings)} == set(newer)


def _shell_clone(settings: Settings, flags: str = "") -> str:
    """`URL=$(toolkit db.clone)` in sh, as people call it: the owner is a subshell."""
    result = subprocess.run(
        ["sh", "-c", f'URL=$("{sys.executable}" -m toolkit db.clone {flags} 2>/dev/null); '
                     'echo "$URL"'], cwd=settings.project_dir, env=_env(settings),
        capture_output=True, text=True, check=True)
    url = result.stdout.strip()
    assert url, result.stderr
    return next(e.name for e in core.status(settings) if e.name in url)


def test_a_cli_clone_outlives_the_subshell_that_asked_for_it(settings: Settings) -> None:
    leased = _shell_clone(settings)
    owner_only = _shell_clone(settings, "--ttl 0")
    # --owner: kept while that process runs, here this test's own
    mine = _shell_clone(settings, f"--ttl 0 --owner {os.getpid()}")
    dropped = [name for name, _ in core.gc(settings)]
    assert owner_only in dropped
    assert leased not in dropped and mine not in dropped
    kept = {e.name: e.as_dict() for e in core.status(settings)}
    assert "kept_until" in kept[leased]
    for name in (leased, mine):
        run_toolkit(settings, "db.drop", name)


def test_owner_must_be_a_running_process(settings: Settings) -> None:
    result = run_toolkit(settings, "db.clone", "--owner", "999999999", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "toolkit: error: --owner 999999999: no such process (give the PID of a running "
        "process)"]
