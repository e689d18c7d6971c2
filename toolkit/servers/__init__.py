"""Servers for tests, from local binaries (``local``) or Docker images (``docker``), behind one
interface: ``server.up`` / ``server.down`` / ``server.status``."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.settings import Settings

PROVIDERS = ("local", "docker")
DEFAULT_IMAGES = {"postgres": "postgres:16", "mariadb": "mariadb:11",
                  # no registry needed: built from images/clickhouse with image.build
                  "clickhouse": "toolkit/clickhouse:latest"}


def state_dir(settings: Settings) -> Path:
    return settings.project_dir / ".toolkit" / "servers"


# what URLs accept (mysql://, postgresql://) names the same servers
ALIASES = {"mysql": "mariadb", "postgresql": "postgres"}


def up(settings: Settings, kind: str, provider: str = "local", image: str | None = None,
       binary: str | None = None) -> str:
    """Start (or find running) a server that outlives this process; its URL. ``binary`` (or
    the server_binary setting) is the ClickHouse server under test: run on the host, or
    mounted into the container in place of the image's."""
    kind = ALIASES.get(kind, kind)
    state = state_dir(settings) / f"{kind}.json"
    if not binary and settings.server_binary and kind == "clickhouse":
        from toolkit.servers.clickhouse import find_binary

        binary = find_binary(settings.server_binary, "TOOLKIT_SERVER_BINARY")
    if binary and kind != "clickhouse":
        raise ToolkitError(f"--binary (TOOLKIT_SERVER_BINARY) is the ClickHouse server under "
                           f"test; {kind} servers come from the machine's packages or an image")
    if provider == "local":
        from toolkit.servers import local

        return local.up(state_dir(settings), kind, binary,
                        settings.server_ready_timeout_s).url
    if provider != "docker":
        raise ToolkitError(f"unknown server provider {provider!r}: choose local or docker")
    from toolkit.docker import client
    from toolkit.servers import docker as containers

    image = image or settings.image or DEFAULT_IMAGES.get(kind, "")
    server = containers.start(client(), kind, image, reuse=True, binary=binary,
                              ready_timeout=settings.server_ready_timeout_s)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"provider": "docker", "kind": kind, "url": server.url,
                                 "container": server.container}))
    return server.url


def down(settings: Settings, kind: str | None = None) -> list[str]:
    """Stop what server.up started (one kind, or all); what was stopped."""
    kind = ALIASES.get(kind, kind) if kind else kind
    from toolkit.servers import local

    stopped = []
    for kind_ in [kind] if kind else [*local.KINDS]:
        state = state_dir(settings) / f"{kind_}.json"
        if not state.is_file():
            continue
        data = json.loads(state.read_text())
        line = f"{kind_} ({data.get('provider', 'local')})"
        if data.get("provider") == "docker":
            from toolkit.docker import client
            from toolkit.servers import docker as containers

            engine = client()
            log = containers.save_log(engine, data["container"],
                                      state.with_name(f"{kind_}-{data['container'][:12]}.log"))
            containers.stop(engine, containers.DockerServer(kind_, data["url"],
                                                            data["container"], True))
            state.unlink()
            line += f", its log kept in {log}" if log else ""
        else:
            local.down(state_dir(settings), kind_)
        stopped.append(line)
    return stopped


def status(settings: Settings) -> list[dict[str, object]]:
    """Servers started by server.up, and every container toolkit labelled (when Docker runs)."""
    rows: list[dict[str, object]] = []
    for state in sorted(state_dir(settings).glob("*.json")):
        data = json.loads(state.read_text())
        rows.append({"kind": data["kind"], "provider": data.get("provider", "local"),
                     "url": data["url"], "started_by": "server.up"})
    try:
        from toolkit.docker import DockerUnreachableError, client
        from toolkit.servers import docker as containers

        rows += [{**row, "provider": "docker"} for row in containers.containers(client())]
    except DockerUnreachableError:
        pass
    return rows
