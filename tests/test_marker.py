import subprocess
import sys

from toolkit.marker import Marker


def test_round_trip() -> None:
    m = Marker.new("clone", "f" * 64, "lineage")
    assert Marker.loads(m.dumps()) == m


def test_foreign_comments_are_not_markers() -> None:
    assert Marker.loads(None) is None
    assert Marker.loads("production database, do not touch") is None
    assert Marker.loads('{"kind": "clone"}') is None


def test_owner_alive_for_live_and_dead_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    marker = Marker.new("clone", "f", "l", pid=proc.pid)
    assert marker.owner_alive()
    proc.communicate(b"\n")
    assert not marker.owner_alive()


def test_reused_pid_is_not_the_owner() -> None:
    m = Marker.new("clone", "f", "l")
    impostor = Marker(m.kind, m.fingerprint, m.lineage, m.host, m.pid, m.started + 1, m.created)
    assert not impostor.owner_alive()
