"""What the runner shows: a progress bar with the counts so far and coloured diffs on a
terminal; without one, one line per failure and a progress line every ``interval_s``
seconds. The last line is always ``N passed, N failed, N skipped``."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax

from toolkit.refs.runner import Outcome


class Reporter:
    def __init__(self, recording: bool = False, console: Console | None = None,
                 interval_s: float = 10.0) -> None:
        self.recording = recording  # failures that recording fixes are not news then
        self.console = console or Console(highlight=False)
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.interval_s = interval_s
        self.total = 0
        self.counts = {"passed": 0, "failed": 0}
        self.finished = 0  # runs ended, whatever their outcome
        self.started = self.said = time.monotonic()

    def start(self, total: int) -> None:
        self.total = total
        self.started = self.said = time.monotonic()
        if self.console.is_terminal and total:
            self.progress = Progress(TextColumn("references"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                     console=self.console, transient=True)
            self.task = self.progress.add_task("run", total=total, counts=self._counts())
            self.progress.start()

    def _counts(self) -> str:
        return f"{self.counts['passed']} passed, {self.counts['failed']} failed"

    def outcome(self, outcome: Outcome) -> None:
        """A run ended: progress, and what went wrong."""
        if outcome.status == "passed":
            self.counts["passed"] += 1
        elif outcome.status in ("failed", "not run"):
            self.counts["failed"] += 1
        self.finished += 1
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, counts=self._counts())
        elif self.total and time.monotonic() - self.said >= self.interval_s:
            self.said = time.monotonic()
            print(f"references: {self.finished}/{self.total} done ({self._counts()}), "
                  f"{self.said - self.started:.1f}s", flush=True)
        self.show(outcome)

    def show(self, outcome: Outcome) -> None:
        if outcome.status == "not run":
            print(f"NOT RUN {outcome.name}", flush=True)
            return
        if outcome.status not in ("failed", "flaky") or (self.recording and outcome.recordable):
            return
        label = "FLAKY" if outcome.status == "flaky" else "FAIL"
        if not self.console.is_terminal:  # CI logs: the same diff, without colour
            print(f"{label} {outcome.name}: {outcome.reason}", flush=True)
            if outcome.detail:
                print(outcome.detail.rstrip("\n"), flush=True)
            return
        self.console.print(f"[bold red]{label}[/] {outcome.name}: {outcome.reason}")
        if outcome.detail:
            self.console.print(Syntax(outcome.detail, "diff", theme="ansi_dark"))

    def problem(self, line: str) -> None:
        print(f"FAIL {line}", flush=True)

    def finish(self, line: str) -> None:
        if self.progress is not None:
            self.progress.stop()
        print(line, flush=True)
