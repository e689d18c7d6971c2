"""The ``toolkit`` command: the same tasks as ``toolkit.tasks.namespace``, in any directory."""

from invoke.program import Program

from toolkit import __version__
from toolkit.tasks import namespace

program = Program(namespace=namespace, version=__version__, name="toolkit", binary="toolkit")


def main() -> None:
    program.run()
