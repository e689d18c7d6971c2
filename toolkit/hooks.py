"""The git pre-push hook: installed by `toolkit hooks.install`, run by git with the pushed
refs on stdin (or by pre-commit, which passes the range in PRE_COMMIT_FROM_REF/TO_REF)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.settings import Settings

MARK = "# toolkit pre-push hook"
ZERO = "0" * 40


class HookError(ToolkitError):
    pass


def hook_text() -> str:
    return (f"#!/bin/sh\n{MARK} (installed by `toolkit hooks.install`; "
            "`toolkit hooks.uninstall` removes it; TOOLKIT_SKIP_HOOKS=1 skips it)\n"
            f'exec {shlex.quote(sys.executable)} -m toolkit.hooks pre-push "$@"\n')


def _hook_path(repo: Path) -> Path:
    out = subprocess.run(["git", "rev-parse", "--git-path", "hooks/pre-push"], cwd=repo,
                         capture_output=True, text=True)
    if out.returncode:
        raise HookError(f"{repo} is not inside a git repository (git rev-parse failed: "
                        f"{out.stderr.strip()})")
    return (repo / out.stdout.strip()).resolve()


def install(repo: Path, force: bool = False) -> tuple[Path, bool]:
    """(hook path, whether it changed); refuses to replace a hook toolkit did not write."""
    path = _hook_path(repo)
    text = hook_text()
    if path.exists():
        current = path.read_text(errors="replace")
        if current == text:
            return path, False
        if MARK not in current and not force:
            raise HookError(f"{path} exists and was not written by toolkit: keep it, or "
                            "replace it with `toolkit hooks.install --force`")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path, True


def uninstall(repo: Path) -> Path | None:
    """Remove the hook if toolkit wrote it; leave any other hook alone."""
    path = _hook_path(repo)
    if path.exists() and MARK in path.read_text(errors="replace"):
        path.unlink()
        return path
    return None


def _git(repo: Path, *args: str) -> list[str]:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


def changed_files(repo: Path, updates: Sequence[tuple[str, str]], remote: str) -> list[str]:
    """Files changed by the pushed commits, for (local sha, remote sha) updates."""
    files: set[str] = set()
    for local, theirs in updates:
        if theirs != ZERO:
            files.update(_git(repo, "diff", "--name-only", theirs, local))
            continue
        # a new branch: the commits the remote does not have yet
        for commit in _git(repo, "rev-list", local, "--not", f"--remotes={remote}"):
            files.update(_git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r",
                               "--root", commit))
    return sorted(files)


def pre_push(argv: Sequence[str], stdin_text: str, environ: Mapping[str, str]) -> int:
    if environ.get("TOOLKIT_SKIP_HOOKS") == "1":
        print("toolkit: pre-push checks skipped (TOOLKIT_SKIP_HOOKS=1)")
        return 0
    repo = Path.cwd()
    remote = argv[0] if argv else "origin"
    if environ.get("PRE_COMMIT_FROM_REF") and environ.get("PRE_COMMIT_TO_REF"):
        updates = [(environ["PRE_COMMIT_TO_REF"], environ["PRE_COMMIT_FROM_REF"])]
    else:
        updates = []
        for line in stdin_text.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[1] != ZERO:  # a zero local sha deletes a ref
                updates.append((parts[1], parts[3]))
    if not updates:
        print("toolkit: the push only deletes refs; nothing to check")
        return 0
    settings = Settings.load(project_dir=repo)
    changed = changed_files(repo, updates, remote)
    listing = settings.project_dir / ".toolkit" / "prepush-changed.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{f}\n" for f in changed))
    print(f"toolkit: pre-push checks on {len(changed)} changed file(s): "
          f"{settings.prepush_command}", flush=True)
    env = {**environ, "TOOLKIT_CHANGED_FILES": str(listing), "TOOLKIT_CHANGED_ROOT": str(repo)}
    code = subprocess.run(settings.prepush_command, shell=True, cwd=settings.project_dir,
                          env=env).returncode
    if code:
        print(f"toolkit: pre-push checks failed (exit {code}); fix them, or push with "
              "TOOLKIT_SKIP_HOOKS=1 to skip them once", file=sys.stderr)
    return code


def main() -> None:
    if sys.argv[1:2] != ["pre-push"]:
        sys.exit("usage: python -m toolkit.hooks pre-push [REMOTE URL] < refs")
    try:
        stdin_text = "" if sys.stdin.isatty() else sys.stdin.read()
        sys.exit(pre_push(sys.argv[2:], stdin_text, os.environ))
    except (ToolkitError, subprocess.CalledProcessError) as exc:
        sys.exit(f"toolkit: error: {exc}")


if __name__ == "__main__":
    main()
