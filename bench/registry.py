"""Extension points: meter models, instrument drivers and benches found through entry points.

meterbench registers its own register maps, SCPI drivers (with their simulators) and built-in
benches exactly the way a third-party package would, in its ``pyproject.toml``::

    [project.entry-points."meterbench.meter_models"]
    eastron_sdm630 = "meterbench.instruments.registers"   # package holding eastron_sdm630.toml

    [project.entry-points."meterbench.instruments"]
    fluke6105a = "meterbench.instruments.scpi.fluke6105a:INSTRUMENT"   # an InstrumentKind

    [project.entry-points."meterbench.benches"]
    sim = "meterbench.benches"                            # package holding sim.toml

A meter model or a bench is a TOML file named after the entry point, inside the package the entry
point names (read with :mod:`importlib.resources`, so zipped installs work). An instrument entry
point names an :class:`~meterbench.instruments.kinds.InstrumentKind` object: the driver, the roles
it can fill on a lab bench, its limits and its simulator.

This module depends on the standard library only, so every layer (the instruments layer
included) may use it. Lookups are cached per process; :func:`refresh` forgets them (tests that
install a distribution at run time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import EntryPoint, entry_points
from importlib.resources.abc import Traversable
from typing import Any

METER_MODELS = "meterbench.meter_models"
INSTRUMENTS = "meterbench.instruments"
BENCHES = "meterbench.benches"
GROUPS = (METER_MODELS, INSTRUMENTS, BENCHES)


class RegistryError(Exception):
    """An entry point is missing, duplicated or broken: says which group, name and distribution."""

    def __init__(self, message: str, *, group: str, name: str | None = None,
                 expected: str | None = None) -> None:
        self.group, self.name, self.expected = group, name, expected
        super().__init__(message)


@dataclass(frozen=True)
class Entry:
    """One registered name: where it comes from (the distribution) and what it points to."""

    group: str
    name: str
    value: str
    distribution: str

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"


@cache
def entries(group: str) -> dict[str, Entry]:
    """Every name registered in ``group``; a name claimed twice (by different values) is refused."""
    if group not in GROUPS:
        raise ValueError(f"unknown registry group {group!r}")
    found: dict[str, Entry] = {}
    for ep in entry_points(group=group):
        entry = Entry(group, ep.name, ep.value, _distribution(ep))
        other = found.get(ep.name)
        if other is not None and other.value != entry.value:
            raise RegistryError(f"{group} name {ep.name!r} is registered twice: by "
                                f"{other.distribution} ({other.value}) and by "
                                f"{entry.distribution} ({entry.value})", group=group,
                                name=ep.name, expected="one distribution per name")
        found[ep.name] = entry
    return found


def names(group: str) -> list[str]:
    return sorted(entries(group))


def entry(group: str, name: str, *, what: str) -> Entry:
    """The entry ``name`` of ``group``; an unknown name says which names exist."""
    found = entries(group)
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise RegistryError(f"unknown {what} {name!r}", group=group, name=name,
                            expected=f"one of {known} (or a package registering it under "
                                     f"the entry-point group {group!r})")
    return found[name]


def data_file(group: str, name: str, *, what: str) -> Traversable:
    """``<name>.toml`` in the package the entry point names (meter models, benches)."""
    e = entry(group, name, what=what)
    try:
        path = resources.files(e.module).joinpath(f"{name}.toml")
    except ModuleNotFoundError as exc:
        raise RegistryError(f"{what} {name!r} of {e.distribution} names package {e.module!r}, "
                            f"which cannot be imported ({exc})", group=group, name=name) from None
    if not path.is_file():
        raise RegistryError(f"{what} {name!r} of {e.distribution}: no {name}.toml in package "
                            f"{e.module!r}", group=group, name=name,
                            expected=f"a file {name}.toml beside {e.module}'s __init__.py")
    return path


def load_object(group: str, name: str, *, what: str) -> Any:
    """The object an entry point names (instrument kinds)."""
    e = entry(group, name, what=what)
    for ep in entry_points(group=group):
        if ep.name == name and ep.value == e.value:
            try:
                return ep.load()
            except Exception as exc:  # noqa: BLE001 - a third party's import error, said plainly
                raise RegistryError(f"{what} {name!r} of {e.distribution} cannot be loaded "
                                    f"({type(exc).__name__}: {exc})", group=group,
                                    name=name) from None
    raise RegistryError(f"{what} {name!r} vanished from the installed distributions",
                        group=group, name=name)  # pragma: no cover - installs changed mid-run


def refresh() -> None:
    """Forget cached lookups (after installing or removing a distribution in this process)."""
    entries.cache_clear()
