"""Settings that must not change a correct test's result, only expose what it silently assumes
(row order without ORDER BY, plan shapes, block sizes), one data module per engine. A test
draws one value of each at random; the draw is reproducible from the seed and the test's name."""

from __future__ import annotations

import importlib
import random
import re

Draw = tuple[tuple[str, str], ...]


def choices(engine: str) -> dict[str, tuple[str, ...]]:
    return dict(importlib.import_module(f"toolkit.refs.random_settings.{engine}").SETTINGS)


def draw(engine: str, seed: int, test: str, run: int = 0) -> Draw:
    """One value for each of the engine's settings, the same for the same seed, test and run
    (then whatever the engine's module adjusts in combination)."""
    rng = random.Random(f"{seed}:{test}:{run}")
    drawn = tuple((name, rng.choice(values)) for name, values in sorted(choices(engine).items()))
    module = importlib.import_module(f"toolkit.refs.random_settings.{engine}")
    adjust = getattr(module, "adjust", None)
    return tuple(adjust(drawn)) if adjust else drawn


def text(settings: Draw) -> str:
    return ", ".join(f"{name}={value}" for name, value in settings)


def statement(engine: str, name: str, value: str) -> str:
    """The SQL that sets one drawn setting on a SQLite or MariaDB/MySQL connection. Names and
    values come from toolkit's own lists, never from a test; checked anyway, as they are
    pasted (PRAGMA takes no parameters, and the MariaDB connections of reference tests have no
    converters to bind them with)."""
    if engine == "sqlite":
        return f"PRAGMA {_checked(name, value)[0]} = {int(value)}"
    return "SET SESSION " + assignments(settings=((name, value),))


def assignments(settings: Draw) -> str:
    """``a = 1, b = 'x'``: MariaDB/MySQL settings for one SET SESSION (or --init-command)."""
    return ", ".join(f"{name} = " + (value if value.isdigit() else f"'{value}'")
                     for name, value in (_checked(n, v) for n, v in settings))


def _checked(name: str, value: str) -> tuple[str, str]:
    assert re.fullmatch(r"\w+", name) and re.fullmatch(r"[\w=,-]+", value), (name, value)
    return name, value
