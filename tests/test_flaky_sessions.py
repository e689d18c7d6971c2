"""test.flaky where it runs for a user: the `flaky` nox session (and the repository's
`flaky-toolkit`), and the pre-push hook's optional step (prepush_flaky), which stops a push
that adds a flaky reference test and stays within the hook's budget."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import hook_env, write_project

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "flaky_corpus" / "queries"


def _run(cwd: Path, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, text=True, capture_output=True,
                          env={**hook_env(), **(env or {})})


def test_the_flaky_sessions_are_listed() -> None:
    listing = _run(ROOT, "nox", "-l").stdout
    assert " flaky -> The changed reference tests and test files, run many times with random " \
           "settings." in listing
    assert " flaky-toolkit -> test.flaky on toolkit's own changed reference tests" in listing


def _project(tmp_path: Path, flaky_step: bool) -> Path:
    """A project whose noxfile registers toolkit's sessions, pushed once to a bare remote with
    its hook installed."""
    project = write_project(tmp_path / "project")
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'sample'\n" +
        ("[tool.toolkit]\nprepush_flaky = true\nprepush_budget_s = 60\n" if flaky_step else ""))
    (project / "noxfile.py").write_text("import toolkit.nox\n\ntoolkit.nox.register(globals())\n")
    (project / ".gitignore").write_text(".toolkit/\n")
    remote = tmp_path / "remote.git"
    _run(tmp_path, "git", "init", "-q", "--bare", str(remote))
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "t@example.com"],
                 ["config", "user.name", "t"], ["remote", "add", "origin", str(remote)],
                 ["add", "."], ["commit", "-qm", "base"]):
        assert _run(project, "git", *args).returncode == 0
    assert _run(project, "git", "push", "-q", "origin", "main",
                env={"TOOLKIT_SKIP_HOOKS": "1"}).returncode == 0
    hook = _run(project, sys.executable, "-m", "toolkit", "hooks.install")
    assert hook.returncode == 0, hook.stderr
    # a change that adds a reference test with a missing ORDER BY (its reference recorded
    # with the defaults) and a correct one
    queries = project / "tests" / "queries"
    queries.mkdir(parents=True)
    for name in ("missing_order_by_join", "ordered"):
        shutil.copy(CORPUS / f"{name}.sql", queries)
    recorded = _run(project, sys.executable, "-m", "toolkit", "refs.record")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert _run(project, "git", "add", ".").returncode == 0
    assert _run(project, "git", "commit", "-qm", "two reference tests").returncode == 0
    return project


def test_a_push_adding_a_flaky_reference_test_is_stopped(tmp_path: Path) -> None:
    project = _project(tmp_path, flaky_step=True)
    push = _run(project, "git", "push", "origin", "main")
    output = push.stdout + push.stderr
    assert push.returncode != 0, output
    assert "toolkit test.flaky --budget=" in output
    assert "test.flaky: 2 reference test(s) x 20 runs and 0 test file(s) x 5 runs, changed " \
           "listed in " in output
    assert "FLAKY missing_order_by_join: failed " in output
    assert "FLAKY ordered" not in output and "FAIL ordered" not in output
    assert "toolkit: pre-push checks failed" in output


def test_the_flaky_step_is_off_by_default(tmp_path: Path) -> None:
    project = _project(tmp_path, flaky_step=False)
    push = _run(project, "git", "push", "origin", "main")
    output = push.stdout + push.stderr
    assert push.returncode == 0, output
    assert "test.flaky" not in output
