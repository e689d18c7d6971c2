"""The repository's noxfile: every session documented, the shard sessions registered by
toolkit.nox.register, and integration-3 running shard 3 of 4 of the example shop."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _nox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nox", *args], cwd=ROOT, text=True, capture_output=True)


def test_sessions_are_listed_with_their_docstrings() -> None:
    listing = _nox("-l").stdout
    for name in ("lint", "tests", "references", "references-postgresql", "references-mysql",
                 "references-clickhouse", "references-clickhouse-samples",
                 "references-clickhouse-server", "pipeline",
                 "prepush", "bench", "docker", *(f"integration-{k}" for k in range(1, 5))):
        line = next((ln for ln in listing.splitlines() if f" {name} -> " in ln), None)
        assert line is not None, f"{name} missing from nox -l"
    assert "integration-3 -> Shard 3 of 4 of the integration suite." in listing


def test_integration_3_runs_its_shard() -> None:
    result = _nox("--force-venv-backend", "none", "-s", "integration-3", "--", "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "toolkit test.shard --shard=3 --shards=4" in result.stderr
    assert " PASSED" in result.stdout
