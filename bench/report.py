"""What `toolkit report` costs on a large run: 5,000 tests over four shards (two workers each)
and a reference run, 3 % failing with a diff and a traceback, repeated runs of some tests
disagreeing (FLAKY), each with the pool's timings. It times the command end to end (a new
process, as CI runs it: loading the files, rendering, writing) and weighs the page against
the JUnit XML the same run would write. Targets: under 2 MB and under 2 s.

    python -m bench.report [--tests 5000] [--reps 5]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.table import Table

from toolkit import report

TRACEBACK = """    def test_checkout(toolkit_db):
        order = place_order(toolkit_db, items=3)
>       assert order.total == expected_total(order)
E       AssertionError: assert Decimal('30.00') == Decimal('31.50')
E         - 31.50
E         + 30.00

tests/integration/test_checkout.py:{line}: AssertionError
"""
DIFF = "--- expected\n+++ actual\n@@ -1,4 +1,4 @@\n id\tname\n-1\tseed\n+1\tSeed\n 2\tx\n"


def synthetic(root: Path, tests: int, shards: int = 4, seed: int = 1) -> list[Path]:
    """Results files of a run of ``tests`` tests, and the JUnit XML of the same run."""
    rng = random.Random(seed)
    files, junit = [], ET.Element("testsuites")
    per = tests // (shards + 1)
    now = time.time()
    for s in range(shards + 1):
        refs = s == shards
        label = "references" if refs else f"shard {s + 1}/{shards}"
        clock = {"gw0": now, "gw1": now}
        source = report.Source(label, "references" if refs else "pytest", "postgresql",
                               rng.randrange(10**6), now)
        suite = ET.SubElement(junit, "testsuite", name=label)
        for i in range(per):
            worker = f"gw{i % 2}"
            duration = rng.lognormvariate(-3.5, 1.2)
            name = (f"{i:05d}_query_{rng.randrange(10**6):06d}" if refs else
                    f"tests/integration/test_module_{i // 40:03d}.py::test_case_{i:05d}"
                    f"[param-{rng.randrange(100)}]")
            roll = rng.random()
            outcome = "failed" if roll < 0.03 else "skipped" if roll < 0.05 else "passed"
            test = report.Test(name, outcome, round(duration, 6), clock[worker], worker)
            clock[worker] += duration
            if outcome == "failed":
                test.message = "AssertionError: assert Decimal('30.00') == Decimal('31.50')"
                test.detail = DIFF if refs else TRACEBACK.format(line=rng.randrange(400))
                test.reproduce = (f"toolkit refs.run -s {name}" if refs else
                                  f"python -m pytest '{name}'")
            if not refs:
                test.pool = {"wait_s": rng.expovariate(2000), "handover_s": 1e-5,
                             "drop_s": 2e-5, "hit": roll > 0.1, "reused": roll > 0.4}
            source.tests.append(test)
            case = ET.SubElement(suite, "testcase", classname=label, name=name,
                                 time=f"{duration:.3f}")
            if outcome == "failed":
                ET.SubElement(case, "failure", message=test.message).text = test.detail
            elif outcome == "skipped":
                ET.SubElement(case, "skipped", message="")
        source.finished = max(clock.values())
        path = root / f"{label.replace(' ', '-').replace('/', '-of-')}.json"
        report.write_results(source, path)
        files.append(path)
    ET.ElementTree(junit).write(root / "junit.xml", encoding="unicode")
    return files


def _browser(page: Path, root: Path) -> float | None:
    """Seconds for headless Chromium to open the page and run its script (None without
    Chromium)."""
    found = shutil.which("chromium")
    if not found:
        return None
    start = time.perf_counter()
    dom = subprocess.run([found, "--headless", "--no-sandbox", "--disable-gpu",
                          f"--user-data-dir={root / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True).stdout
    assert dom.count('<tr class="row') > 0, "the page's script drew no row"
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = synthetic(root, args.tests)
        out = root / "report.html"
        command = [sys.executable, "-m", "toolkit", "report", *map(str, files), "-o", str(out)]
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        report.render(report.load(files))
        in_process = time.perf_counter() - start
        drawn = _browser(out, root)
        size = out.stat().st_size
        inputs = sum(f.stat().st_size for f in files)
        junit = (root / "junit.xml").stat().st_size
        tests = len(report.load(files).tests)
    table = Table(title=f"toolkit report on {tests} tests ({args.reps} reps)")
    for column in ("what", "value", "÷ JUnit XML of the run", "target"):
        table.add_column(column, justify="right")
    table.add_row("JUnit XML of the same run", f"{junit / 1e6:.2f} MB", "1.00×", "")
    table.add_row("results files read", f"{inputs / 1e6:.2f} MB", f"{inputs / junit:.2f}×", "")
    table.add_row("report.html", f"{size / 1e6:.2f} MB", f"{size / junit:.2f}×",
                  f"< 2 MB {'✓' if size < 2e6 else '✗'}")
    p50 = statistics.median(times)
    table.add_row("`toolkit report` end to end, p50", f"{p50:.2f} s", "",
                  f"< 2 s {'✓' if p50 < 2 else '✗'}")
    table.add_row("`toolkit report` end to end, max", f"{max(times):.2f} s", "", "")
    table.add_row("load + render in process", f"{in_process:.2f} s", "", "")
    if drawn is not None:
        table.add_row("headless Chromium: start, open, draw every row", f"{drawn:.2f} s", "", "")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
