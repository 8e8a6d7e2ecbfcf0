"""meterbench: a hardware-in-the-loop test and verification bench for electricity meters.

Everything installs under this one import name. The repository keeps its top-level folders
(``bench/`` is this package, ``instruments/``, ``fixtures/`` and ``reports/`` its subpackages
``meterbench.instruments``, ``meterbench.fixtures`` and ``meterbench.reports``); pyproject.toml
maps them with a setuptools ``package-dir``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("meterbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
