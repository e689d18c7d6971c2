"""This repository's own tasks: toolkit's namespaces plus the main job over the example."""

import shlex

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from toolkit.settings import Settings
from toolkit.tasks import namespace as toolkit_namespace
from toolkit.testrun import pipeline_commands

EXAMPLE = "examples/shop"


@task
def pipeline(c: Context) -> None:
    """The main job on the example shop: template, references, every integration shard."""
    with c.cd(EXAMPLE):
        for command in pipeline_commands(Settings.load(project_dir=EXAMPLE)):
            c.run(shlex.join(command))


namespace = Collection(pipeline)
for sub in toolkit_namespace.collections.values():
    namespace.add_collection(sub)
