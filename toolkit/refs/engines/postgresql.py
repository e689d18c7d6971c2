"""PostgreSQL. Isolation: without a template, a schema per test on one long-lived connection
(``CREATE SCHEMA`` costs ~1 ms where ``CREATE DATABASE`` costs ~15 ms); with a template, a
clone per test (``CREATE DATABASE … TEMPLATE``). ``DISCARD ALL`` between tests resets session
state.

Rendering, as ``psql -A -t`` prints: every value in PostgreSQL's own text output (booleans
``t``/``f``, numerics exact, timestamps in the session's DateStyle, bytea as ``\\x…``)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from toolkit import urls
from toolkit.engines.postgresql import connect_kwargs
from toolkit.refs.engines import BACKSLASH_ESCAPES, StatementFailed, tsv


def _condition(exc: psycopg.Error) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).upper()


class PostgreSQLBackend:
    engine = "postgresql"
    backslash_escapes = BACKSLASH_ESCAPES["postgresql"]

    def __init__(self, url: str, template_url: str | None) -> None:
        self.url = urls.parse(url)
        self.template = urls.parse(template_url).database if template_url else None
        self.admin = self._connect(None)
        self.conn = self.admin

    def _connect(self, database: str | None) -> psycopg.Connection:
        conn = psycopg.connect(**connect_kwargs(self.url, database))  # type: ignore[arg-type]
        # every value as the server's text, the way psql shows it
        for info in psycopg.postgres.types:
            conn.adapters.register_loader(info.oid, TextLoader)
            if info.array_oid:
                conn.adapters.register_loader(info.array_oid, TextLoader)
        return conn

    def normalize(self, code: str) -> str:
        if re.fullmatch(r"[0-9A-Z]{5}", code):
            return code
        try:
            return str(psycopg.errors.lookup(code).sqlstate)
        except KeyError:
            return code.upper()

    def create(self, name: str) -> None:
        if self.template:
            self.admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(self.template)))
            self.conn = self._connect(name)
        else:
            self.admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            self.admin.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(name)))

    def execute(self, statement: str) -> str:
        try:
            cur = self.conn.execute(statement.encode())  # bytes: no client-side placeholders
            rows = cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            state = exc.sqlstate or "XX000"
            message = exc.diag.message_primary or str(exc)
            raise StatementFailed({state, _condition(exc)}, f"{state}: {message}") from exc
        return tsv(rows)

    def drop(self, name: str) -> None:
        if self.template:
            if self.conn is not self.admin:
                self.conn.close()
                self.conn = self.admin
            self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            return
        if self.admin.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.admin.rollback()
        self.admin.execute("DISCARD ALL")
        self.admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))

    def client_env(self, name: str, tmp: Path) -> dict[str, str]:
        url = self.url.set(database=name) if self.template else self.url
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        env = {"TOOLKIT_DATABASE_URL": plain,
               "TOOLKIT_CLIENT": f"psql -X -q -A -t -F $'\\t' {shlex.quote(plain)}"}
        if not self.template:
            env["PGOPTIONS"] = f"-c search_path={name}"
        return env

    def close(self) -> None:
        if self.conn is not self.admin:
            self.conn.close()
        self.admin.close()
