"""The template format is part of the fingerprint and derived from the code that builds, marks
and clones templates: a template built by other code (another toolkit, an edited checkout) is
rebuilt, never reused half-understood."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from tests.helpers import migration_runs, settings_for
from toolkit import core, fingerprint
from toolkit.engines import get_engine


def test_the_format_hashes_the_code_that_builds_and_clones() -> None:
    package = Path(fingerprint.__file__).parent
    digest = hashlib.sha256(b"".join((package / f).read_bytes()
                                     for f in fingerprint.FORMAT_SOURCES)).hexdigest()[:12]
    assert fingerprint.template_format() == f"{fingerprint.TEMPLATE_FORMAT}-{digest}"


def test_a_template_built_by_other_code_is_rebuilt(project: Path, tmp_path: Path) -> None:
    settings = settings_for(project, f"sqlite:///{tmp_path}/dbs/x.sqlite")
    old = core.ensure_template(settings)
    engine = get_engine(settings)
    marker = engine.marker(old.name)
    assert marker is not None
    # what an older toolkit's marker says: another format (and no idea of today's snapshot)
    inputs = dict(marker.inputs)
    inputs["option:format"] = "1"
    engine._write_marker(old.name, dataclasses.replace(marker, inputs=tuple(inputs.items())))
    runs = migration_runs(project)
    new = core.ensure_template(settings)
    assert migration_runs(project) == runs + 1, "rebuilt"
    rebuilt = engine.marker(new.name)
    assert rebuilt is not None
    assert dict(rebuilt.inputs)["option:format"] == fingerprint.template_format()
    with core.clone(settings, new) as db:
        assert Path(str(db.url.database)).is_file()
