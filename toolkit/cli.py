"""The ``toolkit`` command: the same tasks as ``toolkit.tasks.namespace``, in any directory."""

import os
import sys

from invoke.program import Program

from toolkit import __version__
from toolkit.tasks import namespace

program = Program(namespace=namespace, version=__version__, name="toolkit", binary="toolkit")


def main() -> None:
    try:
        program.run()
    except BrokenPipeError:
        # the reader went away (`toolkit db.status --json | head -1`): nothing more to say, and
        # Python's own flush at exit must not complain either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
