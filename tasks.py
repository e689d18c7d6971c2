"""This repository's own tasks: toolkit's namespaces, the main job over the example, and the
test command that sets up a fresh machine before it runs the suite."""

import functools
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from toolkit.settings import Settings
from toolkit.tasks import edge, passthrough
from toolkit.tasks import namespace as toolkit_namespace

EXAMPLE = "examples/shop"
# what toolkit's own test suite needs from the machine (see toolkit.provision.NEEDS)
SUITE_NEEDS = ("postgresql", "mariadb", "sqlite3", "docker", "debootstrap", "clickhouse-server",
               "clickhouse-client", "chromium", "iproute2", "openssh-server")


@task(help={"report": "where the run's HTML report goes (default: "
                      "examples/shop/.toolkit/report.html)"})
@edge
def pipeline(c: Context, report: str | None = None) -> None:
    """The main job on the example shop: template, references, every integration shard, then
    a table of each step and the run's HTML report."""
    from toolkit import pipeline as main_job

    settings = Settings.load(project_dir=Path(EXAMPLE).resolve())

    def run(command: list[str]) -> bool:
        with c.cd(EXAMPLE):
            return bool(c.run(shlex.join(command), warn=True))

    done = main_job.run(settings, run, report=Path(report).resolve() if report else None)
    if done.failed:
        raise Exit(f"toolkit: error: the pipeline failed at {done.failed.name} (see above)",
                   code=1)


@task
@edge
def test(c: Context) -> None:
    """Run toolkit's test suite on a machine it sets up first (pytest arguments after --).

    As root it installs missing Debian packages; it starts a private dockerd when none answers
    at DOCKER_HOST and stops it at the end."""
    from toolkit import provision

    with provision.prepared([provision.NEEDS[n] for n in SUITE_NEEDS]) as env:
        code = subprocess.run([sys.executable, "-m", "pytest", *passthrough(c)],
                              env=env).returncode
    if code:
        raise Exit(code=code)


@contextmanager
def _inside(directory: str) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def _on_example(original: Task) -> Task:
    """The same task, run on the example shop: `inv db.template` at the root builds its template."""

    @functools.wraps(original.body)
    def body(*args: object, **kwargs: object) -> object:
        with _inside(EXAMPLE):
            return original.body(*args, **kwargs)

    return Task(body, name=original.name, help=original.help, iterable=original.iterable,
                positional=original.positional, optional=original.optional)


namespace = Collection(pipeline)
for sub in toolkit_namespace.collections.values():
    if sub.name == "test":  # `inv test` is the suite; toolkit's test.shard etc. stay beside it
        sub = Collection("test", *sub.tasks.values())
        sub.add_task(test, name="suite", default=True)  # type: ignore[arg-type]
    elif sub.name == "db":  # this repository's own project is the example shop
        sub = Collection("db", *(_on_example(t) for t in sub.tasks.values()))
    namespace.add_collection(sub)
