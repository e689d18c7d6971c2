"""Database URLs: parsing, the engine they name, and masking passwords for output."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from toolkit.errors import ConfigError, UnsupportedURLError

# backend -> (engine kind, default driver used when the URL names none)
BACKENDS = {
    "sqlite": ("sqlite", "pysqlite"),
    "postgresql": ("postgresql", "psycopg"),
    "postgres": ("postgresql", "psycopg"),
    "mysql": ("mysql", "pymysql"),
    "mariadb": ("mysql", "pymysql"),
}
SUPPORTED = ["sqlite:///PATH", "postgresql://…", "mysql://… / mariadb://…"]


def parse(url: str | URL) -> URL:
    """Parse and normalise a URL: a bare backend gets the driver toolkit installs."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedURLError(mask(str(url)), SUPPORTED) from exc
    except ValueError as exc:  # SQLAlchemy reads the port with int()
        raise ConfigError("database_url", f"the port in {mask(str(url))!r} is not a number "
                          "(set TOOLKIT_DATABASE_URL or --url)") from exc
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise UnsupportedURLError(mask(parsed), SUPPORTED)
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql")
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=f"{parsed.drivername}+{BACKENDS[backend][1]}")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:") or \
            str(parsed.query.get("mode", "")) == "memory":
        raise ConfigError("database_url", f"{mask(parsed)!r} names no file: toolkit keeps "
                          "templates and clones as files beside the one the URL names (use e.g. "
                          "sqlite:///.toolkit/toolkit.sqlite)")
    return parsed


def kind(url: URL) -> str:
    return BACKENDS[url.get_backend_name()][0]


def mask(url: str | URL) -> str:
    """The URL as text with any password replaced by ***, safe to print."""
    if isinstance(url, str):
        text = url
        try:
            url = make_url(text)
        except (ArgumentError, ValueError):
            # what was typed, less anything between "user:" and "@"
            return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
    return url.render_as_string(hide_password=True)


def where(url: URL) -> str:
    """host:port or socket of a server URL, for error messages (never the password)."""
    socket = url.query.get("unix_socket") or url.query.get("host")
    if socket:
        return f"socket {socket}"
    return f"{url.host or 'localhost'}:{url.port or ''}".rstrip(":")


def connect_args(url: URL) -> dict[str, object]:
    """Driver arguments for SQLAlchemy engines toolkit creates."""
    local = url.query.get("unix_socket") or url.host in (None, "localhost", "127.0.0.1", "::1")
    if kind(url) == "mysql" and local:
        # PyMySQL's TLS setup costs tens of ms per connect and buys nothing on loopback
        return {"ssl_disabled": True}
    return {}
