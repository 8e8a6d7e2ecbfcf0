"""Register maps of real meter models, as data: one TOML file per model.

Models are found through the registry (entry-point group ``meterbench.meter_models``): meterbench
registers the files in this folder, and a vendor's package registers its own the same way. Users
may also name a TOML file by path, or pass folders of their own (``search_paths``), which are
searched first. The format is documented in ``docs/instruments.md``; every error names the file,
the field and what was expected.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from meterbench import registry
from meterbench.instruments.errors import RegisterMapError
from meterbench.instruments.regmap import (
    DATA_TYPES,
    FC_HOLDING,
    FC_INPUT,
    FUNCTION_NAMES,
    MAX_REGISTERS_PER_READ,
    TEST_OUTPUT_ENERGIES,
    TEST_OUTPUT_KINDS,
    WORD_ORDERS,
    Channel,
    RegisterMap,
    TestOutput,
)

_PHASES = ("l1", "l2", "l3")
#: The standard channel names (docs/architecture.md, docs/instruments.md); ``clock.unix_ms`` is a
#: meter's own clock. Power factor, apparent power (VA), reactive power (var, + inductive) and
#: phase angle (degrees, current lagging voltage positive) per phase and in total.
STANDARD_CHANNELS: tuple[str, ...] = (
    "energy.import", "energy.export", "power.total", "power.l1", "power.l2", "power.l3",
    "voltage.l1", "voltage.l2", "voltage.l3", "current.l1", "current.l2", "current.l3",
    "frequency", "clock.unix_ms",
    *(f"{q}.{p}" for q in ("power_factor", "apparent_power", "reactive_power", "phase_angle")
      for p in (*_PHASES, "total")),
)
_CHANNEL_KEYS = {"address", "function", "type", "word_order", "scale", "unit", "sentinel"}
_TOP_KEYS = {"model", "name", "max_registers", "defaults", "channels", "notes", "test_output"}
_TEST_OUTPUT_KEYS = {"constant", "kind", "energy", "pulse_width_ms", "source"}


def model_files(search_paths: Iterable[str | Path] = ()) -> dict[str, Traversable]:
    """Model name -> file: user folders first (a user file may override a registered model), then
    every model in the registry."""
    found: dict[str, Traversable] = {}
    for folder in map(Path, search_paths):
        if not folder.is_dir():
            raise RegisterMapError("register map folder does not exist", source=str(folder),
                                   expected="a folder of <model>.toml files")
        for path in sorted(folder.glob("*.toml")):
            found.setdefault(path.stem, path)
    for name in registry.names(registry.METER_MODELS):
        if name not in found:
            try:
                found[name] = registry.data_file(registry.METER_MODELS, name, what="meter model")
            except registry.RegistryError as exc:
                raise RegisterMapError(str(exc), field="model", expected=exc.expected) from None
    return found


def available_models(search_paths: Iterable[str | Path] = ()) -> list[str]:
    return sorted(model_files(search_paths))


def load_register_map(model_or_path: str | Path, *, search_paths: Iterable[str | Path] = ()
                      ) -> RegisterMap:
    """The map of a model name (``eastron_sdm630``) or of a TOML file path."""
    text = str(model_or_path)
    path: Traversable
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise RegisterMapError("register map file not found", source=text,
                                   expected="an existing .toml file")
    else:
        files = model_files(search_paths)
        if text not in files:
            raise RegisterMapError(f"unknown meter model {text!r}", field="model",
                                   expected="one of " + ", ".join(sorted(files)))
        path = files[text]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegisterMapError(f"not valid TOML: {exc}", source=str(path)) from None
    except OSError as exc:
        raise RegisterMapError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise RegisterMapError("not UTF-8 text", source=str(path),
                               expected="a UTF-8 TOML file") from None
    return parse_register_map(data, source=str(path), default_model=path.name.removesuffix(".toml"))


def parse_register_map(data: dict[str, Any], *, source: str, default_model: str) -> RegisterMap:
    """Validate plain data (a parsed TOML document) into a :class:`RegisterMap`."""
    def fail(field: str, message: str, expected: str | None = None) -> RegisterMapError:
        return RegisterMapError(message, source=source, field=field, expected=expected)

    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key", "one of " + ", ".join(sorted(_TOP_KEYS)))
    model = data.get("model", default_model)
    if not isinstance(model, str) or model != default_model:
        raise fail("model", f"model {model!r} differs from the file name",
                   f"model = {default_model!r} (the file's name without .toml)")
    name = data.get("name", model)
    if not isinstance(name, str):
        raise fail("name", f"not a string: {name!r}", "a display name like \"Eastron SDM630\"")
    max_registers = data.get("max_registers", MAX_REGISTERS_PER_READ)
    if not isinstance(max_registers, int) or not 1 <= max_registers <= MAX_REGISTERS_PER_READ:
        raise fail("max_registers", f"bad value {max_registers!r}",
                   f"an integer 1..{MAX_REGISTERS_PER_READ}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise fail("defaults", "not a table", "[defaults] with channel keys")
    bad = set(defaults) - (_CHANNEL_KEYS - {"address"})
    if bad:
        raise fail(f"defaults.{sorted(bad)[0]}", "unknown key",
                   "one of " + ", ".join(sorted(_CHANNEL_KEYS - {"address"})))
    raw_channels = data.get("channels")
    if not isinstance(raw_channels, dict) or not raw_channels:
        raise fail("channels", "missing or empty", "a [channels] table with at least one channel")
    channels: dict[str, Channel] = {}
    for ch_name, spec in raw_channels.items():
        where = f"channels.{ch_name}"
        if ch_name not in STANDARD_CHANNELS:
            raise fail(where, f"unknown channel name {ch_name!r}",
                       "one of " + ", ".join(STANDARD_CHANNELS))
        if not isinstance(spec, dict):
            raise fail(where, "not a table", "{ address = 0x48, ... }")
        bad = set(spec) - _CHANNEL_KEYS
        if bad:
            raise fail(f"{where}.{sorted(bad)[0]}", "unknown key",
                       "one of " + ", ".join(sorted(_CHANNEL_KEYS)))
        merged = {**defaults, **spec}
        channels[ch_name] = _parse_channel(ch_name, merged, fail, where)
    _check_overlaps(channels, fail)
    return RegisterMap(model=model, name=name, channels=channels, source=source,
                       max_registers=max_registers,
                       test_output=_parse_test_output(data.get("test_output"), fail))


def _parse_test_output(spec: Any, fail) -> TestOutput | None:
    """``[test_output]``: the meter constant and kind of test output, citing the manual."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise fail("test_output", "not a table", "[test_output] with constant, kind and source")
    bad = set(spec) - _TEST_OUTPUT_KEYS
    if bad:
        raise fail(f"test_output.{sorted(bad)[0]}", "unknown key",
                   "one of " + ", ".join(sorted(_TEST_OUTPUT_KEYS)))
    constant = spec.get("constant")
    if (isinstance(constant, bool) or not isinstance(constant, int | float)
            or not math.isfinite(constant) or not constant > 0):
        raise fail("test_output.constant", f"bad meter constant {constant!r}",
                   "impulses per kWh > 0, from the manufacturer's manual")
    kind = spec.get("kind")
    if kind not in TEST_OUTPUT_KINDS:
        raise fail("test_output.kind", f"bad kind {kind!r}", " or ".join(TEST_OUTPUT_KINDS))
    energy = spec.get("energy", "import")
    if energy not in TEST_OUTPUT_ENERGIES:
        raise fail("test_output.energy", f"bad energy {energy!r}", ", ".join(TEST_OUTPUT_ENERGIES))
    width = spec.get("pulse_width_ms")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int | float)
                              or not width > 0):
        raise fail("test_output.pulse_width_ms", f"bad pulse width {width!r}",
                   "milliseconds > 0, or leave it out when the manual does not give it")
    source = spec.get("source")
    if not isinstance(source, str) or not source.strip():
        raise fail("test_output.source", "missing", "the manual (title, version, section) the "
                   "constant comes from")
    return TestOutput(constant_imp_per_kwh=float(constant), kind=kind, source=source,
                      energy=energy, pulse_width_ms=None if width is None else float(width))


def _parse_channel(name: str, spec: dict[str, Any], fail, where: str) -> Channel:
    address = spec.get("address")
    if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 0xFFFF:
        raise fail(f"{where}.address", f"bad address {address!r}",
                   "a 0-based PDU address 0..65535 (0x48 or 72)")
    function = spec.get("function", "input")
    if isinstance(function, str) and function in FUNCTION_NAMES:
        fc = FUNCTION_NAMES[function]
    elif function in (FC_HOLDING, FC_INPUT) and not isinstance(function, bool):
        fc = int(function)
    else:
        raise fail(f"{where}.function", f"bad function {function!r}",
                   "\"input\" (FC 04), \"holding\" (FC 03), 4 or 3")
    type_name = spec.get("type")
    if not isinstance(type_name, str) or type_name not in DATA_TYPES:
        raise fail(f"{where}.type", f"bad type {type_name!r}", "one of " + ", ".join(DATA_TYPES))
    dtype = DATA_TYPES[type_name]
    if address + dtype.registers > 0x10000:
        raise fail(f"{where}.address", f"{type_name} at {address} runs past register 65535")
    word_order = spec.get("word_order", "big")
    if word_order not in WORD_ORDERS:
        raise fail(f"{where}.word_order", f"bad word order {word_order!r}",
                   "\"big\" (high word first) or \"little\" (low word first)")
    scale = spec.get("scale", 1.0)
    if (isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0
            or not math.isfinite(scale)):
        raise fail(f"{where}.scale", f"bad scale {scale!r}",
                   "a positive number; value = raw × scale (0.1 for 'raw/10')")
    unit = spec.get("unit", "")
    if not isinstance(unit, str):
        raise fail(f"{where}.unit", f"not a string: {unit!r}", "a unit like \"kWh\"")
    sentinel = spec.get("sentinel")
    if sentinel == "all_ones":
        sentinel = (1 << dtype.bits) - 1
    elif sentinel == "max_positive":  # a signed register's "not available": 0x7FFF…FF
        if not dtype.signed:
            raise fail(f"{where}.sentinel", f"\"max_positive\" on unsigned type {type_name}",
                       "\"all_ones\" for unsigned registers")
        sentinel = (1 << (dtype.bits - 1)) - 1
    elif sentinel is not None and (isinstance(sentinel, bool) or not isinstance(sentinel, int)
                                   or not 0 <= sentinel < (1 << dtype.bits)):
        raise fail(f"{where}.sentinel", f"bad sentinel {sentinel!r}",
                   f"\"all_ones\", \"max_positive\" (signed types) or the raw register bits as "
                   f"an unsigned integer < 2**{dtype.bits}")
    return Channel(name=name, address=address, function=fc, dtype=dtype, word_order=word_order,
                   scale=float(scale), unit=unit, sentinel=sentinel)


def _check_overlaps(channels: dict[str, Channel], fail) -> None:
    ordered = sorted(channels.values(), key=lambda c: (c.function, c.address))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.function == b.function and b.address < a.end:
            raise fail(f"channels.{b.name}.address",
                       f"overlaps channel {a.name} ({a.address}..{a.end - 1})",
                       "channels that do not share registers")
