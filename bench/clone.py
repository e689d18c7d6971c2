"""Clone benchmark on a migration history (the example shop's 32 revisions; with
--histories shop,mlflow also MLflow 3.2.0's 33, see bench.histories), per engine, on toolkit's
own local servers: re-migrate from empty vs build / check / clone / drop; then the
unchanged-template check on a 33-revision copy of the shop whose last revision imports project
modules (about 10 discovered inputs), against its target.

    python -m bench.clone [--reps 30] [--engines sqlite,postgresql,mysql]
        [--histories shop,mlflow]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import histories
from toolkit import create_clone, ensure_template
from toolkit.core import resolve
from toolkit.engines import close_all, get_engine
from toolkit.marker import Marker
from toolkit.migrate import upgrade
from toolkit.servers import local
from toolkit.settings import Settings

SHOP = histories.SHOP
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


def measure(engine: str, url: str, reps: int, project: Path = SHOP) -> dict[str, float]:
    settings = Settings.load(project_dir=project, environ={}, database_url=url,
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


CATALOG_REVISION = '''
from alembic import op

from shop.catalog import {imports}

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE catalog_codes (code VARCHAR(20) PRIMARY KEY)")
    for code in sorted({{*{values}}}):
        op.execute(f"INSERT INTO catalog_codes VALUES ('{{code}}')")
'''
CHECK_TARGET_MS = 50.0


def shop_with_imports(tmp: Path, modules: int = 8) -> Path:
    """A copy of the shop with a 33rd revision that imports ``modules`` project modules."""
    root = tmp / "shop33"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".toolkit", "__pycache__"))
    catalog = root / "shop" / "catalog"
    catalog.mkdir()
    (catalog / "__init__.py").write_text("")
    for i in range(modules):
        (catalog / f"c{i}.py").write_text(f"CODES = ['c{i}a', 'c{i}b']\n")
    names = [f"c{i}" for i in range(modules)]
    (root / "migrations" / "versions" / "0033_catalog_codes.py").write_text(
        CATALOG_REVISION.format(imports=", ".join(names),
                                values=", *".join(f"{n}.CODES" for n in names)))
    return root


def measure_check(project: Path, url: str, reps: int) -> dict[str, float]:
    settings = Settings.load(project_dir=project, environ={}, database_url=url,
                             prefix=f"b{secrets.token_hex(2)}_")
    ensure_template(settings)
    found = resolve(settings)
    checks = [ms(lambda: ensure_template(settings)) for _ in range(reps)]
    get_engine(settings).drop(found.template.name)
    close_all()
    return {"inputs": len(found.inputs.items), "discovered": len(found.inputs.discovered),
            "check": statistics.median(checks), "max": max(checks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--engines", default="sqlite,postgresql,mysql")
    parser.add_argument("--histories", default="shop",
                        help="shop (32 revisions), mlflow (MLflow 3.2.0's 33): bench.histories")
    args = parser.parse_args()
    table = Table(title=f"toolkit clone benchmark, {args.reps} reps, ms")
    for column in ("history", "engine", "re-migrate", "template build", "unchanged check",
                   "clone p50", "clone p95", "drop p50", "re-migrate ÷ clone", "target"):
        table.add_column(column, justify="right")
    checks = Table(title=f"unchanged-template check: 33 revisions importing project modules, "
                         f"{args.reps} reps, ms")
    for column in ("engine", "inputs", "discovered", "check p50", "check max", "target"):
        checks.add_column(column, justify="right")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        shop33 = shop_with_imports(tmp)
        projects = {h: histories.project(h, tmp) for h in args.histories.split(",")}
        for engine in args.engines.split(","):
            url = stack.enter_context(server(engine, tmp))
            c = measure_check(shop33, url, args.reps)
            checks.add_row(engine, str(c["inputs"]), str(c["discovered"]), f"{c['check']:.2f}",
                           f"{c['max']:.2f}", f"≤{CHECK_TARGET_MS:g} ms "
                           f"{'✓' if c['check'] <= CHECK_TARGET_MS else '✗'}")
            for history, project in projects.items():
                r = measure(engine, url, args.reps, project)
                limit, ratio = TARGETS[engine]
                met = r["clone_p50"] <= limit and r["remigrate"] / r["clone_p50"] >= ratio
                table.add_row(f"{history} ({histories.revisions(project)} revisions)", engine,
                              *(f"{r[k]:.2f}" for k in ("remigrate", "build", "check",
                                                        "clone_p50", "clone_p95", "drop_p50")),
                              f"{r['remigrate'] / r['clone_p50']:.0f}×",
                              f"≤{limit:g} ms, ≥{ratio}× {'✓' if met else '✗'}")
    Console(width=160).print(table)
    Console(width=160).print(checks)


if __name__ == "__main__":
    main()
