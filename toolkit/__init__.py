"""toolkit: fast, isolated, shardable database integration tests."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Clone", "Settings", "Template", "ToolkitError", "clone", "create_clone", "drop",
           "enforce_foreign_keys", "ensure_template", "gc", "status"]

if TYPE_CHECKING:
    from toolkit.core import (
        Clone,
        Template,
        clone,
        create_clone,
        drop,
        enforce_foreign_keys,
        ensure_template,
        gc,
        status,
    )
    from toolkit.errors import ToolkitError
    from toolkit.settings import Settings

_HOMES = {"Settings": "toolkit.settings", "ToolkitError": "toolkit.errors"}


def __getattr__(name: str) -> Any:
    # imported on first use: the pytest plugin loads this package in every pytest run, and
    # SQLAlchemy and Alembic are only needed by projects that ask for a database
    if name in __all__:
        return getattr(importlib.import_module(_HOMES.get(name, "toolkit.core")), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
