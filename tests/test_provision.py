"""The test command's machine set-up (toolkit.provision): packages named to a user who is not
root, nothing installed when nothing is missing, and a private Docker engine started, stopped,
and cleaned up after a run that was killed. Daemons started here live in a network namespace of
their own (unshare --net), so they never touch the engine the rest of the suite uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from toolkit import provision

ROOT = Path(__file__).parent.parent

DAEMON = """
import sys
from collections.abc import Iterable
from pathlib import Path
from toolkit import provision

state = Path(sys.argv[1])
with provision.docker_daemon(f"unix://{state}/run/docker.sock", data_root=state / "data",
                             say=lambda line: print(line, flush=True)) as host:
    with provision.docker_daemon(host):  # a nested use leaves the daemon to the outer one
        pass
    import docker
    version = docker.DockerClient(base_url=host).version()["Version"]
    print("answering", version, provision._daemon_pid(provision._Private(host, state)),
          flush=True)
    if sys.argv[2:] == ["hang"]:
        sys.stdin.read()  # until killed
"""


def _as_user(*args: str, path: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """A command run by an unprivileged user (uid 1000 in a user namespace: no root powers),
    with PATH reduced to ``path``."""
    return subprocess.run(["unshare", "--user", "--map-user=1000", "--map-group=1000",
                           "env", f"PATH={path}", *args], cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def test_not_root_and_packages_missing_names_the_command(tmp_path: Path) -> None:
    # an empty PATH hides sqlite3 and dockerd (PostgreSQL, MariaDB and debootstrap are found
    # in their own directories, so they stay present)
    (tmp_path / "bin").mkdir()
    result = _as_user(sys.executable, "-m", "invoke", "test", path=str(tmp_path / "bin"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["toolkit: error: the tests need Debian package(s) sqlite3, docker.io, "
                     "which are not installed: run `sudo apt-get install -y -q "
                     "--no-install-recommends sqlite3 docker.io`"], result.stderr
    assert result.stdout == ""


def test_not_root_and_no_daemon_says_how(tmp_path: Path) -> None:
    code = ("from toolkit import provision\n"
            f"with provision.docker_daemon('unix://{tmp_path}/none.sock'): pass\n")
    result = _as_user(sys.executable, "-c", code, path=os.environ["PATH"])
    assert result.returncode != 0
    assert "only root can start one: run `sudo \"$(command -v inv)\" test`" in result.stderr


def test_nothing_missing_installs_nothing() -> None:
    # the suite runs on a provisioned machine: a second set-up has nothing to do
    assert provision.missing(list(provision.NEEDS.values())) == []
    said: list[str] = []
    assert provision.packages(list(provision.NEEDS.values()), say=said.append) == []
    assert said == []


def _daemon(state: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["unshare", "--net", sys.executable, "-c", DAEMON, str(state),
                             *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _answering(lines: Iterable[str]) -> int:
    for line in lines:
        if line.startswith("answering"):
            return int(line.split()[2])
    raise AssertionError(f"no daemon answered: {lines}")


def _run(state: Path) -> tuple[int, str]:
    """A whole run of the daemon script: the daemon's pid, and what was said after it answered."""
    proc = _daemon(state)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    lines = out.splitlines()
    pid = _answering(lines)
    after = lines[next(i for i, ln in enumerate(lines) if ln.startswith("answering")) + 1:]
    return pid, "\n".join(after) + "\n" + "\n".join(lines)


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its reaper counts: an orphaned daemon's parent is init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def test_missing_daemon_is_started_and_stopped(tmp_path: Path) -> None:
    pid, out = _run(tmp_path)
    assert "starting a private Docker engine" in out
    assert "stopping the private Docker engine" in out
    assert _gone(pid)
    host = f"unix://{tmp_path}/run/docker.sock"
    assert not provision.docker_answers(host)
    assert not (tmp_path / "run" / "owner.json").exists()


def test_daemon_of_a_killed_run_is_stopped_by_the_next(tmp_path: Path) -> None:
    killed = _daemon(tmp_path, "hang")
    assert killed.stdout is not None
    # readline, not iteration: nothing read ahead is lost (the process is killed, not read on)
    pid = _answering(iter(killed.stdout.readline, ""))
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    host = f"unix://{tmp_path}/run/docker.sock"
    assert provision.docker_answers(host), "the killed run's daemon should still be up"
    # the next run uses that daemon (starts no second one) and stops it at its end
    again, out = _run(tmp_path)
    assert again == pid
    assert "starting" not in out
    assert _gone(pid)
    assert not provision.docker_answers(host)
