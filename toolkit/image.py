"""Building the image of the server under test through the Docker SDK, tagged by a content
hash of its build context so an unchanged context builds nothing."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import io
import os
import re
import subprocess
import tarfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound
from docker.utils.build import exclude_paths

from toolkit import __version__
from toolkit.docker import LABEL
from toolkit.errors import ToolkitError

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


class ImageBuildError(ToolkitError):
    def __init__(self, step: str, log: list[str], reason: str) -> None:
        self.step, self.log, self.reason = step, log, reason
        tail = " | ".join(line for line in log[-5:] if line.strip())
        super().__init__(f"image build failed at {step or 'the start'}: {reason}"
                         + (f" — last lines: {tail}" if tail else ""))


@dataclasses.dataclass(frozen=True)
class Image:
    id: str
    tags: list[str]
    context_hash: str
    built: bool  # False when the context was unchanged and nothing was built


def context_hash(context: Path, dockerfile: str, build_args: Mapping[str, str]) -> str:
    """SHA-256 of what goes into the build: the files the .dockerignore lets through (names,
    modes, contents), the Dockerfile's name and the build arguments."""
    ignore = context / ".dockerignore"
    patterns = [p.strip() for p in ignore.read_text().splitlines()
                if p.strip() and not p.startswith("#")] if ignore.is_file() else []
    digest = hashlib.sha256(f"toolkit-image 1\n{dockerfile}\n".encode())
    for key in sorted(build_args):
        digest.update(f"arg {key}={build_args[key]}\n".encode())
    for name in sorted(exclude_paths(str(context), patterns, dockerfile=dockerfile)):
        path = context / name
        if path.is_file() and not path.is_symlink():
            digest.update(f"file {name} {path.stat().st_mode & 0o777:o}\n".encode())
            digest.update(path.read_bytes())
        elif path.is_symlink():
            digest.update(f"link {name} {os.readlink(path)}\n".encode())
    return digest.hexdigest()


def build(client: docker.DockerClient, context: Path, dockerfile: str = "Dockerfile",
          tag: str | None = None, build_args: Mapping[str, str] | None = None,
          on_step: Callable[[str], None] = lambda s: None, no_cache: bool = False) -> Image:
    """Build ``context`` unless an image of the same context hash exists; tag it
    ``<repo>:ctx-<hash>`` and ``tag``. ``no_cache`` rebuilds every layer."""
    context = context.resolve()
    if not (context / dockerfile).is_file():
        raise ImageBuildError("", [], f"no {dockerfile} in {context} (pass --dockerfile or "
                              "--context)")
    args = dict(build_args or {})
    digest = context_hash(context, dockerfile, args)
    repo = _split_tag(tag)[0] if tag else \
        f"toolkit/{re.sub(r'[^a-z0-9._-]', '-', context.name.lower())}"
    hash_tag = f"{repo}:ctx-{digest[:12]}"
    wanted = [hash_tag] + ([tag] if tag else [])
    try:
        existing = client.images.get(hash_tag)
        if existing.labels.get(f"{LABEL}.context-hash") == digest:
            _tag(existing, wanted)
            return Image(existing.id, wanted, digest, built=False)
    except ImageNotFound:
        pass
    image_id = _stream(client.api.build(
        path=str(context), dockerfile=dockerfile, tag=hash_tag, buildargs=args, rm=True,
        forcerm=True, decode=True, nocache=no_cache,
        labels={f"{LABEL}.version": __version__, f"{LABEL}.context-hash": digest}), on_step)
    image = client.images.get(image_id)
    _tag(image, wanted)
    return Image(image.id, wanted, digest, built=True)


def _split_tag(full: str) -> tuple[str, str]:
    """(repository, tag) of NAME[:TAG]; a registry's port (host:5000/name) is not a tag."""
    if ":" in full.rsplit("/", 1)[-1]:
        repo, _, version = full.rpartition(":")
        return repo, version
    return full, "latest"


def _tag(image: docker.models.images.Image, tags: list[str]) -> None:
    for full in tags:
        image.tag(*_split_tag(full))


def _stream(chunks: Iterator[dict[str, object]], on_step: Callable[[str], None]) -> str:
    """Follow the build's JSON stream: report steps, keep the current step's log for errors."""
    step, image_id = "", ""
    log: collections.deque[str] = collections.deque(maxlen=20)
    try:
        for chunk in chunks:
            if "error" in chunk:
                raise ImageBuildError(step, list(log), str(chunk["error"]).strip())
            aux = chunk.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image_id = str(aux["ID"])
            for line in str(chunk.get("stream", "")).splitlines():
                if _STEP.match(line):
                    step = line
                    log.clear()
                    on_step(line)
                elif line.strip():
                    log.append(line)
                    found = re.match(r"^Successfully built ([0-9a-f]+)$", line)
                    image_id = found.group(1) if found else image_id
    except APIError as exc:
        raise ImageBuildError(step, list(log), exc.explanation or str(exc)) from exc
    if not image_id:
        raise ImageBuildError(step, list(log), "the daemon reported no image")
    return image_id


def debian_base(client: docker.DockerClient, suite: str = "bookworm",
                cache: Path = Path("/var/cache/toolkit"),
                mirror: str = "http://deb.debian.org/debian",
                on_step: Callable[[str], None] = lambda s: None) -> str:
    """``toolkit/debian:<suite>`` from a debootstrap root filesystem imported into the daemon,
    for machines with no image registry. The slow part (debootstrap) is cached in ``cache``."""
    tag = f"toolkit/debian:{suite}"
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    rootfs = cache / f"rootfs-{suite}"
    if not (rootfs / "etc" / "debian_version").is_file():
        on_step(f"debootstrap {suite} into {rootfs} (a few minutes, once)")
        cache.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["debootstrap", "--variant=minbase", suite, str(rootfs), mirror],
                                capture_output=True, text=True)
        if result.returncode:
            tail = " | ".join(result.stdout.strip().splitlines()[-3:])
            raise ImageBuildError(f"debootstrap {suite}", [tail], f"exit {result.returncode}")
    on_step(f"docker import {rootfs} as {tag}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(rootfs, arcname=".")
    buffer.seek(0)
    client.api.import_image(src=buffer.read(), repository="toolkit/debian", tag=suite)
    return tag
