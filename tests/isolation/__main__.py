"""Print the README's table of an engine's corpus: python -m tests.isolation ENGINE."""

import importlib
import sys

from tests.isolation import harness

if len(sys.argv) != 2 or sys.argv[1] not in ("sqlite", "postgresql", "mysql"):
    sys.exit("usage: python -m tests.isolation sqlite|postgresql|mysql")
print(harness.table(importlib.import_module(f"tests.isolation.{sys.argv[1]}").CORPUS))
