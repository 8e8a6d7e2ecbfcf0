"""meterbench core: configuration, clock, store, acquisition, pipeline, sampling, DataHub, CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("meterbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
