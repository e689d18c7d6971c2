"""Clone benchmark on the example shop's 32-revision history, per engine, on toolkit's own
local servers: re-migrate from empty vs build / check / clone / drop.

    python -m bench.clone [--reps 30] [--engines sqlite,postgresql,mysql]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toolkit import create_clone, ensure_template
from toolkit.engines import close_all, get_engine
from toolkit.marker import Marker
from toolkit.migrate import upgrade
from toolkit.servers import local
from toolkit.settings import Settings

SHOP = Path(__file__).resolve().parent.parent / "examples" / "shop"
TARGETS = {"sqlite": (1.0, 200), "postgresql": (25.0, 10), "mysql": (80.0, 8)}


def ms(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@contextmanager
def server(engine: str, tmp: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp}/dbs/toolkit.sqlite"
        return
    with local.running("postgres" if engine == "postgresql" else "mariadb") as srv:
        yield srv.url


def measure(engine: str, url: str, reps: int) -> dict[str, float]:
    settings = Settings.load(project_dir=SHOP, environ={}, database_url=url,
                             prefix=f"b{secrets.token_hex(2)}_")
    db = get_engine(settings)

    def remigrate() -> None:
        name = f"{settings.prefix}empty_{secrets.token_hex(3)}"
        db.create(name, Marker.new("clone", "bench", "bench"))
        try:
            upgrade(settings, db.database_url(name))
        finally:
            db.drop(name)

    build = ms(lambda: ensure_template(settings))
    tpl = ensure_template(settings)
    checks = [ms(lambda: ensure_template(settings)) for _ in range(reps)]
    remigrations = [ms(remigrate) for _ in range(max(5, reps // 6))]
    clones, drops = [], []
    made: list[str] = []
    for _ in range(reps):
        clones.append(ms(lambda: made.append(create_clone(settings, tpl).name)))
        drops.append(ms(lambda: db.drop(made[-1])))
    db.drop(tpl.name)
    close_all()
    return {"remigrate": statistics.median(remigrations), "build": build,
            "check": statistics.median(checks), "clone_p50": statistics.median(clones),
            "clone_p95": pct(clones, 95), "drop_p50": statistics.median(drops)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--engines", default="sqlite,postgresql,mysql")
    args = parser.parse_args()
    table = Table(title=f"toolkit clone benchmark: example shop (32 revisions), {args.reps} reps, ms")
    for column in ("engine", "re-migrate", "template build", "unchanged check", "clone p50",
                   "clone p95", "drop p50", "re-migrate ÷ clone", "target"):
        table.add_column(column, justify="right")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for engine in args.engines.split(","):
            url = stack.enter_context(server(engine, tmp))
            r = measure(engine, url, args.reps)
            limit, ratio = TARGETS[engine]
            met = r["clone_p50"] <= limit and r["remigrate"] / r["clone_p50"] >= ratio
            table.add_row(engine, *(f"{r[k]:.2f}" for k in ("remigrate", "build", "check",
                                                              "clone_p50", "clone_p95",
                                                              "drop_p50")),
                          f"{r['remigrate'] / r['clone_p50']:.0f}×",
                          f"≤{limit:g} ms, ≥{ratio}× {'✓' if met else '✗'}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
