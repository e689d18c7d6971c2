"""The primitives: ensure a template, clone it, drop, garbage-collect, list.
Bookkeeping and logging live here; the engines in ``toolkit.engines`` do only engine work."""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine as SAEngine
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from toolkit import urls
from toolkit.engines import Engine, get_engine
from toolkit.errors import NotOwnedError, ToolkitError
from toolkit.marker import Marker
from toolkit.migrate import fingerprint, upgrade
from toolkit.settings import Settings

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
    _engine: SAEngine | None = dataclasses.field(default=None, repr=False)

    @property
    def engine(self) -> SAEngine:
        """A SQLAlchemy engine on the clone, disposed before the clone is dropped."""
        if self._engine is None:
            self._engine = create_engine(self.url, poolclass=NullPool,
                                         connect_args=urls.connect_args(self.url))
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def ensure_template(settings: Settings) -> Template:
    """The template at head for the current migrations, built only when none is usable yet."""
    engine = get_engine(settings)
    digest, lineage = fingerprint(settings, engine.server_version())
    name = f"{settings.prefix}tpl_{digest[:12]}"
    template = Template(name, engine.database_url(name), digest, lineage)
    if _usable(engine, name):
        log.debug("template %s is up to date", name)
        return template
    with engine.lock(name, settings.lock_wait_s) as first:
        if not first:
            log.info("waited for another process building template %s", name)
        if _usable(engine, name):
            log.info("template %s was built by another process", name)
            return template
        building = name if engine.kind == "mysql" else f"{settings.prefix}bld_{digest[:12]}"
        for leftover in dict.fromkeys((name, building)):
            _drop_leftover(engine, leftover)
        log.info("building template %s (%s)", name, urls.mask(template.url))
        marker = Marker.new("building", digest, lineage)
        engine.create(building, marker)
        try:
            upgrade(settings, engine.database_url(building), urls.connect_args(engine.url))
        except BaseException:
            engine.drop(building)
            raise
        engine.finish_template(building, name, marker.with_kind("template"))
        log.info("template %s is ready", name)
    return template


def find_template(settings: Settings, name: str) -> Template:
    """An existing, complete template by name (the one a pipeline built and passed on)."""
    engine = get_engine(settings)
    marker = engine.marker(name)
    if marker is None or marker.kind != "template":
        raise ToolkitError(f"no usable template {name!r} at {urls.mask(engine.url)} (checked "
                           "TOOLKIT_TEMPLATE; build it with `toolkit db.template` or unset it)")
    return Template(name, engine.database_url(name), marker.fingerprint, marker.lineage)


def _usable(engine: Engine, name: str) -> bool:
    marker = engine.marker(name)
    return marker is not None and marker.kind == "template"


def _drop_leftover(engine: Engine, name: str) -> None:
    """Remove what a crashed build left under our names, refusing anything not ours."""
    if name not in engine.markers(name):
        return
    marker = engine.marker(name)
    if marker is None:
        raise NotOwnedError(name)
    log.info("removing %s left by an interrupted build (pid %s)", name, marker.pid)
    engine.drop(name)


def create_clone(settings: Settings, template: Template, owner_pid: int | None = None) -> Clone:
    """A new database with the template's schema and data; the caller owns dropping it.
    ``gc`` leaves it alone while ``owner_pid`` (default: this process) is alive."""
    engine = get_engine(settings)
    name = f"{settings.prefix}cl_{secrets.token_hex(5)}"
    engine.create_clone(template.name, name,
                        Marker.new("clone", template.fingerprint, template.lineage, owner_pid))
    return Clone(name, engine.database_url(name), template)


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
    engine = get_engine(settings)
    if name not in engine.markers(name):
        return False
    if engine.marker(name) is None:
        raise NotOwnedError(name)
    engine.drop(name)
    return True


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    marker: Marker | None

    def as_dict(self) -> dict[str, object]:
        m = self.marker
        if m is None:
            return {"name": self.name, "kind": "not toolkit's"}
        return {"name": self.name, "kind": m.kind, "fingerprint": m.fingerprint[:12],
                "lineage": m.lineage, "owner": f"{m.host}:{m.pid}",
                "owner_alive": m.owner_alive(), "created": m.created, "age_s": round(m.age_s)}


def status(settings: Settings) -> list[Entry]:
    """Every database under toolkit's prefix, marked or not."""
    return [Entry(name, marker)
            for name, marker in get_engine(settings).markers(settings.prefix).items()]


def gc(settings: Settings, dry_run: bool = False) -> list[tuple[str, str]]:
    """Drop clones and unfinished builds whose owner is gone, and templates beyond the newest
    ``keep_templates`` of each lineage. Returns (name, reason) for what was (or would be) dropped."""
    entries = [e for e in status(settings) if e.marker is not None]
    doomed: list[tuple[str, str]] = []
    lineages: dict[str, list[Entry]] = {}
    for entry in entries:
        m = entry.marker
        assert m is not None
        if m.kind == "template":
            lineages.setdefault(m.lineage, []).append(entry)
        elif not m.owner_alive():
            doomed.append((entry.name, f"{m.kind} whose owner {m.host}:{m.pid} is gone"))
    for templates in lineages.values():
        templates.sort(key=lambda e: e.marker.created if e.marker else "", reverse=True)
        for entry in templates[settings.keep_templates:]:
            assert entry.marker is not None
            if not entry.marker.owner_alive():
                doomed.append((entry.name, f"template older than the newest "
                                           f"{settings.keep_templates} of its lineage"))
    if not dry_run:
        engine = get_engine(settings)
        for name, _ in doomed:
            engine.drop(name)
    return doomed


__all__ = ["Clone", "Entry", "Template", "ToolkitError", "clone", "create_clone", "drop",
           "ensure_template", "gc", "status"]
