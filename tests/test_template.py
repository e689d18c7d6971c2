"""ensure_template on every engine: built once, reused, rebuilt when migrations change."""

from pathlib import Path

import sqlalchemy as sa

from tests.helpers import add_revision, migration_runs, settings_for, write_project
from toolkit import ensure_template
from toolkit.engines import get_engine
from toolkit.settings import Settings


def test_builds_once_then_only_checks(settings: Settings, project: Path) -> None:
    first = ensure_template(settings)
    assert first.name == f"{settings.prefix}tpl_{first.fingerprint[:12]}"
    assert migration_runs(project) == 1
    again = ensure_template(settings)
    assert again == first
    assert migration_runs(project) == 1
    marker = get_engine(settings).marker(first.name)
    assert marker is not None and marker.kind == "template"


def test_template_is_at_head(settings: Settings) -> None:
    tpl = ensure_template(settings)
    engine = sa.create_engine(tpl.url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "r003"
        assert conn.execute(sa.text("SELECT name FROM parent")).scalar() == "seed"
    engine.dispose()


def test_new_migration_means_new_template_old_kept(settings: Settings, project: Path) -> None:
    old = ensure_template(settings)
    add_revision(project, "CREATE TABLE extra (id INTEGER PRIMARY KEY)")
    new = ensure_template(settings)
    assert new.name != old.name and new.lineage == old.lineage
    markers = get_engine(settings).markers(settings.prefix)
    assert markers[old.name] is not None and markers[new.name] is not None
    assert migration_runs(project) == 2


def test_fingerprint_depends_on_env_py(settings: Settings, project: Path) -> None:
    old = ensure_template(settings)
    env = project / "migrations" / "env.py"
    env.write_text(env.read_text() + "\n# changed\n")
    assert ensure_template(settings).fingerprint != old.fingerprint


def test_migration_url_is_exported_to_env_py(tmp_path: Path, server_url: str) -> None:
    """env.py files that read DB_URI from the environment migrate the building database."""
    root = write_project(tmp_path / "envurl", [])
    (root / "migrations" / "env.py").write_text(
        "import os\nfrom alembic import context\nfrom sqlalchemy import create_engine, pool\n"
        "engine = create_engine(os.environ['DB_URI'], poolclass=pool.NullPool)\n"
        "with engine.connect() as connection:\n"
        "    context.configure(connection=connection)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
        "engine.dispose()\n")
    add_revision(root, "CREATE TABLE from_env (id INTEGER PRIMARY KEY)")
    settings = settings_for(root, server_url, migration_url_env="DB_URI")
    tpl = ensure_template(settings)
    engine = sa.create_engine(tpl.url)
    assert "from_env" in sa.inspect(engine).get_table_names()
    engine.dispose()
