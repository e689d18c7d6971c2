"""A newcomer's first command, scripted: a fresh clone, a fresh virtualenv, and the README's
main-job command run exactly as the README prints it. (Its test command is the one running this
suite; the README's other steps — a new project, a hook push — are in test_prepush_push.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Two commands on a fresh machine", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_readme_states_two_commands() -> None:
    assert _readme_commands() == ["python -m pip install -e '.[dev]' && inv pipeline",
                                  "python -m pip install -e '.[dev]' && inv test"]


def test_the_main_job_runs_as_printed_in_a_fresh_clone_and_virtualenv(tmp_path: Path) -> None:
    clone, venv = tmp_path / "clone", tmp_path / "venv"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # an empty environment: the README's own command installs everything into it
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLKIT_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    main_job = _readme_commands()[0]
    result = subprocess.run(["bash", "-c", main_job], cwd=clone, env=env, text=True,
                            capture_output=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import toolkit; print(toolkit.__file__)"], text=True,
                           capture_output=True, env=env, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(clone)), where
