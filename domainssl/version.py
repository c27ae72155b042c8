"""The installed package's version (``"0.0.0+unknown"`` when run from a source tree without install)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("domainssl")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"
