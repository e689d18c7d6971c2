"""What the runner shows: a progress bar and coloured diffs on a terminal, one line per failure
otherwise; the last line is always ``N passed, N failed, N skipped``."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax

from toolkit.refs.runner import Outcome


class Reporter:
    def __init__(self, recording: bool = False, console: Console | None = None) -> None:
        self.recording = recording  # failures that recording fixes are not news then
        self.console = console or Console(highlight=False)
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def start(self, total: int) -> None:
        if self.console.is_terminal and total:
            self.progress = Progress(TextColumn("references"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=self.console, transient=True)
            self.task = self.progress.add_task("run", total=total)
            self.progress.start()

    def outcome(self, outcome: Outcome) -> None:
        """A run ended: progress, and what went wrong."""
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
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
