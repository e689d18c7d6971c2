"""A clickhouse-client stand-in over chDB for .sh reference tests (TOOLKIT_CLIENT):
statements from --query or stdin, results as TabSeparated on stdout, errors on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toolkit.refs.engines import StatementFailed
from toolkit.refs.engines.clickhouse import ClickHouseBackend
from toolkit.refs.script import ScriptError, parse_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="toolkit-chclient", description=__doc__)
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--database", required=True)
    parser.add_argument("--query", "-q", help="statements to run (default: stdin)")
    args, extra = parser.parse_known_args(argv)
    settings = []  # --NAME=VALUE, as clickhouse-client takes a setting
    for arg in extra:
        name, eq, value = arg.removeprefix("--").partition("=")
        if not (arg.startswith("--") and eq and name.isidentifier()):
            parser.error(f"unrecognized argument: {arg} (settings are --NAME=VALUE)")
        settings.append((name, value))
    text = args.query if args.query is not None else sys.stdin.read()
    backend = ClickHouseBackend(f"chdb://{args.path}", tuple(settings))
    try:
        backend.open()
        backend.execute(f"CREATE DATABASE IF NOT EXISTS `{args.database}`")
        backend.execute(f"USE `{args.database}`")
        for step in parse_text(text, Path("<query>")):
            sys.stdout.write(backend.execute(step.sql))
    except (StatementFailed, ScriptError) as exc:
        sys.stdout.flush()
        print(exc, file=sys.stderr)
        return 1
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
