"""Discovery, tags and the refs.lint conventions."""

import os
from pathlib import Path

from toolkit.refs.discover import discover, lint, orphan_references, read_tags


def _write(root: Path, name: str, text: str, executable: bool = False) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(0o755)
    return path


def test_tags_first_line_or_after_shebang(tmp_path: Path) -> None:
    sql = _write(tmp_path, "a.sql", "-- Tags: no-parallel, long\nSELECT 1;\n")
    sh = _write(tmp_path, "b.sh", "#!/bin/sh\n# Tags: no-mysql, bogus\necho\n")
    assert read_tags(sql) == (frozenset({"no-parallel", "long"}), [])
    assert read_tags(sh) == (frozenset({"no-mysql", "bogus"}), ["bogus"])


def test_discovery_sorted_and_selected(tmp_path: Path) -> None:
    for name in ("02_b.sql", "01_a.sql", "sub/03_c.sh", "notes.txt"):
        _write(tmp_path, name, "SELECT 1;\n")
    assert [t.name for t in discover(tmp_path)] == ["01_a", "02_b", "sub/03_c"]
    assert [t.name for t in discover(tmp_path, ["_b"])] == ["02_b"]
    assert [t.name for t in discover(tmp_path, ["0[13]_*"])] == ["01_a", "sub/03_c"]


def test_skip_reasons(tmp_path: Path) -> None:
    _write(tmp_path, "a.sql", "-- Tags: no-postgresql\nSELECT 1;\n")
    _write(tmp_path, "b.sql", "-- Tags: disabled\nSELECT 1;\n")
    a, b = discover(tmp_path)
    assert a.skip_reason("postgresql") == "no-postgresql" and a.skip_reason("sqlite") is None
    assert b.skip_reason("sqlite") == "disabled"


def test_lint_finds_each_convention(tmp_path: Path) -> None:
    _write(tmp_path, "ok.sql", "-- Tags: no-mysql\nSELECT 1;\n")
    _write(tmp_path, "ok.reference", "1\n")
    _write(tmp_path, "random.sql", "SELECT 1;\n")
    _write(tmp_path, "random.reference", "test_a1b2c3\n${CLICKHOUSE_DATABASE}\n")
    _write(tmp_path, "missing.sql", "-- Tags: no-mysql, shiny\nSELECT 1;\n")
    _write(tmp_path, "orphan.reference", "1\n")
    _write(tmp_path, "slow.sh", "#!/bin/sh\nsleep 1\n")
    _write(tmp_path, "slow.reference", "")
    problems, no_tags = lint(tmp_path)
    text = "\n".join(problems)
    assert f"{tmp_path}/random.reference:1: a random database name 'test_a1b2c3'" in text
    assert f"{tmp_path}/random.reference:2: an unexpanded ${{…}} variable" in text
    assert f"{tmp_path}/missing.sql:1: no reference missing.reference" in text
    assert f"{tmp_path}/missing.sql:1: unknown tag 'shiny'" in text
    assert f"{tmp_path}/orphan.reference:1: reference without a test" in text
    assert f"{tmp_path}/slow.sh:2: sleep in a test" in text
    assert f"{tmp_path}/slow.sh:1: not executable" in text
    assert no_tags == {"no-mysql": 2}
    assert orphan_references(tmp_path) == [tmp_path / "orphan.reference"]


def test_repository_references_pass_lint() -> None:
    problems, _ = lint(Path(__file__).parent / "queries")
    assert problems == []
    assert all(os.access(p, os.X_OK) for p in (Path(__file__).parent / "queries").glob("*.sh"))
