"""One self-contained HTML page of a run (``toolkit report FILES -o report.html``): what each
shard, the reference runner and the pool wrote, merged and shown — a summary per engine, a
timeline of every worker, the slowest tests, each failure with its coloured diff and the
command that reproduces it, FLAKY tests with their seeds and draws, the pool's waits and a
crashed server's log.

It reads toolkit's results files (``--toolkit-report`` / ``--report`` write one beside the
page), JUnit XML from any runner, the reference runner's ``--json``, ``.toolkit/timings.json``
and ``.toolkit/durations.json``; a directory stands for the files in it. The page needs no
network: its style and script are inline, and its Content-Security-Policy forbids any
request."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from toolkit.errors import ToolkitError

FORMAT = 1  # the results file's version
FAILING = ("failed", "error", "not run")
OUTCOMES = ("passed", "failed", "error", "flaky", "skipped", "not run", "xfailed", "xpassed")
DETAIL_CHARS = 20_000  # of one failure's text: a runaway log must not make the page huge
DETAILED = 200  # failures shown whole; the rest by their one line (a broken run's page stays
# small enough to open)
_REPEAT = re.compile(r"(\[run\d+\]|-run\d+(?=\]))$")  # --toolkit-repeat's run ids


class ReportError(ToolkitError):
    pass


@dataclasses.dataclass
class Test:
    id: str
    outcome: str
    duration: float
    start: float | None = None  # epoch seconds
    worker: str = ""
    message: str = ""  # one line
    detail: str = ""  # the diff, the traceback, the server's log
    reproduce: str = ""  # a command that runs it again as it ran
    draw: str = ""  # its random settings
    seed: int | None = None
    sections: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    pool: dict[str, Any] | None = None  # wait_s, handover_s, drop_s, hit, reused

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "", [])}


@dataclasses.dataclass
class Source:
    """One run that wrote results: a shard, the references, a JUnit file."""

    label: str
    kind: str  # pytest | references | junit
    engine: str = ""
    seed: int | None = None
    started: float | None = None
    finished: float | None = None
    tests: list[Test] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def wall(self) -> float:
        if self.started is not None and self.finished is not None:
            return max(0.0, self.finished - self.started)
        return sum(t.duration for t in self.tests)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in dataclasses.asdict(self).items() if k != "tests"}
        return {"toolkit_results": FORMAT, **data, "tests": [t.as_dict() for t in self.tests]}


@dataclasses.dataclass
class Run:
    sources: list[Source] = dataclasses.field(default_factory=list)
    stored: dict[str, float] = dataclasses.field(default_factory=dict)  # durations.json
    inputs: list[str] = dataclasses.field(default_factory=list)

    @property
    def tests(self) -> list[Test]:
        return [t for s in self.sources for t in s.tests]


def write_results(source: Source, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(source.as_dict(), separators=(",", ":")) + "\n")
    tmp.replace(path)  # a reader (the merge job) never sees half a file


def data_path(page: Path) -> Path:
    """Where a page's results file goes: beside it, ``NAME.json`` for ``NAME.html``."""
    if page.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"--report {page}: give the page's path, ending in .html (its data "
                          f"is written beside it as {page.with_suffix('.json').name})")
    return page.with_suffix(".json")


def write(source: Source, page: Path) -> Path:
    """A run's page and its results file beside it (for ``toolkit report`` to merge)."""
    write_results(source, data_path(page))
    render_to(load([data_path(page)]), page)
    return page


# --- reading ---------------------------------------------------------------------------------

def load(paths: Sequence[Path]) -> Run:
    run = Run()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".json", ".xml")
                            and p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise ReportError(f"{path}: no such file or directory (give results files, JUnit "
                              "XML, timings.json, durations.json or directories holding them)")
    timings: dict[str, dict[str, Any]] = {}
    for file in files:
        kind = _read(file, run, timings)
        if kind:
            run.inputs.append(f"{file.name} ({kind})")
    if not run.sources and not run.stored:
        raise ReportError(f"nothing to report in {', '.join(map(str, paths))}: no results "
                          "file, JUnit XML or reference runner JSON was found (write one with "
                          "`--report PATH` or pytest's --junitxml)")
    for test in run.tests:  # timings.json: the pool's figures for tests that lack them
        if test.pool is None and test.id in timings:
            test.pool = timings[test.id]
    return run


def _read(file: Path, run: Run, timings: dict[str, dict[str, Any]]) -> str | None:
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{file}: cannot read it ({exc})") from exc
    if file.suffix == ".xml":
        if "<testsuite" not in text:
            return None
        run.sources.extend(_junit(file, text))
        return "JUnit XML"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"{file}: not JSON ({exc.args[0]})") from exc
    if isinstance(data, dict) and data.get("toolkit_results"):
        run.sources.append(_source(data))
        return f"results of {run.sources[-1].label}"
    if isinstance(data, list) and all(isinstance(d, dict) and {"name", "status"} <= d.keys()
                                      for d in data):
        run.sources.append(Source(file.stem, "references", tests=[
            Test(d["name"], d["status"], float(d.get("duration", 0)), message=d.get("reason", ""))
            for d in data]))
        return "reference runner JSON"
    if isinstance(data, dict) and isinstance(data.get("tests"), dict) and "hit_rate" in data:
        timings.update(data["tests"])
        return "pool timings"
    if isinstance(data, dict) and isinstance(data.get("tests"), dict):
        run.stored.update({k: float(v) for k, v in data["tests"].items()
                           if isinstance(v, (int, float))})
        return "stored durations"
    return None  # some other JSON in a directory given whole


def _source(data: dict[str, Any]) -> Source:
    fields = {f.name for f in dataclasses.fields(Test)}
    tests = [Test(**{k: v for k, v in t.items() if k in fields}) for t in data.get("tests", [])]
    for test in tests:
        test.sections = [tuple(s) for s in test.sections]  # type: ignore[misc]
    return Source(data.get("label", "run"), data.get("kind", "pytest"), data.get("engine", ""),
                  data.get("seed"), data.get("started"), data.get("finished"), tests,
                  list(data.get("problems", [])))


def _junit(file: Path, text: str) -> list[Source]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ReportError(f"{file}: not well-formed XML ({exc})") from exc
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    sources = []
    for suite in suites:
        label = suite.get("name") or file.stem
        if label == "pytest":  # pytest names every suite so: the file says which run it was
            label = file.stem
        source = Source(label, "junit")
        for case in suite.iter("testcase"):
            name = case.get("name", "?")
            classname = case.get("classname", "")
            test = Test(f"{classname}::{name}" if classname and classname != label else name,
                        "passed", float(case.get("time") or 0))
            for child in case:
                if child.tag in ("failure", "error"):
                    test.outcome = "failed" if child.tag == "failure" else "error"
                    if child.get("type") in ("flaky", "not run"):
                        test.outcome = child.get("type", "failed")
                    test.message = child.get("message", "")
                    test.detail = (child.text or "")[:DETAIL_CHARS]
                elif child.tag == "skipped":
                    test.outcome = "skipped"
                    test.message = child.get("message", "")
            source.tests.append(test)
        sources.append(source)
    return sources


# --- what the page shows ---------------------------------------------------------------------

def counts(tests: Iterable[Test]) -> dict[str, int]:
    found = {o: 0 for o in OUTCOMES}
    for test in tests:
        found[test.outcome] = found.get(test.outcome, 0) + 1
    return found


def flaky_groups(run: Run) -> list[tuple[str, list[Test], list[Test]]]:
    """Repeated runs (``[runN]``) whose outcomes disagree: (test, failing runs, all runs);
    the reference runner's FLAKY tests come as one test each."""
    groups: dict[str, list[Test]] = {}
    for test in run.tests:
        if test.outcome == "flaky":
            groups[test.id] = [test]
        elif _REPEAT.search(test.id):
            groups.setdefault(_REPEAT.sub("", test.id), []).append(test)
    found = []
    for name, runs in sorted(groups.items()):
        failing = [t for t in runs if t.outcome in FAILING or t.outcome == "flaky"]
        if runs[0].outcome == "flaky" or (failing and any(t.outcome == "passed" for t in runs)):
            found.append((name, failing, runs))
    return found


def _lanes(source: Source) -> list[tuple[str, list[Test]]]:
    """The source's timeline rows: one per worker when it says so, else the fewest rows in
    which no two tests overlap."""
    timed = sorted((t for t in source.tests if t.start is not None),
                   key=lambda t: t.start or 0.0)
    if all(t.worker for t in timed):
        by: dict[str, list[Test]] = {}
        for test in timed:
            by.setdefault(test.worker, []).append(test)
        return sorted(by.items())
    rows: list[tuple[str, list[Test]]] = []
    ends: list[float] = []
    for test in timed:
        start = test.start or 0.0
        for i, end in enumerate(ends):
            if end <= start + 1e-3:
                rows[i][1].append(test)
                ends[i] = start + test.duration
                break
        else:
            rows.append((f"worker {len(rows) + 1}", [test]))
            ends.append(start + test.duration)
    return rows


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- rendering -------------------------------------------------------------------------------

def render_to(run: Run, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render(run))
    tmp.replace(out)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _seconds(value: float) -> str:
    if value >= 60:
        return f"{int(value // 60)}m {value % 60:04.1f}s"
    return f"{value:.2f}s" if value < 10 else f"{value:.1f}s"


def _ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def colour_diff(text: str) -> str:
    """The text with a unified diff's and pytest's ``E  +``/``E  -`` lines coloured."""
    out = []
    for line in text.splitlines():
        body = line[1:].lstrip() if line.startswith("E ") else None
        if line.startswith("@@"):
            cls = "hunk"
        elif line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("+") or (body is not None and body.startswith("+ ")):
            cls = "add"
        elif line.startswith("-") or (body is not None and body.startswith("- ")):
            cls = "del"
        else:
            cls = ""
        out.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "\n".join(out)


def render(run: Run) -> str:
    tests = run.tests
    found = counts(tests)
    flaky = flaky_groups(run)
    flaky_names = {name for name, _, _ in flaky}
    wall = _wall(run)
    parts = [_summary(run, found, len(flaky), wall), _engines(run), _timeline_section(run),
             _slowest(tests), _failures(run, flaky_names), _flaky(flaky), _pool(tests),
             _servers(tests), _all_tests(run)]
    generated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    title = f"toolkit report: {found['passed']} passed, " \
            f"{sum(found[o] for o in FAILING)} failed"
    return PAGE.format(title=_e(title), csp=CSP, css=CSS, js=JS, generated=_e(generated),
                       body="\n".join(p for p in parts if p),
                       inputs=_e(", ".join(run.inputs)))


def _wall(run: Run) -> float:
    starts = [s.started for s in run.sources if s.started is not None]
    ends = [s.finished for s in run.sources if s.finished is not None]
    if starts and ends and len(starts) == len(run.sources):
        return max(ends) - min(starts)
    return sum(s.wall for s in run.sources)


def _summary(run: Run, found: dict[str, int], flaky: int, wall: float) -> str:
    failing = sum(found[o] for o in FAILING)
    cards = [("passed", found["passed"], "ok"), ("failed", failing, "bad" if failing else "ok"),
             ("flaky", flaky, "warn" if flaky else "ok"), ("skipped", found["skipped"], ""),
             ("not run", found["not run"], "bad" if found["not run"] else ""),
             ("wall time", _seconds(wall), "")]
    html_cards = "".join(f'<div class="card {cls}" data-count="{_e(name)}"><b>{_e(value)}'
                         f'</b><span>{_e(name)}</span></div>' for name, value, cls in cards)
    problems = [p for s in run.sources for p in s.problems]
    listed = "".join(f"<li>{_e(p)}</li>" for p in problems)
    stored = (f'<p class="muted">stored durations: {len(run.stored)} tests, '
              f'{_seconds(sum(run.stored.values()))} in all (what the next split is planned '
              'on)</p>') if run.stored else ""
    return (f'<section id="summary"><div class="cards">{html_cards}</div>'
            + (f'<h3>Problems</h3><ul class="problems">{listed}</ul>' if problems else "")
            + stored + "</section>")


def _engines(run: Run) -> str:
    rows = []
    for source in run.sources:
        c = counts(source.tests)
        rows.append(
            f"<tr><td>{_e(source.label)}</td><td>{_e(source.engine or '-')}</td>"
            f"<td>{len(source.tests)}</td><td>{c['passed']}</td>"
            f"<td>{sum(c[o] for o in FAILING)}</td><td>{c['flaky']}</td>"
            f"<td>{c['skipped']}</td><td>{_seconds(source.wall)}</td>"
            f"<td>{'' if source.seed is None else source.seed}</td></tr>")
    engines: dict[str, list[Test]] = {}
    for source in run.sources:
        engines.setdefault(source.engine or "-", []).extend(source.tests)
    per_engine = "".join(
        f"<tr><td>{_e(engine)}</td><td>{len(ts)}</td><td>{counts(ts)['passed']}</td>"
        f"<td>{sum(counts(ts)[o] for o in FAILING)}</td>"
        f"<td>{_seconds(sum(t.duration for t in ts))}</td></tr>"
        for engine, ts in sorted(engines.items()))
    return ('<section id="runs"><h2>Runs</h2><table><tr><th>run</th><th>engine</th>'
            '<th>tests</th><th>passed</th><th>failed</th><th>flaky</th><th>skipped</th>'
            f'<th>wall</th><th>seed</th></tr>{"".join(rows)}</table>'
            '<h3>Per engine</h3><table><tr><th>engine</th><th>tests</th><th>passed</th>'
            f'<th>failed</th><th>test time</th></tr>{per_engine}</table></section>')


def _timeline_section(run: Run) -> str:
    if not any(t.start is not None for t in run.tests):
        return ('<section id="timeline"><h2>Timeline</h2><p class="muted">the inputs have no '
                'start times (JUnit XML): toolkit\'s results files do</p></section>')
    return ('<section id="timeline"><h2>Timeline</h2><p class="muted">one row per worker of '
            'each run; hover a bar for the test</p><div id="timeline-chart"></div></section>')


def _slowest(tests: list[Test], most: int = 20) -> str:
    rows = "".join(f"<tr><td>{_seconds(t.duration)}</td><td>{_e(t.outcome)}</td>"
                   f"<td class=id>{_e(t.id)}</td></tr>"
                   for t in sorted(tests, key=lambda t: -t.duration)[:most])
    return (f'<section id="slowest"><h2>Slowest tests</h2><table><tr><th>time</th>'
            f'<th>outcome</th><th>test</th></tr>{rows}</table></section>')


def _failures(run: Run, flaky: set[str]) -> str:
    failing = [(source, test) for source in run.sources for test in source.tests
               if test.outcome in FAILING and _REPEAT.sub("", test.id) not in flaky]
    if not failing:
        return '<section id="failures"><h2>Failures</h2><p>none</p></section>'
    items = [_failure(source, test) for source, test in failing[:DETAILED]]
    rest = "".join(f"<li><span class=id>{_e(t.id)}</span>: {_e(t.message)}</li>"
                   for _, t in failing[DETAILED:])
    more = (f"<h3>{len(failing) - DETAILED} more failures, by their first line</h3>"
            f"<ul>{rest}</ul>") if rest else ""
    return (f'<section id="failures"><h2>Failures ({len(failing)})</h2>{"".join(items)}'
            f'{more}</section>')


def _failure(source: Source, test: Test) -> str:
    detail = (f'<pre class="diff">{colour_diff(test.detail[:DETAIL_CHARS])}</pre>'
              if test.detail else "")
    sections = "".join(f"<h4>{_e(name)}</h4><pre>{_e(text[:DETAIL_CHARS])}</pre>"
                       for name, text in test.sections)
    again = (f'<p>reproduce: <code class="reproduce">{_e(test.reproduce)}</code></p>'
             if test.reproduce else "")
    draw = f"<p>random settings: <code>{_e(test.draw)}</code></p>" if test.draw else ""
    return (f'<details class="failure" open><summary><span class="tag {_e(test.outcome)}">'
            f'{_e(test.outcome.upper())}</span> <span class=id>{_e(test.id)}</span> '
            f'<span class="muted">{_e(source.label)}, {_seconds(test.duration)}</span>'
            f'</summary><p class="message">{_e(test.message)}</p>{again}{draw}{detail}'
            f'{sections}</details>')


def _flaky(groups: list[tuple[str, list[Test], list[Test]]]) -> str:
    if not groups:
        return ""
    items = []
    for name, failing, runs in groups:
        if runs[0].outcome == "flaky":  # the reference runner: its runs are in the detail
            test = runs[0]
            body = (f'<p class="message">{_e(test.message)}</p>'
                    + (f'<p>reproduce: <code class="reproduce">{_e(test.reproduce)}</code>'
                       '</p>' if test.reproduce else "")
                    + f'<pre class="diff">{colour_diff(test.detail[:DETAIL_CHARS])}</pre>')
            head = test.message.split(":", 1)[0]
        else:
            head = f"failed {len(failing)} of {len(runs)} runs"
            body = "".join(
                f'<div class="run"><span class=id>{_e(t.id)}</span>'
                + (f" seed {t.seed}" if t.seed is not None else "")
                + (f"<p>random settings: <code>{_e(t.draw)}</code></p>" if t.draw else "")
                + (f'<p>reproduce: <code class="reproduce">{_e(t.reproduce)}</code></p>'
                   if t.reproduce else "")
                + f'<p class="message">{_e(t.message)}</p></div>' for t in failing)
        items.append(f'<details class="flaky" open><summary><span class="tag flaky">FLAKY'
                     f'</span> <span class=id>{_e(name)}</span> <span class="muted">'
                     f'{_e(head)}</span></summary>{body}</details>')
    return f'<section id="flaky"><h2>FLAKY ({len(groups)})</h2>{"".join(items)}</section>'


def _pool(tests: list[Test]) -> str:
    pooled = [t.pool for t in tests if t.pool and "wait_s" in t.pool]
    if not pooled:
        return ""
    rows = []
    for key, label in (("wait_s", "wait for a clone"), ("handover_s", "hand-over"),
                       ("drop_s", "drop / hand-back")):
        values = [float(p.get(key, 0.0)) for p in pooled]
        rows.append(f"<tr><td>{label}</td><td>{_ms(percentile(values, 0.5))}</td>"
                    f"<td>{_ms(percentile(values, 0.95))}</td><td>{_ms(max(values))}</td>"
                    f"<td>{_histogram(values)}</td></tr>")
    hits = sum(bool(p.get("hit")) for p in pooled)
    reused = sum(bool(p.get("reused")) for p in pooled)
    return (f'<section id="pool"><h2>Clone pool</h2><p>hit rate <b>{hits}/{len(pooled)}</b> '
            f'({100 * hits / len(pooled):.0f}%): a clone was ready when the test asked; '
            f'reused <b>{reused}/{len(pooled)}</b> ({100 * reused / len(pooled):.0f}%): reset '
            'and handed out again</p><table><tr><th></th><th>p50</th><th>p95</th><th>max</th>'
            f'<th>distribution</th></tr>{"".join(rows)}</table></section>')


def _histogram(values: list[float], bins: int = 12) -> str:
    """An inline SVG histogram of ``values`` on a log-like scale of milliseconds."""
    edges = [0.0005 * 2 ** i for i in range(bins)]  # 0.5 ms … ~1 s
    heights = [0] * bins
    for value in values:
        i = next((i for i, edge in enumerate(edges) if value < edge), bins - 1)
        heights[i] += 1
    top = max(heights) or 1
    bars = "".join(f'<rect x="{i * 10}" y="{30 - 30 * h / top:.1f}" width="9" '
                   f'height="{30 * h / top:.1f}"><title>&lt; {edges[i] * 1000:g} ms: {h}'
                   '</title></rect>' for i, h in enumerate(heights))
    return f'<svg class="hist" width="{bins * 10}" height="30">{bars}</svg>'


def _servers(tests: list[Test]) -> str:
    logs = [(t, t.detail) for t in tests if "server's log" in t.detail
            or "server died" in t.message]
    logs += [(t, text) for t in tests for name, text in t.sections if "log" in name]
    if not logs:
        return ""
    items = "".join(f"<details open><summary>{_e(t.id)}: {_e(t.message[:200])}</summary>"
                    f"<pre>{_e(text[-DETAIL_CHARS:])}</pre></details>" for t, text in logs)
    return f'<section id="servers"><h2>Server and cluster logs</h2>{items}</section>'


def _all_tests(run: Run) -> str:
    """Every test, as data the page's script draws into the timeline and the filtered table:
    a 5,000-test run stays well under 2 MB."""
    origin = min((t.start for t in run.tests if t.start is not None), default=0.0)
    lanes: list[str] = []
    rows: list[list[Any]] = []
    for source in run.sources:
        lane_of: dict[int, int] = {}
        for label, members in _lanes(source):
            lanes.append(f"{source.label} · {label}")
            for test in members:
                lane_of[id(test)] = len(lanes) - 1
        for test in source.tests:
            lane = lane_of.get(id(test), -1)
            start = round(test.start - origin, 3) if test.start is not None else -1
            rows.append([test.id, test.outcome, round(test.duration, 4), start, lane,
                         source.label])
    data = json.dumps({"lanes": lanes, "tests": rows}, separators=(",", ":"))
    data = data.replace("</", "<\\/")  # no "</script>" inside the script element
    return ('<section id="tests"><h2>All tests</h2><p><input id="filter" '
            'placeholder="filter by name" size="40"> <select id="outcome"><option value="">'
            'every outcome</option>' + "".join(f"<option>{o}</option>" for o in OUTCOMES)
            + '</select> <span id="shown" class="muted"></span></p><table id="all"><thead>'
            '<tr><th>outcome</th><th>time</th><th>run</th><th>test</th></tr></thead><tbody>'
            f'</tbody></table><script type="application/json" id="data">{data}</script>'
            '</section>')


# no request of any kind: what the page shows is in it
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:")
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><header><h1>{title}</h1><p class="muted">generated {generated} from {inputs}</p></header>
<nav><a href="#summary">summary</a> <a href="#timeline">timeline</a> <a href="#slowest">slowest</a>
<a href="#failures">failures</a> <a href="#flaky">flaky</a> <a href="#pool">pool</a>
<a href="#tests">all tests</a></nav>
{body}
<script>{js}</script></body></html>
"""

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 2em 3em;color:#1d2330;background:#fbfbfd}
h1{font-size:1.5em;margin:.8em 0 .1em}h2{margin-top:1.6em;border-bottom:1px solid #dde}
.muted{color:#667}nav a{margin-right:1em}table{border-collapse:collapse;margin:.4em 0}
td,th{padding:2px 10px;border-bottom:1px solid #e4e4ee;text-align:left;vertical-align:top}
.id{font-family:ui-monospace,monospace;word-break:break-all}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin-top:1em}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:.6em 1.2em;min-width:6em}
.card b{display:block;font-size:1.8em}.card.ok b{color:#1a7f37}.card.bad b{color:#cf222e}
.card.warn b{color:#bf8700}
details{background:#fff;border:1px solid #dde;border-radius:6px;margin:.6em 0;padding:.4em .8em}
summary{cursor:pointer}pre{background:#f3f3f8;padding:.6em;overflow:auto;max-height:30em}
.diff .add{color:#1a7f37;background:#e6ffec}.diff .del{color:#cf222e;background:#ffebe9}
.diff .hunk{color:#8250df}.diff .file{font-weight:bold}
.tag{font-weight:bold;padding:0 .4em;border-radius:4px;color:#fff;background:#cf222e}
.tag.flaky{background:#bf8700}.tag.passed{background:#1a7f37}
code{background:#f3f3f8;padding:1px 4px;border-radius:3px}
svg.hist rect{fill:#5470c6}#timeline-chart{overflow-x:auto}
#timeline-chart text{font:11px system-ui,sans-serif;fill:#445}
.o-passed{fill:#2da44e}.o-failed,.o-error,.o-not-run{fill:#cf222e}.o-flaky{fill:#bf8700}
.o-skipped,.o-xfailed,.o-xpassed{fill:#aab}
"""

# draws the timeline (SVG, one row per lane) and the table of every test, from #data
JS = """
(function(){
var data=JSON.parse(document.getElementById('data').textContent);
var NS='http://www.w3.org/2000/svg';
function el(tag,attrs,parent){var e=document.createElementNS(NS,tag);
 for(var k in attrs){e.setAttribute(k,attrs[k]);}if(parent){parent.appendChild(e);}return e;}
var chart=document.getElementById('timeline-chart');
if(chart){
 var end=0;data.tests.forEach(function(t){if(t[3]>=0){end=Math.max(end,t[3]+t[2]);}});
 var left=220,width=Math.max(600,(chart.clientWidth||1000)-left-20),row=18;
 var svg=el('svg',{width:left+width+10,height:data.lanes.length*row+24,'class':'timeline'},chart);
 data.lanes.forEach(function(name,i){
  var g=el('g',{'class':'lane','data-lane':name},svg);
  var label=el('text',{x:4,y:i*row+13},g);label.textContent=name;
  el('line',{x1:left,x2:left+width,y1:i*row+row-1,y2:i*row+row-1,stroke:'#eee'},g);});
 var scale=end>0?width/end:0;
 data.tests.forEach(function(t){if(t[4]<0||t[3]<0){return;}
  var r=el('rect',{x:(left+t[3]*scale).toFixed(1),y:t[4]*row+2,
   width:Math.max(1,t[2]*scale).toFixed(1),height:row-5,
   'class':'o-'+t[1].replace(' ','-')},svg);
  var tip=el('title',{},r);tip.textContent=t[0]+' ('+t[1]+', '+t[2].toFixed(3)+'s)';});
 var axis=el('text',{x:left,y:data.lanes.length*row+16},svg);
 axis.textContent='0 s';var axis2=el('text',{x:left+width-60,y:data.lanes.length*row+16},svg);
 axis2.textContent=end.toFixed(1)+' s';
}
var body=document.querySelector('#all tbody'),filter=document.getElementById('filter'),
 pick=document.getElementById('outcome'),shown=document.getElementById('shown');
function draw(){var text=filter.value.toLowerCase(),want=pick.value,n=0,rows=[];
 data.tests.forEach(function(t){if(want&&t[1]!==want){return;}
  if(text&&t[0].toLowerCase().indexOf(text)<0){return;}n++;rows.push(t);});
 body.textContent='';rows.forEach(function(t){var tr=document.createElement('tr');
  tr.className='row '+t[1].replace(' ','-');
  [t[1],t[2].toFixed(3)+'s',t[5],t[0]].forEach(function(v,i){
   var td=document.createElement('td');td.textContent=v;if(i===3){td.className='id';}
   tr.appendChild(td);});body.appendChild(tr);});
 shown.textContent=n+' of '+data.tests.length+' tests';}
filter.addEventListener('input',draw);pick.addEventListener('change',draw);
var hash=location.hash.match(/outcome=([a-z ]+)/);if(hash){pick.value=hash[1];}
draw();
})();
"""
