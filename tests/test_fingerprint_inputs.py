"""The fingerprint covers what the migrations read: a data file beside the revisions, a project
module a revision imports, a file named by fingerprint_include, and the [alembic] options. Each
edit yields a new template whose clones hold the new content; an unrelated edit rebuilds
nothing. Builds run through the CLI, each in a fresh process, as users run them (a module
cached in this process would hide an edit)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import sqlalchemy as sa

from tests.helpers import migration_runs, run_toolkit
from toolkit import core
from toolkit.settings import Settings

ENV_PY = '''
from pathlib import Path
from alembic import context

with open(Path(__file__).parent.parent / "runs.log", "a") as log:
    log.write("run\\n")
config = context.config
# a custom option of the [alembic] section, as real env.py files read them
context.configure(connection=config.attributes["connection"],
                  version_table=config.get_main_option("version_table", "alembic_version"))
with context.begin_transaction():
    context.run_migrations()
'''

SEED = '''
import subprocess
from pathlib import Path

from alembic import op

from seeds.data import ROWS

revision = "r004"
down_revision = "r003"
branch_labels = None
depends_on = None
PROJECT = Path(__file__).parents[2]


def upgrade():
    op.execute("CREATE TABLE seed (source VARCHAR(20), value VARCHAR(50))")
    op.execute(Path(__file__).with_name("seed.sql").read_text())
    for row in ROWS:
        op.execute(f"INSERT INTO seed VALUES ('module', '{row}')")
    # read by another process: no audit event here sees it, fingerprint_include names it
    extra = subprocess.run(["cat", str(PROJECT / "data" / "extra.txt")], text=True,
                           capture_output=True, check=True).stdout.strip()
    op.execute(f"INSERT INTO seed VALUES ('include', '{extra}')")
'''


def _project(settings: Settings) -> Path:
    root = settings.project_dir
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "versions" / "r004.py").write_text(SEED)
    (root / "migrations" / "versions" / "seed.sql").write_text(
        "INSERT INTO seed VALUES ('sql', 'v1')")
    (root / "seeds").mkdir()
    (root / "seeds" / "__init__.py").write_text("")
    (root / "seeds" / "data.py").write_text("ROWS = ['m1']\n")
    (root / "data").mkdir()
    (root / "data" / "extra.txt").write_text("x1\n")
    (root / "alembic.ini").write_text(textwrap.dedent("""\
        [alembic]
        script_location = %(here)s/migrations
        prepend_sys_path = .
        path_separator = os
        version_table = alembic_version
        """))
    with (root / "pyproject.toml").open("a") as f:
        f.write('\n[tool.toolkit]\nfingerprint_include = ["data/*.txt"]\n')
    return root


def _build(settings: Settings) -> str:
    return run_toolkit(settings, "db.template").stdout.strip().splitlines()[-1]


def _contents(settings: Settings, name: str) -> tuple[set[tuple[str, str]], set[str]]:
    with core.clone(settings, core.find_template(settings, name)) as db:
        with db.engine.connect() as conn:
            rows = {(s, v) for s, v in conn.execute(sa.text("SELECT source, value FROM seed"))}
        tables = set(sa.inspect(db.engine).get_table_names())
    return rows, tables


def test_every_input_the_migrations_read_makes_a_new_template(settings: Settings) -> None:
    root = _project(settings)
    first = _build(settings)
    rows, tables = _contents(settings, first)
    assert rows == {("sql", "v1"), ("module", "m1"), ("include", "x1")}
    assert "alembic_version" in tables
    record = json.loads((root / ".toolkit" / "template-inputs.json").read_text())
    assert list(record.values()) == [["seeds/__init__.py", "seeds/data.py"]]

    # edits nothing reads: no rebuild, no migration run
    runs = migration_runs(root)
    (root / "README.md").write_text("# sample\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("def test_x(): pass\n")
    assert _build(settings) == first
    assert migration_runs(root) == runs

    edits = [
        (root / "migrations" / "versions" / "seed.sql", "INSERT INTO seed VALUES ('sql', 'v2')",
         ("sql", "v2")),
        (root / "seeds" / "data.py", "ROWS = ['m2']\n", ("module", "m2")),
        (root / "data" / "extra.txt", "x2\n", ("include", "x2")),
    ]
    names = [first]
    for path, text, expected in edits:
        path.write_text(text)
        name = _build(settings)
        assert name not in names, f"editing {path.name} reused a template"
        names.append(name)
        assert expected in _contents(settings, name)[0], path.name

    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("version_table = alembic_version",
                                           "version_table = custom_version"))
    name = _build(settings)
    assert name not in names
    assert "custom_version" in _contents(settings, name)[1]
    names.append(name)

    explain = run_toolkit(settings, "db.template", "--explain").stdout
    assert f"template {name} is up to date" in explain
    assert "seeds/data.py" in explain and "discovered" in explain
    assert "alembic.version_table" in explain and "custom_version" in explain

    # a fresh checkout (no .toolkit/) finds the template through its marker: nothing rebuilt
    (root / ".toolkit" / "template-inputs.json").unlink()
    runs = migration_runs(root)
    assert _build(settings) == name
    assert migration_runs(root) == runs
    for built in names:
        core.drop(settings, built)


def test_a_rebuild_says_which_input_changed(settings: Settings) -> None:
    root = _project(settings)
    first = _build(settings)
    (root / "seeds" / "data.py").write_text("ROWS = ['m3']\n")
    explain = run_toolkit(settings, "db.template", "--explain").stdout
    assert f"since {first}: changed seeds/data.py" in explain
    result = run_toolkit(settings, "db.template")
    assert f"since template {first}: changed seeds/data.py" in result.stderr
    for built in (first, result.stdout.strip().splitlines()[-1]):
        core.drop(settings, built)


def test_fingerprint_include_from_the_environment(project: Path) -> None:
    settings = Settings.load(project_dir=project,
                             environ={"TOOLKIT_FINGERPRINT_INCLUDE": "data/*.csv, seed/*.json"})
    assert settings.fingerprint_include == ("data/*.csv", "seed/*.json")


def test_a_pattern_that_matches_nothing_is_one_line(settings: Settings) -> None:
    with (settings.project_dir / "pyproject.toml").open("a") as f:
        f.write('\n[tool.toolkit]\nfingerprint_include = ["data/*.csvv"]\n')
    result = run_toolkit(settings, "db.template", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"toolkit: error: fingerprint_include pattern 'data/*.csvv' matches no file under "
        f"{settings.project_dir}"]
