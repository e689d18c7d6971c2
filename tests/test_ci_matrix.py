"""`toolkit ci.matrix --format github|gitlab|k8s` prints configuration that parses (YAML), runs
one shard per parallel job with the durations kept and merged in a last job; the Kubernetes
manifests pass the API's own schema (kubernetes-validate, offline: no cluster here)."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.helpers import toolkit_cli


def _matrix(tmp_path: Path, *args: str) -> str:
    (tmp_path / "pyproject.toml").write_text("")
    result = toolkit_cli(tmp_path, "ci.matrix", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_is_the_matrix(tmp_path: Path) -> None:
    assert json.loads(_matrix(tmp_path, "--shards", "3")) == [1, 2, 3]


def test_github(tmp_path: Path) -> None:
    workflow = yaml.safe_load(_matrix(tmp_path, "--format", "github", "--shards", "3"))
    shard, merge = workflow["jobs"]["shard"], workflow["jobs"]["durations"]
    assert shard["strategy"]["matrix"]["shard"] == [1, 2, 3]
    runs = [step.get("run", "") for step in shard["steps"]]
    assert "toolkit test.shard --shard ${{ matrix.shard }} --shards 3" in runs
    uploaded = [s for s in shard["steps"] if s.get("uses", "").startswith("actions/upload")]
    assert uploaded[0]["with"]["path"] == ".toolkit/durations-shard-*.json"
    assert merge["needs"] == "shard" and merge["if"] == "always()"
    assert any("toolkit test.durations" in s.get("run", "") for s in merge["steps"])
    # what the merge job saves is what the shard jobs restore
    restored = [s for s in shard["steps"] if s.get("uses", "").startswith("actions/cache/")]
    saved = [s for s in merge["steps"] if s.get("uses", "").startswith("actions/cache/")]
    assert restored[0]["with"]["path"] == saved[0]["with"]["path"] == ".toolkit/durations.json"


def test_gitlab(tmp_path: Path) -> None:
    config = yaml.safe_load(_matrix(tmp_path, "--format", "gitlab", "--shards", "4"))
    assert config["integration"]["parallel"] == 4  # CI_NODE_INDEX/CI_NODE_TOTAL
    assert "toolkit test.shard" in config["integration"]["script"]
    assert config["integration"]["artifacts"]["paths"] == [".toolkit/durations-shard-*.json",
                                                           ".toolkit/report-shard-*"]
    assert config["durations"]["needs"] == ["integration"]
    assert config["stages"] == ["test", "durations"]


def test_kubernetes(tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all(_matrix(tmp_path, "--format", "k8s", "--shards", "5",
                                                "--image", "registry.example/tests:1")))
    version = kubernetes_validate.latest_version()
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    claim, job, merge = documents
    assert claim["kind"] == "PersistentVolumeClaim"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 5
    container = spec["template"]["spec"]["containers"][0]
    assert {"name": "TOOLKIT_SHARDS", "value": "5"} in container["env"]
    assert container["image"] == "registry.example/tests:1"
    assert "toolkit test.shard" in container["command"][-1]
    assert merge["spec"]["suspend"] is True  # started once the shards are done


def test_kubernetes_needs_an_image(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    result = toolkit_cli(tmp_path, "ci.matrix", "--format", "k8s")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "toolkit: error: ci.matrix --format k8s needs --image IMAGE: the image the tests run "
        "in (your project as its working directory, with toolkit and pytest installed)"]


@pytest.mark.parametrize("fmt", ["xml", "GitHub"])
def test_an_unknown_format_is_one_line(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    result = toolkit_cli(tmp_path, "ci.matrix", "--format", fmt)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"toolkit: error: --format {fmt!r}: choose one of json, "
                                     "github, gitlab, k8s")
