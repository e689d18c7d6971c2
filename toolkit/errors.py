"""One error root for everything toolkit reports; each subclass carries its data."""

from __future__ import annotations


class ToolkitError(Exception):
    """Base of every error toolkit raises on purpose; its message is one actionable line."""


class ConfigError(ToolkitError):
    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(message)


class UnsupportedURLError(ToolkitError):
    def __init__(self, url: str, supported: list[str]) -> None:
        self.url = url
        self.supported = supported
        super().__init__(
            f"unsupported database URL {url!r}: supported schemes are {', '.join(supported)} "
            "(set TOOLKIT_DATABASE_URL or --url)"
        )


class ServerUnreachableError(ToolkitError):
    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(
            f"cannot connect to the database server at {where}: {reason} "
            "(is it running? check TOOLKIT_DATABASE_URL, or start one with `toolkit server.up`)"
        )


class MigrationError(ToolkitError):
    def __init__(self, revision: str | None, reason: str, loading: bool = False) -> None:
        self.revision = revision
        self.reason = reason
        if loading:
            super().__init__(f"cannot load the migrations: {reason} (fix it and run "
                             "`toolkit db.template` again)")
            return
        where = f"revision {revision}" if revision else "the migration environment (env.py)"
        super().__init__(
            f"migration failed at {where}: {reason} "
            "(no template was marked usable; fix the migration and run `toolkit db.template` again)"
        )


class NotOwnedError(ToolkitError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"refusing to drop database {name!r}: it carries no toolkit marker, so toolkit did not "
            "create it (drop it with your own tools if you really mean to)"
        )


class TemplateInUseError(ToolkitError):
    def __init__(self, template: str, sessions: list[tuple[int, str]], waited: float) -> None:
        self.template = template
        self.sessions = sessions
        who = ", ".join(f"pid {pid} ({app or 'no application_name'})" for pid, app in sessions)
        super().__init__(
            f"template {template!r} is in use by another session: {who or 'unknown'}; "
            f"waited {waited:.1f}s for it to disconnect (close that session; templates must "
            "have no connections while they are cloned)"
        )


class LockTimeoutError(ToolkitError):
    def __init__(self, what: str, waited: float) -> None:
        super().__init__(
            f"gave up after {waited:.0f}s waiting for another process to finish {what} "
            "(is a migration hanging? see `toolkit db.status`)"
        )
