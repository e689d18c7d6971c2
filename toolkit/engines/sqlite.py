"""SQLite: each database is a file beside the one the URL names; markers are JSON sidecars."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
from sqlalchemy.engine import URL

from toolkit.errors import LockTimeoutError
from toolkit.marker import Marker
from toolkit.settings import Settings

SUFFIX = ".sqlite"
SIDECAR = ".toolkit.json"


class SQLiteEngine:
    kind = "sqlite"

    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.directory = settings.path(Path(url.database or ".toolkit/toolkit.sqlite")).parent

    def _file(self, name: str) -> Path:
        return self.directory / f"{name}{SUFFIX}"

    def server_version(self) -> str:
        return f"sqlite {sqlite3.sqlite_version_info[0]}"

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.directory / f".{key}.lock")
        try:
            lock.acquire(blocking=False)
            waited = False
        except filelock.Timeout:
            try:
                lock.acquire(timeout=timeout)
            except filelock.Timeout as exc:
                raise LockTimeoutError(f"building {key}", timeout) from exc
            waited = True
        try:
            yield not waited
        finally:
            lock.release()

    def markers(self, prefix: str) -> dict[str, Marker | None]:
        if not self.directory.is_dir():
            return {}
        return {p.name[: -len(SUFFIX)]: self.marker(p.name[: -len(SUFFIX)])
                for p in sorted(self.directory.glob(f"{prefix}*{SUFFIX}"))}

    def marker(self, name: str) -> Marker | None:
        try:
            return Marker.loads(self._sidecar(name).read_text())
        except OSError:
            return None

    def _write_marker(self, name: str, marker: Marker) -> None:
        self._sidecar(name).write_text(marker.dumps())

    def create(self, name: str, marker: Marker) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_marker(name, marker)
        sqlite3.connect(self._file(name)).close()

    def finish_template(self, building: str, name: str, marker: Marker) -> None:
        # the template file only ever appears complete: the sidecar first, then an atomic rename
        self._write_marker(name, marker)
        os.replace(self._file(building), self._file(name))
        self._sidecar(building).unlink(missing_ok=True)

    def _sidecar(self, name: str) -> Path:
        return self._file(name).with_name(self._file(name).name + SIDECAR)

    def create_clone(self, template: str, name: str, marker: Marker) -> None:
        self._write_marker(name, marker)
        shutil.copyfile(self._file(template), self._file(name))

    def drop(self, name: str) -> None:
        base = self._file(name)
        for suffix in ("", "-wal", "-shm", "-journal"):
            base.with_name(base.name + suffix).unlink(missing_ok=True)
        self._sidecar(name).unlink(missing_ok=True)

    def database_url(self, name: str) -> URL:
        return self.url.set(database=str(self._file(name)))

    def close(self) -> None:
        pass
