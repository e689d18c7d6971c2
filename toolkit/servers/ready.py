"""What local and container servers share: their error, and waiting until one answers."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pymysql

from toolkit.errors import ToolkitError


class ServerError(ToolkitError):
    pass


def wait_ready(what: str, probe: Callable[[], None], exited: Callable[[float], str | None],
               timeout: float, tail: Callable[[], str] | None = None) -> None:
    """Until ``probe`` (a real connection and query) succeeds. ``exited(s)`` waits up to s
    seconds for the server to die and says how it did, or returns None while it runs: waiting
    on that is the pause between probes, so a crash is reported at once. ``tail`` gives the
    server's last log lines, for a server that never answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except Exception as exc:  # any failure to connect or query means "not yet"
            if time.monotonic() > deadline:
                log = f" — last log lines: {tail()}" if tail else ""
                raise ServerError(f"{what} not ready after {timeout:.0f}s: {exc}{log}") from exc
        reason = exited(0.1)
        if reason is not None:
            raise ServerError(f"{what} exited while starting: {reason}")


def probe_postgres(**connect: object) -> None:
    """A real connection and query; raises while the server is not ready."""
    with psycopg.connect(user="postgres", dbname="postgres", connect_timeout=2,
                         **connect) as conn:  # type: ignore[arg-type]
        conn.execute("SELECT 1")


def probe_mariadb(**connect: object) -> None:
    conn = pymysql.connect(user="root", connect_timeout=2, **connect)  # type: ignore[arg-type]
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()
