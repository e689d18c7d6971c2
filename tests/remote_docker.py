"""A Docker engine on "another host", for the tests of toolkit on a remote engine: a private
dockerd listening on TCP inside a network namespace of its own, reached over a veth pair
(this host 10.231.0.1, the engine's 10.231.0.2). It shares nothing with the tests but the
kernel: its containers publish on its address, and no file of this host can be mounted in
them by a path toolkit knows (they would be the engine host's paths). Needs root; a run
killed earlier leaves a namespace and a daemon that the next one removes first. The engine's
images stay in its data root between runs, as the private dockerd's do."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

NETNS = "toolkit-remote"
VETH = ("tkremote0", "tkremote1")
HOST_IP, ENGINE_IP = "10.231.0.1", "10.231.0.2"
DOCKER_HOST = f"tcp://{ENGINE_IP}:2375"
DATA = Path("/var/lib/toolkit-remote-docker")
STATE = Path("/run/toolkit-remote-docker")
READY_S = 60.0


def _ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _stop_daemon() -> None:
    try:
        pid = int((STATE / "dockerd.pid").read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)  # waiting for the daemon's own exit, bounded above
    os.kill(pid, signal.SIGKILL)


def _teardown() -> None:
    _stop_daemon()
    _ip("netns", "del", NETNS, check=False)
    _ip("link", "del", VETH[0], check=False)


def _answers() -> bool:
    import docker

    try:
        docker.DockerClient(base_url=DOCKER_HOST, timeout=2).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def remote_engine() -> Iterator[str]:
    """The engine's DOCKER_HOST for the block; the daemon and its namespace removed after."""
    _teardown()  # what a killed run left
    _ip("netns", "add", NETNS)
    try:
        _ip("link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1])
        _ip("link", "set", VETH[1], "netns", NETNS)
        _ip("addr", "add", f"{HOST_IP}/24", "dev", VETH[0])
        _ip("link", "set", VETH[0], "up")
        for args in (("addr", "add", f"{ENGINE_IP}/24", "dev", VETH[1]),
                     ("link", "set", VETH[1], "up"), ("link", "set", "lo", "up")):
            _ip("-n", NETNS, *args)
        DATA.mkdir(parents=True, exist_ok=True)
        STATE.mkdir(parents=True, exist_ok=True)
        # nsenter, not `ip netns exec`: that one mounts a sysfs of its own, which hides the
        # cgroup file systems dockerd needs
        with (STATE / "dockerd.log").open("wb") as log:
            daemon = subprocess.Popen(
                ["nsenter", f"--net=/var/run/netns/{NETNS}", "dockerd", "-H", DOCKER_HOST,
                 "--tls=false", "--data-root", str(DATA), "--exec-root", str(STATE / "exec"),
                 "--pidfile", str(STATE / "dockerd.pid")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + READY_S
        while not _answers():
            try:
                code = daemon.wait(timeout=0.25)  # the pause between probes waits on its exit
            except subprocess.TimeoutExpired:
                code = None
            if code is not None or time.monotonic() > deadline:
                tail = (STATE / "dockerd.log").read_text(errors="replace").splitlines()[-3:]
                raise RuntimeError(f"the remote dockerd did not start: {' | '.join(tail)}")
        try:
            yield DOCKER_HOST
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    finally:
        _teardown()


SSHD_CONFIG = """\
ListenAddress {address}:22
HostKey {root}/host_key
AuthorizedKeysFile {root}/authorized_keys
PidFile {root}/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin prohibit-password
# the engine's host runs its docker CLI (`docker system dial-stdio`) against its own daemon
SetEnv DOCKER_HOST={docker_host}
"""


@contextlib.contextmanager
def ssh_into_engine(root: Path) -> Iterator[dict[str, str]]:
    """An sshd on the engine's host (inside its namespace) that lets this host in with a key
    made for the block; the environment (HOME with .ssh/config, the key and the host's key)
    under which DOCKER_HOST=ssh://root@ENGINE_IP reaches the engine."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "id"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)],
                       check=True)
    (root / "authorized_keys").write_text((root / "id.pub").read_text())
    (root / "sshd_config").write_text(SSHD_CONFIG.format(address=ENGINE_IP, root=root,
                                                         docker_host=DOCKER_HOST))
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(f"Host {ENGINE_IP}\n  IdentityFile {root / 'id'}\n")
    host_key = (root / "host_key.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"{ENGINE_IP} {host_key[0]} {host_key[1]}\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    daemon = subprocess.Popen(["nsenter", f"--net=/var/run/netns/{NETNS}", "/usr/sbin/sshd",
                               "-D", "-e", "-f", str(root / "sshd_config")],
                              stdout=subprocess.DEVNULL, stderr=(root / "sshd.log").open("wb"))
    try:
        import socket

        deadline = time.monotonic() + 10
        while True:  # listening once a connection is accepted (bounded)
            try:
                socket.create_connection((ENGINE_IP, 22), timeout=1).close()
                break
            except OSError:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start: "
                                       f"{(root / 'sshd.log').read_text()[-500:]}") from None
                time.sleep(0.05)  # between connection attempts, bounded by the deadline
        yield {"HOME": str(home), "DOCKER_HOST": f"ssh://root@{ENGINE_IP}"}
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def copy_image(source, target, tag: str) -> None:  # type: ignore[no-untyped-def]
    """``tag`` from one engine into the other (docker save | docker load), unless the other
    has that very image already: there is no registry between them."""
    image = source.images.get(tag)
    try:
        if target.images.get(tag).id == image.id:
            return
    except Exception:
        pass
    target.images.load(b"".join(source.api.get_image(tag)))  # saved under this very name
