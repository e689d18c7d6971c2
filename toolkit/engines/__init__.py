"""One module per engine behind the small ``Engine`` protocol: engine work only.
Bookkeeping, naming, safety checks and logging live in ``toolkit.core``."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy.engine import URL

from toolkit import urls
from toolkit.marker import Marker
from toolkit.settings import Settings


class Engine(Protocol):
    kind: str
    url: URL

    def server_version(self) -> str:
        """Engine name and major version, e.g. ``postgresql 15``."""

    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        """Hold a cross-process lock; yields False when it had to wait for another holder."""

    def markers(self, prefix: str) -> dict[str, Marker | None]:
        """Every database whose name starts with ``prefix``, with its marker if it has one."""

    def marker(self, name: str) -> Marker | None: ...

    def intents(self, prefix: str) -> dict[str, Marker]:
        """Records of creations under ``prefix`` whose database does not exist (the process
        was killed before it made it, or it was dropped by hand): ``forget`` removes them."""

    def leftover(self, name: str) -> Marker | None:
        """The record under which toolkit was creating ``name``, when the database exists but
        was left unmarked by a killed process (engines that create and mark in one step: never)."""

    def forget(self, name: str) -> None:
        """Remove the record of a creation whose database does not exist."""

    def lease(self, template: str, marker: Marker) -> None:
        """Record that ``marker``'s owner uses ``template`` (gc keeps it while the owner lives)."""

    def leases(self, prefix: str) -> list[tuple[str, Marker]]: ...

    def unlease(self, template: str, marker: Marker) -> None: ...

    def create(self, name: str, marker: Marker) -> None:
        """Create an empty database carrying ``marker``."""

    def finish_template(self, building: str, name: str, marker: Marker) -> None:
        """Atomically turn the migrated ``building`` database into the usable template ``name``."""

    def create_clone(self, template: str, name: str, marker: Marker) -> None: ...

    def drop(self, name: str) -> None:
        """End the database's connections, then drop it and its marker (or intent); no error if
        it is gone."""

    def database_url(self, name: str) -> URL: ...

    def close(self) -> None: ...


_engines: dict[tuple[int, str, Settings], Engine] = {}


def get_engine(settings: Settings, url: str | URL | None = None) -> Engine:
    """The engine for a server URL, one per process and settings (connections are not fork-safe)."""
    parsed = urls.parse(url or settings.database_url)
    key = (os.getpid(), parsed.render_as_string(hide_password=False), settings)
    if key not in _engines:
        _engines[key] = make_engine(settings, parsed)
    return _engines[key]


def make_engine(settings: Settings, url: str | URL | None = None) -> Engine:
    """A new engine of its own (not the process's cached one): for another thread, which must
    not share the cached engine's connections; the caller closes it."""
    parsed = urls.parse(url or settings.database_url)
    match urls.kind(parsed):
        case "sqlite":
            from toolkit.engines.sqlite import SQLiteEngine
            return SQLiteEngine(parsed, settings)
        case "postgresql":
            from toolkit.engines.postgresql import PostgreSQLEngine
            return PostgreSQLEngine(parsed, settings)
        case _:
            from toolkit.engines.mysql import MySQLEngine
            return MySQLEngine(parsed, settings)


def close_all() -> None:
    """Close every cached engine's connections (tests, and processes about to fork)."""
    for engine in _engines.values():
        engine.close()
    _engines.clear()
