"""The migration histories the benchmarks run on: the example shop's (32 revisions) and a
real-world one, MLflow 3.2.0's tracking store (33 revisions, its migrations exactly as MLflow
ships them, after the initial tables MLflow creates first, run by an env.py of the shop's
kind).

MLflow's migrations import MLflow's models, so that history needs MLflow installed:

    pip install mlflow-skinny==3.2.0 && pip install -U 'packaging>=26.3'

(the second command puts back the packaging release nox's virtualenv needs; MLflow runs with
it.)
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
MLFLOW_VERSION = "3.2.0"
INSTALL = f"pip install mlflow-skinny=={MLFLOW_VERSION} && pip install -U 'packaging>=26.3'"

ALEMBIC_INI = """[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = sqlite:///mlflow.sqlite
"""
ENV_PY = '''"""The shop's kind of env.py: the connection toolkit hands in, else DATABASE_URL. An
empty database first gets the tables MLflow creates before its first revision, as MLflow does
(mlflow.store.db.utils._initialize_tables)."""

import os

from alembic import context
from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase
from sqlalchemy import create_engine, inspect, pool

config = context.config


def run(connection):
    if not inspect(connection).has_table("alembic_version"):
        InitialBase.metadata.create_all(connection)
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    with create_engine(url, poolclass=pool.NullPool).connect() as conn:
        run(conn)
'''


def names() -> list[str]:
    return ["shop", "mlflow"]


def project(history: str, tmp: Path) -> Path:
    """A project directory holding ``history`` (a copy, free to change), without tests."""
    root = tmp / history
    if history == "shop":
        shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(
            "tests", ".toolkit", "__pycache__", "*.sqlite"))
        return root
    if history != "mlflow":
        raise SystemExit(f"bench: no history {history!r}; choose from {', '.join(names())}")
    spec = importlib.util.find_spec("mlflow")
    if spec is None or spec.origin is None:
        raise SystemExit(f"bench: the mlflow history needs MLflow's migrations: {INSTALL}")
    versions = Path(spec.origin).parent / "store" / "db_migrations" / "versions"
    migrations = root / "migrations"
    shutil.copytree(versions, migrations / "versions",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SHOP / "migrations" / "script.py.mako", migrations)
    (migrations / "env.py").write_text(ENV_PY)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "mlflow-history"\nversion = "0"\n\n'
        '[tool.toolkit]\nalembic_ini = "alembic.ini"\n\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    return root


def revisions(root: Path) -> int:
    return sum(1 for p in (root / "migrations" / "versions").glob("*.py")
               if p.name != "__init__.py")
