"""The pre-push hook, installed in a temporary repository and run by real pushes to a local
bare remote."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = """
import os, pathlib, sys
changed = pathlib.Path(os.environ["TOOLKIT_CHANGED_FILES"]).read_text().split()
with open("runs.log", "a") as log:
    log.write(" ".join(changed) + "\\n")
sys.exit(1 if any(name.endswith("FAIL") for name in changed) else 0)
"""


def _git(repo: Path, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, text=True, capture_output=True,
                          env={**os.environ, **(env or {})})


def _toolkit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=repo, text=True,
                          capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    remote, repo = tmp_path / "remote.git", tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "pyproject.toml").write_text(
        f'[tool.toolkit]\nprepush_command = "{sys.executable} check.py"\n')
    (repo / "check.py").write_text(CHECK)
    (repo / ".gitignore").write_text("runs.log\n.toolkit/\n")
    for args in (("config", "user.email", "t@example.com"), ("config", "user.name", "t"),
                 ("add", "."), ("commit", "-qm", "start"), ("remote", "add", "origin", str(remote))):
        assert _git(repo, *args).returncode == 0
    return repo


def _runs(repo: Path) -> list[str]:
    log = repo / "runs.log"
    return log.read_text().splitlines() if log.exists() else []


def test_install_is_idempotent_and_respects_foreign_hooks(repo: Path) -> None:
    first = _toolkit(repo, "hooks.install")
    assert first.returncode == 0 and "installed" in first.stdout
    hook = repo / ".git" / "hooks" / "pre-push"
    assert os.access(hook, os.X_OK)
    again = _toolkit(repo, "hooks.install")
    assert "already installed" in again.stdout
    hook.write_text("#!/bin/sh\necho mine\n")
    refused = _toolkit(repo, "hooks.install")
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert _toolkit(repo, "hooks.uninstall").stdout.strip() == "no toolkit pre-push hook installed"
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert _toolkit(repo, "hooks.install", "--force").returncode == 0
    assert "removed" in _toolkit(repo, "hooks.uninstall").stdout
    assert not hook.exists()


def test_push_runs_the_checks_and_a_failure_blocks_it(repo: Path) -> None:
    assert _toolkit(repo, "hooks.install").returncode == 0
    push = _git(repo, "push", "-q", "origin", "main")
    assert push.returncode == 0, push.stderr
    assert _runs(repo) == [".gitignore check.py pyproject.toml"]

    (repo / "feature.txt").write_text("x\n")
    _git(repo, "add", "feature.txt")
    _git(repo, "commit", "-qm", "feature")
    assert _git(repo, "push", "-q", "origin", "main").returncode == 0
    assert _runs(repo)[-1] == "feature.txt"

    (repo / "FAIL").write_text("x\n")
    _git(repo, "add", "FAIL")
    _git(repo, "commit", "-qm", "breaks the checks")
    rejected = _git(repo, "push", "-q", "origin", "main")
    assert rejected.returncode != 0
    assert "pre-push checks failed" in rejected.stderr
    assert _git(repo, "ls-remote", "origin", "main").stdout.split()[0] != \
        _git(repo, "rev-parse", "HEAD").stdout.strip()

    skipped = _git(repo, "push", "-q", "origin", "main", env={"TOOLKIT_SKIP_HOOKS": "1"})
    assert skipped.returncode == 0 and "skipped (TOOLKIT_SKIP_HOOKS=1)" in skipped.stdout + \
        skipped.stderr
    assert len(_runs(repo)) == 3


def test_deleting_a_branch_runs_nothing(repo: Path) -> None:
    _git(repo, "push", "-q", "origin", "main:doomed", env={"TOOLKIT_SKIP_HOOKS": "1"})
    assert _toolkit(repo, "hooks.install").returncode == 0
    deleted = _git(repo, "push", "origin", ":doomed")
    assert deleted.returncode == 0, deleted.stderr
    assert "only deletes refs" in deleted.stdout + deleted.stderr
    assert _runs(repo) == []
