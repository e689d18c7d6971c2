"""The reference runner on every engine, against the repository's own reference tests and
against tests written to fail in each way."""

import textwrap
from pathlib import Path

import psycopg

from tests.helpers import write_project
from toolkit.engines.postgresql import connect_kwargs
from toolkit.refs.command import Summary, references
from toolkit.refs.engines import engine_of
from toolkit.settings import Settings
from toolkit.urls import parse

QUERIES = Path(__file__).parent / "queries"


def _run(root: Path, url: str, **kwargs: object) -> Summary:
    settings = Settings.load(project_dir=root, environ={}, database_url=url)
    return references(settings, url=url, directory=root, jobs=2, **kwargs)  # type: ignore[arg-type]


def test_repository_references_are_up_to_date(refs_url: str) -> None:
    """refs.record --check on every engine: nothing would change, nothing fails."""
    summary = _run(QUERIES, refs_url, record=True, check=True)
    assert summary.changed == []
    assert summary.failed == 0, [o.reason for o in summary.outcomes if o.status == "failed"]
    engine = engine_of(refs_url)
    skipped = {o.name for o in summary.outcomes if o.status == "skipped"}
    assert all(f"no-{engine}" in (QUERIES / f"{n}.sql").read_text() for n in skipped)
    assert summary.count("passed") >= 7


def _tests(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.write_text(textwrap.dedent(text).lstrip())
        if name.endswith(".sh"):
            path.chmod(0o755)
    return root


def test_each_failure_reason(tmp_path: Path, refs_url: str) -> None:
    root = _tests(tmp_path, {
        "mismatch.sql": "SELECT 1;\n", "mismatch.reference": "2\n",
        "missing.sql": "SELECT 1;\n",
        "unexpected.sql": "SELECT 1;\nSELECT * FROM nowhere_at_all;\n",
        "unexpected.reference": "1\n",
        "succeeded.sql": "SELECT 1; -- { serverError 1 }\n", "succeeded.reference": "",
        "stderr.sh": "#!/bin/sh\necho out\necho oops >&2\n", "stderr.reference": "out\n",
        "exit.sh": "#!/bin/sh\necho broken >&2\nexit 3\n", "exit.reference": "",
        "orphan.reference": "1\n",
    })
    summary = _run(root, refs_url)
    reasons = {o.name: o.reason for o in summary.outcomes}
    assert "result differs from the reference" in reasons["mismatch"]
    assert "toolkit refs.record -s missing" in reasons["missing"]
    assert "unexpected.sql:2: unexpected error" in reasons["unexpected"]
    assert "succeeded.sql:1: expected serverError 1, but the statement succeeded" \
        in reasons["succeeded"]
    assert "unexpected stderr: oops" in reasons["stderr"]
    assert "exit code 3: broken" in reasons["exit"]
    assert summary.problems == [f"{root}/orphan.reference:1: reference without a test "
                                "(orphan.sql or orphan.sh)"]
    assert summary.line == "0 passed, 7 failed, 0 skipped"
    mismatch = next(o for o in summary.outcomes if o.name == "mismatch")
    assert "-2\n+1\n" in mismatch.detail


def test_wrong_error_code_says_expected_and_got(tmp_path: Path, refs_url: str) -> None:
    root = _tests(tmp_path, {"wrong.sql": "SELECT * FROM nowhere; -- { serverError 999999 }\n",
                             "wrong.reference": ""})
    (outcome,) = _run(root, refs_url).outcomes
    assert "wrong.sql:1: expected serverError 999999, got " in outcome.reason


def test_timeout_kills_and_cleans_up(tmp_path: Path, postgres_url: str) -> None:
    root = _tests(tmp_path, {"forever.sql": "SELECT pg_sleep(30);\n", "forever.reference": "",
                             "fine.sql": "SELECT 1;\n", "fine.reference": "1\n"})
    summary = _run(root, postgres_url, timeout=1.0)
    reasons = {o.name: (o.status, o.reason) for o in summary.outcomes}
    assert reasons["forever"] == ("failed", f"{root}/forever.sql: timeout after 1s")
    assert reasons["fine"][0] == "passed"
    with psycopg.connect(**connect_kwargs(parse(postgres_url))) as conn:
        left = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%'")
        assert left.fetchall() == []


def test_long_tag_gets_a_longer_timeout(tmp_path: Path) -> None:
    query = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
             "SELECT count(*) FROM c;\n")
    root = _tests(tmp_path, {"slow.sql": f"-- Tags: long\n{query}", "slow.reference": "3000000\n"})
    (outcome,) = _run(root, f"sqlite:///{tmp_path}/x.sqlite", timeout=0.5).outcomes
    assert outcome.status == "passed", outcome.reason


def test_no_drop_if_fail_keeps_the_database(tmp_path: Path, postgres_url: str) -> None:
    root = _tests(tmp_path, {"kept.sql": "CREATE TABLE evidence (x int);\nSELECT 1;\n",
                             "kept.reference": "2\n"})
    (outcome,) = _run(root, postgres_url, keep_failed=True, pool=False).outcomes
    assert outcome.status == "failed"
    # kept in the worker's scratch database, which the failure names
    database = outcome.reason.rsplit(" in database ", 1)[1].rstrip(")")
    with psycopg.connect(**connect_kwargs(parse(postgres_url), database)) as conn:
        (schema,) = conn.execute("SELECT table_schema FROM information_schema.tables "
                                 "WHERE table_name = 'evidence'").fetchone()
    with psycopg.connect(**connect_kwargs(parse(postgres_url))) as conn:
        conn.execute(f'DROP DATABASE "{database}"')
    assert schema.startswith("test_") and len(schema) == 11
    assert f"(kept: schema {schema} in database {database})" in outcome.reason


def test_record_writes_only_recordable(tmp_path: Path) -> None:
    root = _tests(tmp_path, {"new.sql": "SELECT 'fresh';\n",
                             "old.sql": "SELECT 2;\n", "old.reference": "1\n",
                             "broken.sql": "SELECT * FROM nope;\n"})
    url = f"sqlite:///{tmp_path}/x.sqlite"
    check = _run(root, url, record=True, check=True)
    assert sorted(p.name for p in check.changed) == ["new.reference", "old.reference"]
    assert not (root / "new.reference").exists()
    recorded = _run(root, url, record=True)
    assert (root / "new.reference").read_text() == "fresh\n"
    assert (root / "old.reference").read_text() == "2\n"
    assert not (root / "broken.reference").exists()
    assert recorded.failed == 3
    assert _run(root, url).line == "2 passed, 1 failed, 0 skipped"


def test_template_is_cloned_per_test(tmp_path: Path, server_url: str) -> None:
    project = write_project(tmp_path / "project")
    root = project / "queries"
    root.mkdir()
    _tests(root, {"a.sql": "INSERT INTO parent VALUES (2, 'mine');\nSELECT count(*) FROM parent;\n",
                  "a.reference": "2\n",
                  "b.sql": "SELECT count(*) FROM parent;\n", "b.reference": "1\n"})
    settings = Settings.load(project_dir=project, environ={}, database_url=server_url,
                             prefix="reftpl_")
    summary = references(settings, directory=root, jobs=1)
    assert summary.line == "2 passed, 0 failed, 0 skipped", summary.outcomes


def test_name_is_normalised_to_default(tmp_path: Path) -> None:
    root = _tests(tmp_path, {"name.sh": "#!/bin/sh\necho \"db=$TOOLKIT_DATABASE\"\n",
                             "name.reference": "db=default\n"})
    assert _run(root, f"sqlite:///{tmp_path}/x.sqlite").line == "1 passed, 0 failed, 0 skipped"
