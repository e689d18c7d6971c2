"""This repository's own tasks: toolkit's namespaces, the main job over the example, and the
test command that sets up a fresh machine before it runs the suite."""

import shlex
import subprocess
import sys

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from toolkit.settings import Settings
from toolkit.tasks import edge, passthrough
from toolkit.tasks import namespace as toolkit_namespace
from toolkit.testrun import pipeline_commands

EXAMPLE = "examples/shop"
# what toolkit's own test suite needs from the machine (see toolkit.provision.NEEDS)
SUITE_NEEDS = ("postgresql", "mariadb", "sqlite3", "docker", "debootstrap")


@task
def pipeline(c: Context) -> None:
    """The main job on the example shop: template, references, every integration shard."""
    with c.cd(EXAMPLE):
        for command in pipeline_commands(Settings.load(project_dir=EXAMPLE)):
            c.run(shlex.join(command))


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


namespace = Collection(pipeline)
for sub in toolkit_namespace.collections.values():
    if sub.name == "test":  # `inv test` is the suite; toolkit's test.shard etc. stay beside it
        sub = Collection("test", *sub.tasks.values())
        sub.add_task(test, name="suite", default=True)
    namespace.add_collection(sub)
