"""A reference test cannot break or outlive its slot: a timeout cancels its query on the
server, a `.sh` test's processes all end with it (a leftover child fails the test), a test that
kills its own session or escapes its database with search_path harms no later test, references
are compared byte for byte, the diff is shown without a terminal too, and a file that is not
UTF-8 is one line naming it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import refs_project, toolkit_cli

ROOT = Path(__file__).parent.parent


def _refs(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return toolkit_cli(root, "refs.run", *args)


def _eventually(check, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll a real condition, bounded: the server ends a cancelled query asynchronously."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _running(url: str, needle: str, column: str, table: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(sa.text(f"SELECT {column} FROM {table}"))
                if r[0] and needle in r[0]]
    engine.dispose()
    return rows


@pytest.mark.parametrize(("server", "query", "column", "table"), [
    ("postgres_url", "SELECT pg_sleep(31.5);", "query", "pg_stat_activity"),
    ("mysql_url", "SELECT SLEEP(31.5);", "info", "information_schema.processlist"),
])
def test_a_timeout_cancels_the_query_on_the_server(
        server: str, query: str, column: str, table: str, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    url = str(request.getfixturevalue(server))
    root = refs_project(tmp_path, {"00001_slow.sql": query + "\n", "00001_slow.reference": "\n"})
    result = _refs(root, "--url", url, "--timeout", "1")
    assert "timeout after 1s" in result.stdout
    needle = query.split("(")[1]
    assert _eventually(lambda: not _running(url, needle, column, table)), \
        "the timed-out query is still running on the server"


def _processes(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if needle in cmdline:
                found.append(int(entry.name))
    return found


def test_a_hanging_sh_test_leaves_nothing_running(tmp_path: Path) -> None:
    root = refs_project(tmp_path, {"00001_hang.sh": "#!/bin/sh\nsleep 33.25\n",
                               "00001_hang.reference": ""})
    result = _refs(root, "--timeout", "1")
    assert "timeout after 1s" in result.stdout
    assert _eventually(lambda: not _processes("33.25"), 5)


def test_a_background_child_fails_its_test_at_once(tmp_path: Path) -> None:
    root = refs_project(tmp_path, {"00001_bg.sh": "#!/bin/sh\nsleep 34.75 &\necho done\n",
                               "00001_bg.reference": "done\n"})
    started = time.monotonic()
    result = _refs(root, "--timeout", "20")
    assert time.monotonic() - started < 15, "waited on the child, not on the script"
    assert "left a background process running" in result.stdout, result.stdout
    assert "timeout" not in result.stdout
    assert _eventually(lambda: not _processes("34.75"), 5)


def test_references_are_compared_byte_for_byte(tmp_path: Path) -> None:
    root = refs_project(tmp_path, {"00001_crlf.sql": "SELECT 1;\n",
                               "00001_crlf.reference": b"1\r\n"})
    result = _refs(root)
    assert result.returncode == 1
    assert "line endings" in result.stdout and "CRLF" in result.stdout


def test_the_diff_is_shown_without_a_terminal(tmp_path: Path) -> None:
    root = refs_project(tmp_path, {"00001_d.sql": "SELECT 2;\n", "00001_d.reference": "3\n"})
    result = _refs(root)
    assert "-3\n+2\n" in result.stdout, result.stdout
    assert "\x1b[" not in result.stdout, "no colour codes outside a terminal"


def test_invalid_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    root = refs_project(tmp_path, {"00001_bytes.sql": b"SELECT 1;\nSELECT '\xff\xfe';\n",
                               "00001_bytes.reference": "1\n"})
    result = _refs(root)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL")]
    assert line == [f"FAIL 00001_bytes: {root}/tests/queries/00001_bytes.sql:2: not valid UTF-8 "
                    "(byte 0xff)"], result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_test_cannot_break_or_pollute_the_tests_after_it(postgres_url: str,
                                                           tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "00001_kill_self.sql": "SELECT pg_terminate_backend(pg_backend_pid());\n",
        "00001_kill_self.reference": "",
        "00002_leak.sql": "SET search_path = public;\nCREATE TABLE leak_0002 (x int);\n",
        "00002_leak.reference": "",
    }
    for i in range(3, 9):
        files[f"0000{i}_after.sql"] = "SELECT 1;\n"
        files[f"0000{i}_after.reference"] = "1\n"
    root = refs_project(tmp_path, files)
    result = _refs(root, "--url", postgres_url, "--jobs", "1")
    after = [ln for ln in result.stdout.splitlines() if "_after" in ln]
    assert after == [], result.stdout
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        leaked = conn.execute(sa.text("SELECT to_regclass('public.leak_0002')")).scalar()
    engine.dispose()
    assert leaked is None, "a test left a table in the server's own database"
