"""The pre-push hook's cost, by real pushes to a local bare remote from a clone of this
repository: a push that changes no integration test (target ≤ 15 s) and one that changes an
example integration test (it adds only that test's time), against the old default that built a
virtualenv (`nox -s prepush`).

    python -m bench.prepush [--old]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, text=True, capture_output=True, env=env)


def _push(repo: Path, path: str, text: str, env: dict[str, str]) -> float:
    target = repo / path
    target.write_text(target.read_text() + text)
    _git(repo, "commit", "-qam", f"change {path}", env=env)
    start = time.perf_counter()
    result = _git(repo, "push", "-q", "origin", "HEAD:main", env=env)
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"push failed: {result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", action="store_true",
                        help="also time the old default, `nox -s prepush` (builds a virtualenv)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLKIT_", "GIT_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    commands = [("nox --no-venv -s prepush (default)", "nox --no-venv -s prepush")]
    if args.old:
        commands.append(("nox -s prepush (old default)", "nox -s prepush"))
    table = Table(title="pre-push hook, one push each (seconds)")
    for column in ("prepush_command", "no integration test changed", "one changed", "target"):
        table.add_column(column, justify="right")
    for label, command in commands:
        with tempfile.TemporaryDirectory() as tmp:
            repo, remote = Path(tmp) / "repo", Path(tmp) / "remote.git"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
            subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
            for a in (("config", "user.email", "b@example.com"), ("config", "user.name", "b"),
                      ("remote", "set-url", "origin", str(remote))):
                _git(repo, *a, env=env)
            _git(repo, "push", "-q", "origin", "HEAD:main", env={**env, "TOOLKIT_SKIP_HOOKS": "1"})
            subprocess.run([sys.executable, "-m", "toolkit", "hooks.install"], cwd=repo,
                           env=env, check=True, capture_output=True)
            hook_env = {**env, "TOOLKIT_PREPUSH_COMMAND": command}
            quiet = _push(repo, "README.md", "\n", hook_env)
            changed = _push(repo, "examples/shop/tests/integration/test_orders.py",
                            "\n\ndef test_bench_marker():\n    pass\n", hook_env)
        table.add_row(label, f"{quiet:.1f}", f"{changed:.1f}",
                      f"≤15 s {'✓' if quiet <= 15 else '✗'}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
