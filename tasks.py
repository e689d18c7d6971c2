"""This repository's own tasks: toolkit's namespaces plus the main job over the example."""

import shlex
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from toolkit.nox import merge_args
from toolkit.settings import Settings
from toolkit.tasks import namespace as toolkit_namespace

EXAMPLE = "examples/shop"


@task
def pipeline(c: Context) -> None:
    """The main job on the example shop: template, references, every integration shard."""
    shards = Settings.load(project_dir=EXAMPLE).shards
    with c.cd(EXAMPLE):
        c.run("toolkit db.template")
        c.run("toolkit refs.run")
        for k in range(1, shards + 1):
            c.run(f"toolkit test.shard --shard {k} --shards {shards}")
        c.run("toolkit test.durations " + " ".join(
            shlex.quote(arg) for arg in merge_args(Path(EXAMPLE), shards)))


namespace = Collection(pipeline)
for sub in toolkit_namespace.collections.values():
    namespace.add_collection(sub)
