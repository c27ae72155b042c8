"""Where the library keeps files of its own: the cache of generated data and prepared volumes."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$DOMAINSSL_CACHE`` or ``~/.cache/domainssl``: rendered synthetic worlds, prepared volumes."""
    return Path(os.environ.get("DOMAINSSL_CACHE", Path.home() / ".cache" / "domainssl"))
