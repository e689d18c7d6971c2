"""toolkit refs.run / refs.record / refs.lint on the command line."""

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

QUERIES = Path(__file__).parent / "queries"


def _toolkit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=cwd, text=True,
                          capture_output=True, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def _project(tmp_path: Path) -> Path:
    queries = tmp_path / "tests" / "queries"
    queries.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (queries / "ok.sql").write_text("SELECT 1;\n")
    (queries / "ok.reference").write_text("1\n")
    (queries / "bad.sql").write_text("SELECT 2;\n")
    (queries / "bad.reference").write_text("3\n")
    (queries / "off.sql").write_text("-- Tags: disabled\nSELECT 1;\n")
    return tmp_path


def test_run_last_line_exit_code_and_reports(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = _toolkit(root, "refs.run", "--json", "out.json", "--junit", "out.xml")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "1 passed, 1 failed, 1 skipped"
    assert [ln for ln in lines if ln.startswith("FAIL")] == [
        f"FAIL bad: {root}/tests/queries/bad.reference: result differs from the reference"]
    rows = json.loads((root / "out.json").read_text())
    assert [(r["name"], r["status"]) for r in rows] == [("bad", "failed"), ("off", "skipped"),
                                                        ("ok", "passed")]
    assert all(isinstance(r["duration"], float) for r in rows)
    suite = ET.parse(root / "out.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")


def test_select_and_success_exit(tmp_path: Path) -> None:
    result = _toolkit(_project(tmp_path), "refs.run", "--select", "ok")
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "1 passed, 0 failed, 0 skipped"


def test_record_check_then_record(tmp_path: Path) -> None:
    root = _project(tmp_path)
    check = _toolkit(root, "refs.record", "--check")
    assert check.returncode == 1 and "would change" in check.stdout
    assert "1 reference(s) are out of date" in check.stderr
    assert (root / "tests/queries/bad.reference").read_text() == "3\n"
    record = _toolkit(root, "refs.record")
    assert record.returncode == 0, record.stderr
    assert f"wrote {root}/tests/queries/bad.reference" in record.stdout
    assert _toolkit(root, "refs.run").returncode == 0


def test_unknown_tag_is_a_warning_naming_the_file(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "tests/queries/ok.sql").write_text("-- Tags: shiny\nSELECT 1;\n")
    result = _toolkit(root, "refs.run", "--select", "ok")
    assert result.returncode == 0
    assert f"warning: {root}/tests/queries/ok.sql:1: unknown tag 'shiny'" in result.stderr


def test_lint(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "tests/queries/lonely.reference").write_text("x\n")
    result = _toolkit(root, "refs.lint")
    assert result.returncode == 1
    assert f"{root}/tests/queries/lonely.reference:1: reference without a test" in result.stdout
    assert _toolkit(Path(__file__).parent.parent, "refs.lint").returncode == 0


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = _toolkit(root, "refs.run", "--timeout", "soon")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "toolkit: error: --timeout takes a number, not 'soon'"
    missing = _toolkit(root, "refs.run", "--directory", "nowhere")
    assert "no reference tests directory at" in missing.stderr and "Traceback" not in missing.stderr


def test_run_records_durations_for_the_shard_planner(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _toolkit(root, "refs.run")
    stored = json.loads((root / ".toolkit" / "durations.json").read_text())["tests"]
    assert set(stored) == {"tests/queries/ok.sql", "tests/queries/bad.sql"}
