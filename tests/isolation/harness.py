"""The isolation corpus's runner: every way a test can change its database, run one after the
other through ``toolkit_db`` on one pool (one worker), each test first comparing the clone it
got with a fresh clone of the template — the whole dump, plus what a dump leaves out
(database-level settings, the session the test is handed) — then making its change.

A clone's changes reach a later test only if the pool reset it and handed it out again, so
every test's first step is the check of what the one before it on that clone left. Writers
that outlive their test (a thread, a subprocess, each keeping a connection open) are told to
write again before every check: whatever reaches a reused clone is in it when it is compared.

Each step appends a JSON line to $TOOLKIT_CORPUS_RECORDS: the step, the clone, what differed.
``outcomes`` reads them back: a mutation's clone seen again later was reset and handed out
again; one never seen again was dropped."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

if TYPE_CHECKING:
    from toolkit.core import Clone, Template
    from toolkit.settings import Settings

RESET = "reset"  # reset, proved, handed out again
NEW = "new clone"  # dropped; the next test gets a new clone
TRAILING = 3  # check-only steps after the last mutation, so that its clone comes round again
POKE_S = 20.0  # for a writer to say it wrote (or could not)
# what a writer left behind does each time it is poked: a row the template never has
LATE = "INSERT INTO parent (id, name) SELECT coalesce(max(id), 0) + 1000, 'late' FROM parent"


@dataclasses.dataclass(frozen=True)
class Mutation:
    name: str
    expect: str  # RESET or NEW: what the README's table says of it
    what: str  # the change, as the README's table names it
    change: Callable[[Clone], None]


class Corpus(Protocol):
    kind: str
    revisions: list[str]
    mutations: list[Mutation]

    def look(self, db: Clone) -> dict[str, str]:
        """What a fresh clone must equal, part by part (the session ``db.engine`` hands out
        included)."""
        ...


# --- changes, as the corpora write them ------------------------------------------------


def run(*statements: str) -> Callable[[Clone], None]:
    """The statements in one transaction."""
    def change(db: Clone) -> None:
        with db.engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    return change


def each(*statements: str) -> Callable[[Clone], None]:
    """The statements one by one, outside a transaction (VACUUM, ALTER TYPE … ADD VALUE)."""
    def change(db: Clone) -> None:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                conn.execute(sa.text(statement))
    return change


def left_on_session(*statements: str) -> Callable[[Clone], None]:
    """The statements on the engine's connection, which goes back to its pool with what they
    left on the session (a setting, a lock, a temporary table)."""
    def change(db: Clone) -> None:
        with db.engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
            conn.commit()
    return change


def both(*changes: Callable[[Clone], None]) -> Callable[[Clone], None]:
    def change(db: Clone) -> None:
        for one in changes:
            one(db)
    return change


# --- writers that outlive their test ---------------------------------------------------


class Writer(Protocol):
    def poke(self) -> bool:
        """Write once more; False when it no longer can (its clone was dropped)."""
        ...

    def stop(self) -> None: ...


WRITERS: list[Writer] = []

WRITER_SCRIPT = f"""
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1], poolclass=sa.pool.NullPool)
conn = engine.connect()
print("ready", flush=True)
for _ in sys.stdin:
    try:
        conn.execute(sa.text({LATE!r}))
        conn.commit()
    except Exception as exc:
        print("failed", type(exc).__name__, flush=True)
        break
    print("wrote", flush=True)
"""


class ProcessWriter:
    """A process the test started that keeps a connection to the clone open past the test,
    and writes on it whenever it is poked."""

    def __init__(self, db: Clone) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, db.url.render_as_string(hide_password=False)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._answer() == "ready"

    def _answer(self) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], POKE_S)
        assert ready, "the writer process did not answer"
        return self.proc.stdout.readline().strip()

    def poke(self) -> bool:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return False
        return self._answer() == "wrote"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class ThreadWriter:
    """A thread the test started that keeps one of the clone engine's connections checked
    out past the test, and writes on it whenever it is poked."""

    def __init__(self, db: Clone) -> None:
        self.asks: queue.Queue[bool] = queue.Queue()
        self.answers: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, args=(db.engine,), daemon=True)
        self.thread.start()
        assert self.answers.get(timeout=POKE_S) == "ready"

    def _serve(self, engine: sa.Engine) -> None:
        conn = engine.connect()  # opened in this thread, used only here (SQLite's rule)
        self.answers.put("ready")
        while self.asks.get():
            try:
                conn.execute(sa.text(LATE))
                conn.commit()
            except Exception as exc:  # its clone dropped under it
                self.answers.put(f"failed {type(exc).__name__}")
                return
            self.answers.put("wrote")

    def poke(self) -> bool:
        if not self.thread.is_alive():
            return False
        self.asks.put(True)
        return self.answers.get(timeout=POKE_S) == "wrote"

    def stop(self) -> None:
        self.asks.put(False)
        self.thread.join(POKE_S)


def process_writer(db: Clone) -> None:
    WRITERS.append(ProcessWriter(db))


def thread_writer(db: Clone) -> None:
    WRITERS.append(ThreadWriter(db))


def stop_writers() -> None:
    while WRITERS:
        WRITERS.pop().stop()


def _poke_writers() -> None:
    for writer in list(WRITERS):
        if not writer.poke():
            WRITERS.remove(writer)
            writer.stop()


# --- the steps -------------------------------------------------------------------------


def steps(corpus: Corpus) -> list[str]:
    return [m.name for m in corpus.mutations] + [f"check-{i + 1}" for i in range(TRAILING)]


_REFERENCE: dict[str, dict[str, str]] = {}


def _reference(corpus: Corpus, settings: Settings, template: Template) -> dict[str, str]:
    """A fresh clone of the template, looked at once (a clone of its own, not the pool's)."""
    if corpus.kind not in _REFERENCE:
        from toolkit.core import clone

        with clone(settings, template) as fresh:
            _REFERENCE[corpus.kind] = corpus.look(fresh)
    return _REFERENCE[corpus.kind]


def step(corpus: Corpus, db: Clone, settings: Settings, template: Template, name: str) -> None:
    """Compare ``db`` with a fresh clone, record it, then make mutation ``name``."""
    _poke_writers()
    fresh = _reference(corpus, settings, template)
    now = corpus.look(db)
    leak = differences(fresh, now)
    record = {"step": name, "clone": db.name, "leak": leak}
    with open(os.environ["TOOLKIT_CORPUS_RECORDS"], "a") as out:
        out.write(json.dumps(record) + "\n")
    assert not leak, f"clone {db.name} is not the template:\n{leak}"
    mutations = {m.name: m for m in corpus.mutations}
    if name in mutations:
        mutations[name].change(db)


def differences(fresh: dict[str, str], now: dict[str, str]) -> str:
    out = []
    for part in sorted(fresh.keys() | now.keys()):
        if fresh.get(part) != now.get(part):
            diff = difflib.unified_diff((fresh.get(part) or "").splitlines(),
                                        (now.get(part) or "").splitlines(),
                                        "fresh clone", "clone handed out", lineterm="", n=1)
            out.append(f"[{part}]\n" + "\n".join(list(diff)[:40]))
    return "\n".join(out)


def outcomes(records: Iterable[dict[str, str]]) -> dict[str, str]:
    """Each step's outcome: RESET when its clone was handed out again later, else NEW."""
    done = list(records)
    return {r["step"]: RESET if any(later["clone"] == r["clone"] for later in done[i + 1:])
            else NEW for i, r in enumerate(done)}


def read(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def table(corpus: Corpus) -> str:
    """The README's table for this engine: each change, and what it costs."""
    lines = ["| change | after the test |", "|---|---|"]
    lines += [f"| {m.what} | {'reset, handed out again' if m.expect == RESET else 'a new clone'} |"
              for m in corpus.mutations]
    return "\n".join(lines)


# the test file the corpus runs as, in a project of its own
SUITE = """
import pytest

from tests.isolation import harness
from tests.isolation.{module} import CORPUS


@pytest.fixture(scope="session", autouse=True)
def _writers():
    yield
    harness.stop_writers()


@pytest.mark.parametrize("name", harness.steps(CORPUS))
def test_corpus(toolkit_db, toolkit_settings, toolkit_template, name):
    harness.step(CORPUS, toolkit_db, toolkit_settings, toolkit_template, name)
"""


GONE_S = 10.0  # for a dump's closed session to leave the server


def until_gone(count: Callable[[], int], before: int) -> None:
    """Wait (polled, bounded) until the sessions ``count`` sees are back to ``before``: the
    dump's closed session, still leaving, would cost the clone its reset (the proof waits
    0.2 s for other sessions), and the corpus asserts which changes are reset."""
    deadline = time.monotonic() + GONE_S
    while count() > before and time.monotonic() < deadline:
        time.sleep(0.005)  # a backend exiting after its client closed: polled, bounded


def normalized(text: str, name: str, placeholder: str = "CLONE") -> str:
    return text.replace(name, placeholder)


def sorted_blocks(lines: list[str], starts: Callable[[str], bool],
                  ends: Callable[[str], bool]) -> list[str]:
    """``lines`` with the lines of each block (rows of a table, in a dump) sorted: the order
    a table's rows are stored in is not what a test sees."""
    out: list[str] = []
    block: list[str] | None = None
    for line in lines:
        if block is not None and ends(line):
            out += sorted(block)
            block = None
        if block is not None:
            block.append(line)
            continue
        out.append(line)
        if starts(line):
            block = []
    return out + sorted(block or [])


def sorted_runs(lines: list[str], row: Callable[[str], bool]) -> list[str]:
    """``lines`` with each run of consecutive ``row`` lines sorted."""
    out: list[str] = []
    run_: list[str] = []
    for line in lines:
        if row(line):
            run_.append(line)
            continue
        out += sorted(run_) + [line]
        run_ = []
    return out + sorted(run_)
