"""The ``toolkit`` command: the same tasks as ``toolkit.tasks.namespace``, in any directory."""

import os
import sys

from invoke.program import Program

from toolkit import __version__
from toolkit.tasks import namespace

program = Program(namespace=namespace, version=__version__, name="toolkit", binary="toolkit")


def _report_argv(argv: list[str]) -> list[str]:
    """`toolkit report A B -o OUT`: invoke takes one value per flag, so each file given
    bare becomes `--input FILE`."""
    if len(argv) < 2 or argv[1] != "report":
        return argv
    out, rest, i = argv[:2], argv[2:], 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-o", "--output", "-i", "--input") and i + 1 < len(rest):
            out += [arg, rest[i + 1]]
            i += 2
            continue
        out += [arg] if arg.startswith("-") else ["--input", arg]
        i += 1
    return out


def main() -> None:
    try:
        program.run(_report_argv(sys.argv))
    except BrokenPipeError:
        # the reader went away (`toolkit db.status --json | head -1`): nothing more to say, and
        # Python's own flush at exit must not complain either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
