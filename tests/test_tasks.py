"""The `toolkit` command over the db tasks."""

import json

from tests.helpers import run_toolkit
from toolkit import status
from toolkit.settings import Settings


def test_template_then_clone_prints_url_last(settings: Settings) -> None:
    built = run_toolkit(settings, "db.template")
    name = built.stdout.strip().splitlines()[-1]
    assert name.startswith(f"{settings.prefix}tpl_")
    assert "migrating: r002 -> r003" in built.stderr
    again = run_toolkit(settings, "db.template")
    assert again.stdout.strip() == name and "migrating" not in again.stderr
    cloned = run_toolkit(settings, "db.clone")
    url = cloned.stdout.strip().splitlines()[-1]
    clone_name = next(e.name for e in status(settings) if e.marker and e.marker.kind == "clone")
    assert clone_name in url
    # the clone belongs to the shell that asked for it (here: this test process)
    assert run_toolkit(settings, "db.gc", "--dry-run").stdout.strip() == "would drop 0 database(s)"
    assert run_toolkit(settings, "db.drop", clone_name).stdout.strip() == f"dropped {clone_name}"
    assert "nothing to drop" in run_toolkit(settings, "db.drop", clone_name).stdout


def test_status_json(settings: Settings) -> None:
    run_toolkit(settings, "db.template")
    rows = json.loads(run_toolkit(settings, "db.status", "--json").stdout)
    assert [(r["kind"], r["owner_alive"]) for r in rows] == [("template", False)]
    assert {"name", "fingerprint", "owner", "age_s", "created"} <= set(rows[0])


def test_status_table(settings: Settings) -> None:
    run_toolkit(settings, "db.template")
    out = run_toolkit(settings, "db.status").stdout
    assert "template" in out and "fingerprint" in out
