"""This repository's own tasks: toolkit's namespaces plus the main job over the example."""

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from toolkit.tasks import namespace as toolkit_namespace

EXAMPLE = "examples/shop"


@task
def pipeline(c: Context) -> None:
    """The main job: build the example shop's template and run its integration tests."""
    with c.cd(EXAMPLE):
        c.run("toolkit db.template")
        c.run("python -m pytest -q tests/integration")


namespace = Collection(pipeline)
for sub in toolkit_namespace.collections.values():
    namespace.add_collection(sub)
