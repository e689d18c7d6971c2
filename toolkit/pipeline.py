"""The main job (``nox -s pipeline``, a project's ``inv pipeline``): the template, the
reference tests, every integration shard, then the shards' durations merged; it ends with one
HTML report of all of it and a table of what each step did."""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from toolkit import durations
from toolkit.settings import Settings
from toolkit.testrun import shard_command

REPORT = Path(".toolkit") / "report.html"  # relative to the project
STEPS_DIR = Path(".toolkit") / "pipeline"  # each step's page and results


@dataclasses.dataclass
class Step:
    name: str
    command: list[str]
    results: Path | None = None  # the results file the step writes
    seconds: float = 0.0
    ok: bool | None = None  # None: not run (an earlier step failed)


def steps(settings: Settings, pytest_args: Sequence[str] = ()) -> list[Step]:
    """The main job as toolkit commands, run in the project directory."""
    made = [Step("template", ["toolkit", "db.template"])]
    pages = settings.path(STEPS_DIR)
    if settings.path(settings.references_dir).is_dir():
        page = pages / "references.html"
        made.append(Step("references", ["toolkit", "refs.run", f"--report={page}"],
                         page.with_suffix(".json")))
    n = settings.shards
    for k in range(1, n + 1):
        page = pages / f"shard-{k}-of-{n}.html"
        command = shard_command(k, n, pytest_args)
        command.insert(command.index("--"), f"--report={page}")
        made.append(Step(f"shard {k}/{n}", command, page.with_suffix(".json")))
    made.append(Step("durations", ["toolkit", "test.durations"] + [
        arg for k in range(1, n + 1)
        for arg in ("--merge", str(durations.shard_path(settings.project_dir, k, n)))]))
    return made


@dataclasses.dataclass
class Outcome:
    steps: list[Step]
    template: str  # "built NAME", "reused NAME"
    report: Path | None

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.ok is False), None)


def run(settings: Settings, run_step: Callable[[list[str]], bool],
        pytest_args: Sequence[str] = (), report: Path | None = None,
        say: Callable[[str], None] = print) -> Outcome:
    """Run the steps with ``run_step`` (the command; whether it succeeded) until one fails,
    then write the report of what ran and print the table. The caller fails on
    ``outcome.failed``."""
    planned = steps(settings, pytest_args)
    pages = settings.path(STEPS_DIR)
    for stale in (pages.glob("*.json") if pages.is_dir() else ()):
        stale.unlink()  # an earlier run's shards must not join this run's report
    template = _template_state(settings)
    for step in planned:
        started = time.monotonic()
        step.ok = run_step(step.command)
        step.seconds = time.monotonic() - started
        if not step.ok:
            break
    page = settings.path(report or REPORT)
    written = _report(pages, page, say)
    outcome = Outcome(planned, template, written)
    say(table(outcome))
    return outcome


def _template_state(settings: Settings) -> str:
    """Whether db.template will build or reuse, and which template: asked before it runs."""
    from toolkit.core import resolve
    from toolkit.engines import close_all
    from toolkit.errors import ToolkitError

    if settings.template:
        return f"given {settings.template}"
    try:
        found = resolve(settings)
    except ToolkitError:
        return "?"  # db.template itself says what is wrong
    finally:
        close_all()
    return f"{'reused' if found.usable else 'built'} {found.template.name}"


def _report(pages: Path, page: Path, say: Callable[[str], None]) -> Path | None:
    from toolkit import report
    from toolkit.errors import ToolkitError

    if not pages.is_dir() or not any(pages.glob("*.json")):
        return None
    try:
        report.render_to(report.load([pages]), page)
    except (OSError, ToolkitError) as exc:
        say(f"report not written: {exc}")
        return None
    return page


def _results(step: Step) -> str:
    from toolkit import report

    if step.results is None or not step.results.is_file():
        return ""
    tests = report.load([step.results]).tests
    found = report.counts(tests)
    failed = sum(found[o] for o in (*report.FAILING, "flaky"))
    parts = [f"{len(tests)} tests", f"{found['passed']} passed"]
    parts += [f"{failed} failed"] if failed else []
    parts += [f"{found['skipped']} skipped"] if found["skipped"] else []
    return ", ".join(parts)


def table(outcome: Outcome) -> str:
    """The closing summary: one row per step, the total, and where the report is."""
    from rich.console import Console
    from rich.table import Table

    grid = Table("step", "result", "time", title="pipeline", title_justify="left")
    for step in outcome.steps:
        state = "not run" if step.ok is None else "ok" if step.ok else "FAILED"
        what = outcome.template if step.name == "template" else _results(step)
        grid.add_row(step.name, f"{state}{': ' + what if what and step.ok is not None else ''}",
                     f"{step.seconds:.1f}s" if step.ok is not None else "")
    grid.add_row("total", "FAILED at " + outcome.failed.name if outcome.failed else "ok",
                 f"{sum(s.seconds for s in outcome.steps):.1f}s")
    out = io.StringIO()
    Console(file=out, width=120, force_terminal=False).print(grid)
    text = out.getvalue().rstrip()
    if outcome.report is not None:
        text += f"\nreport: {outcome.report}"
    return text


def report_option(args: Sequence[str]) -> tuple[Path | None, list[str]]:
    """``--report PATH`` (or ``--report=PATH``) taken out of a session's arguments; the rest
    go to pytest."""
    rest, found, i = [], None, 0
    while i < len(args):
        if args[i] == "--report" and i + 1 < len(args):
            found, i = Path(args[i + 1]), i + 2
            continue
        if args[i].startswith("--report="):
            found = Path(args[i].split("=", 1)[1])
        else:
            rest.append(args[i])
        i += 1
    return found, rest
