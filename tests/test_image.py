"""image.build through the Docker SDK against a real engine."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.image import ImageBuildError, build, context_hash


def _context(root: Path, base: str, run: str = "echo hello > /greeting") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(f"FROM {base}\nCOPY app.txt /app.txt\nRUN {run}\n")
    # a fresh token: the daemon keeps images between runs, and each run must really build
    (root / "app.txt").write_text(f"v1 {secrets.token_hex(8)}\n")
    (root / "notes.md").write_text("ignored\n")
    (root / ".dockerignore").write_text("*.md\n")
    return root


def test_build_then_unchanged_is_a_noop(tmp_path: Path, docker_client, base_image: str) -> None:
    context = _context(tmp_path / "ctx", base_image)
    first = build(docker_client, context, tag="toolkit-test/hello:dev")
    assert first.built and "toolkit-test/hello:dev" in first.tags
    labels = docker_client.images.get(first.id).labels
    assert labels["io.toolkit.context-hash"] == first.context_hash
    assert labels["io.toolkit.version"]
    (context / "notes.md").write_text("changed, but .dockerignore'd\n")
    again = build(docker_client, context, tag="toolkit-test/hello:dev")
    assert not again.built and again.id == first.id
    (context / "app.txt").write_text(f"v2 {secrets.token_hex(8)}\n")
    changed = build(docker_client, context, tag="toolkit-test/hello:dev")
    assert changed.built and changed.id != first.id
    assert docker_client.images.get("toolkit-test/hello:dev").id == changed.id
    for image in (first, changed):
        docker_client.images.remove(image.id, force=True)


def test_context_hash_covers_build_args(tmp_path: Path, base_image: str) -> None:
    context = _context(tmp_path / "ctx", base_image)
    assert context_hash(context, "Dockerfile", {"A": "1"}) != \
        context_hash(context, "Dockerfile", {"A": "2"})


def test_failing_step_is_named_with_its_log(tmp_path: Path, docker_client,
                                            base_image: str) -> None:
    context = _context(tmp_path / "broken", base_image,
                       run="echo 'about to fail' && exit 3")
    with pytest.raises(ImageBuildError) as info:
        build(docker_client, context)
    message = str(info.value)
    assert "Step 3/" in message and "exit 3" in message
    assert "returned a non-zero code: 3" in message
    assert "about to fail" in message


def test_cli_build_prints_tag_and_up_to_date(tmp_path: Path, docker_client,
                                             base_image: str) -> None:
    context = _context(tmp_path / "cli", base_image, run="echo cli > /x")
    command = [sys.executable, "-m", "toolkit", "image.build", "--context", str(context),
               "--tag", "toolkit-test/cli:dev"]
    first = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "toolkit-test/cli:dev"
    assert "Step 1/" in first.stderr
    second = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert "up to date: nothing to build" in second.stderr and "Step" not in second.stderr
    docker_client.images.remove("toolkit-test/cli:dev", force=True)


def test_broken_dockerfile_via_cli_is_one_line(tmp_path: Path, base_image: str) -> None:
    context = _context(tmp_path / "bad", base_image, run="false")
    result = subprocess.run([sys.executable, "-m", "toolkit", "image.build", "--context",
                             str(context)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "toolkit: error: image build failed at Step 3/")


def test_unreachable_daemon_names_docker_host(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = subprocess.run([sys.executable, "-m", "toolkit", "image.build"], env=env,
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "cannot reach the Docker daemon at unix:///nonexistent/docker.sock" in line
    assert "dockerd" in line
