"""hookgate: the command line that composes gateway, relay, storage and verifiers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hookgate")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
