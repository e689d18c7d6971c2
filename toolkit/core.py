"""The primitives: ensure a template, clone it, drop, garbage-collect, list.
Bookkeeping and logging live here; the engines in ``toolkit.engines`` do only engine work."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine as SAEngine
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool, QueuePool

from toolkit import crash, urls
from toolkit import fingerprint as fp
from toolkit.engines import Engine, get_engine
from toolkit.errors import NotOwnedError, ToolkitError
from toolkit.fingerprint import Inputs
from toolkit.lazy import lazy
from toolkit.marker import Marker
from toolkit.settings import Settings

# Alembic is needed to build or resolve a template, not to list or drop databases
migrate = lazy("toolkit.migrate")

log = logging.getLogger("toolkit")


@dataclasses.dataclass(frozen=True)
class Template:
    name: str
    url: URL
    fingerprint: str
    lineage: str


@dataclasses.dataclass
class Clone:
    name: str
    url: URL
    template: Template
    keep: bool = False
    foreign_keys: bool = True  # SQLite: enforce them, as the other engines always do
    _engine: SAEngine | None = dataclasses.field(default=None, repr=False)
    # what else holds the clone open (a pool's own sessions on it): closed with the engine
    closers: list[Callable[[], None]] = dataclasses.field(default_factory=list, repr=False)

    @property
    def engine(self) -> SAEngine:
        """A SQLAlchemy engine on the clone, disposed before the clone is dropped."""
        if self._engine is None:
            self._engine = self._create_engine(poolclass=NullPool)
        return self._engine

    def warm(self) -> None:
        """Build the engine now, keeping its connections, one of them opened here (the
        dialect initialised): what the first use of ``engine`` costs is paid by the caller.
        Nothing to do when it is already warm (a clone a pool reset for the next test)."""
        if self._engine is not None and isinstance(self._engine.pool, QueuePool):
            if self._engine.pool.checkedin() == 0:  # its connections were closed since
                self._engine.connect().close()
            return
        if self._engine is not None:  # one without a pool of its own (closers stay: not ours)
            self._engine.dispose()
        self._engine = self._create_engine(poolclass=QueuePool, pool_size=1, max_overflow=-1)
        self._engine.connect().close()  # back into the engine's pool, open

    def _create_engine(self, **pool: Any) -> SAEngine:
        engine = create_engine(self.url, connect_args=urls.connect_args(self.url), **pool)
        if self.foreign_keys and urls.kind(self.url) == "sqlite":
            enforce_foreign_keys(engine)
        return engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        closers, self.closers = self.closers, []
        for close in closers:
            close()


@dataclasses.dataclass(frozen=True)
class Resolution:
    """What the current inputs map to: a usable template, or the one to build."""

    template: Template
    inputs: Inputs
    usable: bool
    previous: tuple[str, Marker] | None  # the newest template of the lineage, if any

    def since(self, most: int = 8) -> str:
        """What changed since the previous template of the lineage, in a phrase."""
        if self.previous is None:
            return "no earlier template of this history"
        if not self.previous[1].inputs:
            return "it was built before toolkit recorded a template's inputs"
        changed = fp.changes(dict(self.previous[1].inputs), self.inputs.as_dict())
        more = f" and {len(changed) - most} more" if len(changed) > most else ""
        return ", ".join(changed[:most]) + more if changed else "nothing (it was dropped)"


def resolve(settings: Settings) -> Resolution:
    """The template the current migrations and their inputs call for, and whether it exists."""
    engine = get_engine(settings)
    hashes: dict[str, str] = {}
    return _resolve(settings, engine, migrate.inputs(settings, engine.server_version(), hashes),
                    hashes)


def _resolve(settings: Settings, engine: Engine, static: Inputs, hashes: dict[str, str]
             ) -> Resolution:
    templates = sorted(
        ((name, m) for name, m in engine.markers(f"{settings.prefix}tpl_").items()
         if m is not None and m.kind == "template" and m.lineage == static.lineage),
        key=lambda item: item[1].created, reverse=True)
    # the files earlier builds saw the migrations read: recorded in .toolkit/ and in markers
    known = set(fp.recorded(settings, static.lineage))
    for _, m in templates:
        known.update(k for k, _ in m.inputs if not k.startswith(fp.OPTION))
    full = fp.with_discovered(settings, static, sorted(known - static.static), hashes)
    previous = templates[0] if templates else None
    for name, m in templates:
        if m.inputs and fp.matches(full, dict(m.inputs), settings, hashes):
            return Resolution(Template(name, engine.database_url(name), m.fingerprint,
                                       m.lineage), full, True, previous)
    name = f"{settings.prefix}tpl_{full.digest[:12]}"
    return Resolution(Template(name, engine.database_url(name), full.digest, full.lineage),
                      full, False, previous)


def enforce_foreign_keys(engine: SAEngine) -> SAEngine:
    """SQLite checks foreign keys only on connections that ask (PRAGMA foreign_keys=ON): ask
    on every connection of ``engine``. Use it on engines of your own on a clone's URL."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return engine


def ensure_template(settings: Settings) -> Template:
    """The template at head for the current migrations and everything they read, built only
    when none is usable yet."""
    engine = get_engine(settings)
    hashes: dict[str, str] = {}
    static = migrate.inputs(settings, engine.server_version(), hashes)
    found = _resolve(settings, engine, static, hashes)
    if found.usable:
        log.debug("template %s is up to date", found.template.name)
        return _leased(engine, found.template)
    with engine.lock(found.template.name, settings.lock_wait_s) as first:
        if not first:
            log.info("waited for another process building template %s", found.template.name)
        found = _resolve(settings, engine, static, hashes)
        if found.usable:
            log.info("template %s was built by another process", found.template.name)
            return _leased(engine, found.template)
        template, digest = found.template, found.template.fingerprint
        name = template.name
        building = name if engine.kind == "mysql" else f"{settings.prefix}bld_{digest[:12]}"
        for leftover in dict.fromkeys((name, building)):
            _drop_leftover(engine, leftover)
        log.info("building template %s (%s)", name, urls.mask(template.url))
        building_since = time.monotonic()
        if found.previous is not None:
            log.info("since template %s: %s", found.previous[0], found.since())
        marker = Marker.new("building", digest, template.lineage)
        engine.create(building, marker)
        try:
            with fp.discover(settings, migrate.sources(settings)) as seen:
                applied = migrate.upgrade(settings, engine.database_url(building),
                                          urls.connect_args(engine.url))
        except BaseException:
            engine.drop(building)
            raise
        crash.point("core.template.migrated")
        # what this build read, not what earlier builds did: a file the migrations no longer
        # read stops being an input
        built = fp.with_discovered(settings, static, seen.names, hashes)
        engine.finish_template(building, name,
                               marker.with_kind("template").with_inputs(built.as_dict()))
        crash.point("core.template.finished")
        fp.record(settings, template.lineage, built.discovered)
        log.info("template %s is ready: %d revision(s) in %.1fs", name, applied,
                 time.monotonic() - building_since)
    return _leased(engine, template)


_leases: dict[tuple[int, str, str], tuple[Engine, Marker]] = {}


def _leased(engine: Engine, template: Template) -> Template:
    """Record that this process uses ``template``, so that gc (here or in another run) keeps
    it while this process lives; once per process and template. A normal exit takes the
    lease back; a killed process's goes with the next gc."""
    pid = os.getpid()
    key = (pid, str(engine.url), template.name)
    if key not in _leases:
        marker = Marker.new("lease", template.fingerprint, template.lineage)
        engine.lease(template.name, marker)
        if not any(owner == pid for owner, _, _ in _leases):
            atexit.register(_unlease, pid)
        _leases[key] = (engine, marker)
    return template


def _unlease(pid: int) -> None:
    """At exit: this process's leases (not a forked parent's, whose handler it inherits)."""
    if pid != os.getpid():
        return
    for (owner, _, name), (engine, marker) in list(_leases.items()):
        if owner == pid:
            try:
                engine.unlease(name, marker)
            except Exception as exc:  # the server gone first, say: gc takes it later
                log.debug("lease on %s left for gc: %s", name, exc)


def find_template(settings: Settings, name: str) -> Template:
    """An existing, complete template by name (the one a pipeline built and passed on)."""
    engine = get_engine(settings)
    marker = engine.marker(name)
    if marker is None or marker.kind != "template":
        raise ToolkitError(f"no usable template {name!r} at {urls.mask(engine.url)} (checked "
                           "TOOLKIT_TEMPLATE; build it with `toolkit db.template` or unset it)")
    return _leased(engine, Template(name, engine.database_url(name), marker.fingerprint,
                                    marker.lineage))


def _ours(engine: Engine, name: str) -> Marker | None:
    """The marker (or interrupted creation's record) proving ``name`` is toolkit's, or None
    when no such database exists (a record of a creation that never happened is forgotten).
    Raises NotOwnedError when it exists and is not provably toolkit's."""
    markers = engine.markers(name)
    if name not in markers:
        engine.forget(name)
        return None
    owned = markers[name] or engine.leftover(name)
    if owned is None:
        raise NotOwnedError(name)
    return owned


def _drop_leftover(engine: Engine, name: str) -> None:
    """Remove what a crashed build left under our names, refusing anything not ours."""
    owned = _ours(engine, name)
    if owned is None:
        return
    log.info("removing %s left by an interrupted build (pid %s)", name, owned.pid)
    engine.drop(name)
    crash.point("core.leftover.dropped")


def create_clone(settings: Settings, template: Template, owner_pid: int | None = None,
                 lease_s: float | None = None, engine: Engine | None = None) -> Clone:
    """A new database with the template's schema and data; the caller owns dropping it.
    ``gc`` leaves it alone while ``owner_pid`` (default: this process) is alive, and for
    ``lease_s`` seconds whatever happens to the owner. ``engine``: another thread's own."""
    engine = engine or get_engine(settings)
    name = f"{settings.prefix}cl_{secrets.token_hex(5)}"
    try:
        engine.create_clone(template.name, name,
                            Marker.new("clone", template.fingerprint, template.lineage,
                                       owner_pid).with_lease(lease_s))
    except BaseException:
        engine.drop(name)  # no half-made clone (or its marker) outlives the failure
        raise
    return Clone(name, engine.database_url(name), template,
                 foreign_keys=settings.sqlite_foreign_keys)


@contextmanager
def clone(settings: Settings, template: Template | None = None, keep: bool = False
          ) -> Iterator[Clone]:
    """A clone of the template for the duration of the block; dropped on exit unless
    ``keep`` (or ``db.keep`` set inside the block)."""
    template = template or ensure_template(settings)
    db = create_clone(settings, template)
    db.keep = keep
    try:
        yield db
    finally:
        db.dispose()
        if db.keep:
            log.info("kept clone %s: %s", db.name, urls.mask(db.url))
        else:
            get_engine(settings).drop(db.name)


def drop(settings: Settings, name: str) -> bool:
    """Drop a database toolkit created; False if it was already gone. Refuses others."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ToolkitError(f"{name!r} is not a database name toolkit makes (lowercase letters, "
                           "digits, underscores; no patterns): see `toolkit db.status`")
    engine = get_engine(settings)
    if _ours(engine, name) is None:
        return False
    engine.drop(name)
    return True


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    marker: Marker | None
    interrupted: Marker | None = None  # the record of a creation a killed process left unmarked

    def as_dict(self) -> dict[str, object]:
        m = self.marker or self.interrupted
        if m is None:
            return {"name": self.name, "kind": "not toolkit's"}
        kind = m.kind if self.marker else f"interrupted {m.kind}"
        return {"name": self.name, "kind": kind, "fingerprint": m.fingerprint[:12],
                "lineage": m.lineage, "owner": f"{m.host}:{m.pid}",
                "owner_alive": m.owner_alive(), "created": m.created, "age_s": round(m.age_s),
                **({"kept_until": m.expires} if m.expires else {})}


def status(settings: Settings) -> list[Entry]:
    """Every database under toolkit's prefix, marked or not."""
    engine = get_engine(settings)
    return [Entry(name, marker, None if marker else engine.leftover(name))
            for name, marker in engine.markers(settings.prefix).items()]


def drop_orphans_of(settings: Settings, pid: int, url: str | URL | None = None) -> list[str]:
    """Drop the clones a dead process of this host owned (a worker killed at a timeout), at
    once rather than at the next gc; the names dropped. A live owner's are left alone."""
    import socket

    engine = get_engine(settings, url)
    doomed = [name for name, m in engine.markers(settings.prefix).items()
              if m is not None and m.kind == "clone" and m.pid == pid
              and m.host == socket.gethostname() and not m.held()]
    for name in doomed:
        engine.drop(name)
    return doomed


def gc(settings: Settings, dry_run: bool = False) -> list[tuple[str, str]]:
    """Drop clones and unfinished builds whose owner is gone, and templates beyond the newest
    ``keep_templates`` of each lineage. Returns (name, reason) for what was (or would be) dropped."""
    engine = get_engine(settings)
    everything = status(settings)
    entries = [e for e in everything if e.marker is not None]
    doomed: list[tuple[str, str]] = []
    for entry in everything:
        m = entry.interrupted
        if m is not None and not m.owner_alive():
            doomed.append((entry.name, f"{m.kind} left unmarked by {m.host}:{m.pid}, "
                                       "which is gone"))
    stale = [(name, m) for name, m in engine.intents(settings.prefix).items()
             if not m.owner_alive()]
    existing = {e.name for e in everything}
    in_use: set[str] = set()
    dead_leases = []
    for template, lease in engine.leases(settings.prefix):
        if lease.owner_alive() and template in existing:
            in_use.add(template)
        else:
            dead_leases.append((template, lease))
    lineages: dict[str, list[Entry]] = {}
    for entry in entries:
        m = entry.marker
        assert m is not None
        if m.kind == "template":
            lineages.setdefault(m.lineage, []).append(entry)
        elif not m.held():
            doomed.append((entry.name, f"{m.kind} whose owner {m.host}:{m.pid} is gone"))
    for templates in lineages.values():
        templates.sort(key=lambda e: e.marker.created if e.marker else "", reverse=True)
        for entry in templates[settings.keep_templates:]:
            assert entry.marker is not None
            # a live run that still clones from it (its lease), or its live builder, keeps it
            if not entry.marker.owner_alive() and entry.name not in in_use:
                doomed.append((entry.name, f"template older than the newest "
                                           f"{settings.keep_templates} of its lineage"))
    if not dry_run:
        for name, _ in doomed:
            engine.drop(name)
            crash.point("core.gc.dropped")
        for name, _ in stale:
            engine.forget(name)
        for template, lease in dead_leases:
            engine.unlease(template, lease)
    return doomed + [(name, f"record of a {m.kind} that {m.host}:{m.pid} never made "
                            "(no database)") for name, m in stale]


__all__ = ["Clone", "Entry", "Template", "ToolkitError", "clone", "create_clone", "drop",
           "enforce_foreign_keys", "ensure_template", "gc", "status"]
