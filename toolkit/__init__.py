"""toolkit: fast, isolated, shardable database integration tests."""

from toolkit.core import Clone, Template, clone, create_clone, drop, ensure_template, gc, status
from toolkit.errors import ToolkitError
from toolkit.settings import Settings

__version__ = "0.1.0"
__all__ = ["Clone", "Settings", "Template", "ToolkitError", "clone", "create_clone", "drop",
           "ensure_template", "gc", "status"]
