from pathlib import Path

import pytest

from toolkit.errors import ConfigError
from toolkit.settings import Settings


def test_defaults(tmp_path: Path) -> None:
    s = Settings.load(project_dir=tmp_path, environ={})
    assert s.database_url == "sqlite:///.toolkit/toolkit.sqlite"
    assert s.alembic_ini == Path("alembic.ini")
    assert s.migration_url_env == "DATABASE_URL"
    assert s.prefix == "toolkit_"
    assert s.project_dir == tmp_path.resolve()


def test_precedence_cli_over_env_over_dotenv_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.toolkit]\nprefix = "py_"\nkeep_templates = 5\nalembic_ini = "db/alembic.ini"\n'
        'clone_wait_s = 3\n')
    (tmp_path / ".env").write_text("TOOLKIT_PREFIX=dotenv_\nTOOLKIT_KEEP_TEMPLATES=4\n"
                                   "TOOLKIT_KEEP_FAILED=no\n")
    env = {"TOOLKIT_PREFIX": "env_", "TOOLKIT_KEEP_TEMPLATES": "3"}
    s = Settings.load(project_dir=tmp_path, environ=env, prefix="cli_", alembic_ini=None)
    assert s.prefix == "cli_"
    assert s.keep_templates == 3
    assert s.keep_failed is False
    assert s.alembic_ini == Path("db/alembic.ini")
    assert s.clone_wait_s == 3.0


def test_project_dir_found_above_cwd(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.toolkit]\nprefix = 'up_'\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    s = Settings.load(project_dir=tmp_path / "a" / "b", environ={})
    assert s.project_dir == tmp_path.resolve() and s.prefix == "up_"


def test_bad_value_names_setting_and_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keep_templates from TOOLKIT_KEEP_TEMPLATES"):
        Settings.load(project_dir=tmp_path, environ={"TOOLKIT_KEEP_TEMPLATES": "many"})


def test_unknown_pyproject_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.toolkit]\ndatabase_ulr = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting 'database_ulr'"):
        Settings.load(project_dir=tmp_path, environ={})


def test_prefix_must_be_a_safe_identifier(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prefix"):
        Settings.load(project_dir=tmp_path, environ={}, prefix='x"; DROP')


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = Settings.load(project_dir=tmp_path, environ={})
    with pytest.raises(AttributeError):
        s.prefix = "other_"  # type: ignore[misc]
