"""The pre-push hook as a new user meets it, by real pushes to a local bare remote: in this
repository a push that changes an example integration test runs that test; in a project made
by `alembic init` plus one test (no pyproject.toml, no lint configuration) a push passes and
runs the changed test; and that project's nox sessions install what they need into a fresh
virtualenv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from tests.helpers import hook_env

ROOT = Path(__file__).parent.parent
APP_TEST = '''
import sqlalchemy as sa


def test_accounts_start_empty(toolkit_db):
    with toolkit_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar() == 0
'''
REVISION = '''
from alembic import op

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(50))")
'''


def _git(repo: Path, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, text=True, capture_output=True,
                          env={**hook_env(), **(env or {})})


def _remote(tmp_path: Path, repo: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    for args in (("config", "user.email", "t@example.com"), ("config", "user.name", "t")):
        _git(repo, *args)
    _git(repo, "remote", "remove", "origin")
    assert _git(repo, "remote", "add", "origin", str(remote)).returncode == 0


def _install_hook(repo: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "toolkit", "hooks.install"], cwd=repo,
                            text=True, capture_output=True, env=hook_env())
    assert result.returncode == 0, result.stderr


def test_a_push_in_this_repository_runs_the_changed_example_test(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    _remote(tmp_path, repo)
    first = _git(repo, "push", "-q", "origin", "HEAD:main", env={"TOOLKIT_SKIP_HOOKS": "1"})
    assert first.returncode == 0, first.stderr
    _install_hook(repo)
    test = repo / "examples" / "shop" / "tests" / "integration" / "test_orders.py"
    test.write_text(test.read_text() + "\n\ndef test_pushed_with_the_change():\n    pass\n")
    _git(repo, "commit", "-qam", "a changed integration test")
    push = _git(repo, "push", "origin", "HEAD:main")
    output = push.stdout + push.stderr
    assert push.returncode == 0, output
    assert "running 1 changed integration test file(s)" in output, output
    assert "no changed integration tests to run" not in output


def _new_project(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    command.init(Config(str(app / "alembic.ini")), str(app / "migrations"))
    (app / "migrations" / "versions" / "a1.py").write_text(REVISION)
    (app / "tests" / "integration").mkdir(parents=True)
    (app / "tests" / "integration" / "test_app.py").write_text(APP_TEST)
    (app / "noxfile.py").write_text("import toolkit.nox\n\ntoolkit.nox.register(globals())\n")
    (app / ".gitignore").write_text(".toolkit/\n.nox/\n__pycache__/\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(app)], check=True)
    return app


def test_a_push_in_a_new_alembic_project_passes(tmp_path: Path) -> None:
    app = _new_project(tmp_path)
    _remote(tmp_path, app)
    _git(app, "add", ".")
    _git(app, "commit", "-qm", "start")
    _install_hook(app)
    push = _git(app, "push", "origin", "main")
    output = push.stdout + push.stderr
    assert push.returncode == 0, output
    assert "no ruff configuration in the project: lint skipped" in output
    assert "running 1 changed integration test file(s)" in output, output


def test_a_new_projects_nox_session_installs_what_it_needs(tmp_path: Path) -> None:
    app = _new_project(tmp_path)
    (app / "requirements.txt").write_text("sqlalchemy>=2.0\n")
    result = subprocess.run(["nox", "-s", "integration-1"], cwd=app, text=True,
                            capture_output=True, env=hook_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "does not appear to be a Python project" not in output
    assert "requirements.txt" in output and "pytest" in output
