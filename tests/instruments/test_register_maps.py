"""The shipped register maps say exactly what the manufacturers' tables say (as read by mbmd), and
a broken user file fails with its file, field and what was expected."""

from __future__ import annotations

import pytest

from meterbench.instruments.errors import RegisterMapError
from meterbench.instruments.registers import available_models, load_register_map

# Transcribed by hand from the manufacturers' Modbus tables, checked against mbmd
# meters/rs485/*.go (FC, type, word order; then channel -> address, scale).
F32 = ("float32", "big")
EASTRON = {"voltage.l1": 0x00, "voltage.l2": 0x02, "voltage.l3": 0x04, "current.l1": 0x06,
           "current.l2": 0x08, "current.l3": 0x0A, "power.l1": 0x0C, "power.l2": 0x0E,
           "power.l3": 0x10, "power.total": 0x34, "frequency": 0x46, "energy.import": 0x48,
           "energy.export": 0x4A,
           # mbmd sdm.go: power factor per phase and total, total VA and var
           "power_factor.l1": 0x1E, "power_factor.l2": 0x20, "power_factor.l3": 0x22,
           "power_factor.total": 0x3E, "apparent_power.total": 0x38,
           "reactive_power.total": 0x3C,
           # Eastron's SDM630 register list: per-phase VA, var, phase angle; total phase angle
           "apparent_power.l1": 0x12, "apparent_power.l2": 0x14, "apparent_power.l3": 0x16,
           "reactive_power.l1": 0x18, "reactive_power.l2": 0x1A, "reactive_power.l3": 0x1C,
           "phase_angle.l1": 0x24, "phase_angle.l2": 0x26, "phase_angle.l3": 0x28,
           "phase_angle.total": 0x42}
ABB = {"voltage.l1": (0x5B00, "uint32", 0.1), "voltage.l2": (0x5B02, "uint32", 0.1),
       "voltage.l3": (0x5B04, "uint32", 0.1), "current.l1": (0x5B0C, "uint32", 0.01),
       "current.l2": (0x5B0E, "uint32", 0.01), "current.l3": (0x5B10, "uint32", 0.01),
       "power.l1": (0x5B16, "int32", 0.01), "power.l2": (0x5B18, "int32", 0.01),
       "power.l3": (0x5B1A, "int32", 0.01), "power.total": (0x5B14, "int32", 0.01),
       "frequency": (0x5B2C, "uint16", 0.01), "energy.import": (0x5000, "uint64", 0.01),
       "energy.export": (0x5004, "uint64", 0.01),
       "power_factor.total": (0x5B3A, "int16", 0.001), "power_factor.l1": (0x5B3B, "int16", 0.001),
       "power_factor.l2": (0x5B3C, "int16", 0.001), "power_factor.l3": (0x5B3D, "int16", 0.001)}


def _cg(hz: int, imp: int, exp: int, pf: int) -> dict:
    return {"voltage.l1": (0x00, "int32", 0.1), "voltage.l2": (0x02, "int32", 0.1),
            "voltage.l3": (0x04, "int32", 0.1), "current.l1": (0x0C, "int32", 0.001),
            "current.l2": (0x0E, "int32", 0.001), "current.l3": (0x10, "int32", 0.001),
            "power.l1": (0x12, "int32", 0.1), "power.l2": (0x14, "int32", 0.1),
            "power.l3": (0x16, "int32", 0.1), "power.total": (0x28, "int32", 0.1),
            "frequency": (hz, "int16", 0.1), "energy.import": (imp, "int32", 0.1),
            "energy.export": (exp, "int32", 0.1),
            **{f"power_factor.l{k + 1}": (pf + k, "int16", 0.001) for k in range(3)},
            "power_factor.total": (pf + 3, "int16", 0.001)}


ORNO = {"voltage.l1": 0x0E, "voltage.l2": 0x10, "voltage.l3": 0x12, "current.l1": 0x16,
        "current.l2": 0x18, "current.l3": 0x1A, "power.l1": 0x1E, "power.l2": 0x20,
        "power.l3": 0x22, "power.total": 0x1C, "frequency": 0x14, "energy.import": 0x108,
        "energy.export": 0x110, "reactive_power.total": 0x24, "reactive_power.l1": 0x26,
        "reactive_power.l2": 0x28, "reactive_power.l3": 0x2A, "apparent_power.total": 0x2C,
        "apparent_power.l1": 0x2E, "apparent_power.l2": 0x30, "apparent_power.l3": 0x32,
        "power_factor.total": 0x34, "power_factor.l1": 0x36, "power_factor.l2": 0x38,
        "power_factor.l3": 0x3A}

EXPECTED = {
    "eastron_sdm630": (4, "big", {k: (a, "float32", 1.0) for k, a in EASTRON.items()}),
    "eastron_sdm120": (4, "big", {"voltage.l1": (0x00, "float32", 1.0),
                                  "current.l1": (0x06, "float32", 1.0),
                                  "power.total": (0x0C, "float32", 1.0),
                                  "frequency": (0x46, "float32", 1.0),
                                  "energy.import": (0x48, "float32", 1.0),
                                  "energy.export": (0x4A, "float32", 1.0),
                                  "apparent_power.total": (0x12, "float32", 1.0),
                                  "reactive_power.total": (0x18, "float32", 1.0),
                                  "power_factor.total": (0x1E, "float32", 1.0)}),
    "eastron_sdm72": (4, "big", {"power.total": (0x34, "float32", 1.0),
                                 "energy.import": (0x48, "float32", 1.0),
                                 "energy.export": (0x4A, "float32", 1.0)}),
    "abb_b23": (3, "big", ABB),
    "abb_b24": (3, "big", ABB),
    "carlo_gavazzi_em340": (4, "little", _cg(0x33, 0x34, 0x4E, 0x2E)),
    "carlo_gavazzi_em24": (4, "little", _cg(0x37, 0x42, 0x5C, 0x32)),
    "orno_we517": (3, "big", {k: (a, "float32", 1000.0 if k.split(".")[0] in (
        "power", "reactive_power", "apparent_power") else 1.0) for k, a in ORNO.items()}),
}


def test_all_required_models_are_shipped():
    assert set(EXPECTED) <= set(available_models())


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_map_matches_domain_notes(model):
    fc, order, channels = EXPECTED[model]
    regmap = load_register_map(model)
    assert set(regmap.channels) == set(channels)
    for name, (address, type_name, scale) in channels.items():
        ch = regmap.channels[name]
        assert (ch.address, ch.function, ch.dtype.name, ch.word_order) == (address, fc, type_name, order), name
        assert ch.scale == pytest.approx(scale), name
        unit = {"voltage": "V", "current": "A", "power": "W", "frequency": "Hz", "energy": "kWh",
                "power_factor": "", "apparent_power": "VA", "reactive_power": "var",
                "phase_angle": "deg"}
        assert ch.unit == unit[name.split(".")[0]]
    sentinel_expected = model.startswith("abb_")
    for ch in regmap.channels.values():
        # ABB: all ones for unsigned registers, 0x7FFF…FF for signed ones (mbmd abb.go)
        na = (1 << (ch.dtype.bits - ch.dtype.signed)) - 1
        assert (ch.sentinel == na) if sentinel_expected else ch.sentinel is None


#: Meter constants (imp/kWh) as the manuals give them; models without one could not be confirmed.
TEST_OUTPUTS = {"eastron_sdm630": (400.0, "S0", None),   # SDM630-Modbus V2 manual, pulse output 2
                "eastron_sdm72": (1000.0, "S0", 35.0),   # SDM72D-M manual V1.1, default constant
                "eastron_sdm120": (1000.0, "LED", None)}  # SDM120-Modbus specifications


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_test_output_constants_are_the_manuals_or_absent(model):
    out = load_register_map(model).test_output
    if model not in TEST_OUTPUTS:
        assert out is None
        return
    assert (out.constant_imp_per_kwh, out.kind, out.pulse_width_ms) == TEST_OUTPUTS[model]
    assert out.energy == "import" and "Manual" in out.source or "specifications" in out.source


GOOD = """
model = "{stem}"
name = "Test meter"
[defaults]
function = "input"
type = "float32"
[channels]
"energy.import" = {{ address = 0x48, unit = "kWh" }}
"""


def _write(tmp_path, text, stem="my_meter"):
    path = tmp_path / f"{stem}.toml"
    path.write_text(text)
    return path


def test_user_folder_adds_a_model_and_file_path_loads(tmp_path):
    path = _write(tmp_path, GOOD.format(stem="my_meter"))
    assert "my_meter" in available_models([tmp_path])
    by_name = load_register_map("my_meter", search_paths=[tmp_path])
    by_path = load_register_map(str(path))
    assert by_name.channels == by_path.channels
    assert by_name.channels["energy.import"].address == 0x48


@pytest.mark.parametrize("text, field, expected_part", [
    (GOOD.format(stem="my_meter").replace("0x48", "-1"), "channels.energy.import.address", "0..65535"),
    (GOOD.format(stem="my_meter").replace('"float32"', '"float16"'), "channels.energy.import.type", "float32"),
    (GOOD.format(stem="my_meter").replace('"input"', '"coil"'), "channels.energy.import.function", "holding"),
    (GOOD.format(stem="my_meter").replace('unit = "kWh"', 'unit = "kWh", word_order = "middle"'),
     "channels.energy.import.word_order", "low word first"),
    (GOOD.format(stem="my_meter").replace('unit = "kWh"', 'unit = "kWh", scale = 0'),
     "channels.energy.import.scale", "positive"),
    (GOOD.format(stem="my_meter").replace('unit = "kWh"', 'unit = "kWh", sentinel = 2'),
     "channels.energy.import.sentinel", "all_ones"),
    (GOOD.format(stem="my_meter").replace('unit = "kWh"', 'unit = "kWh", adress = 1'),
     "channels.energy.import.adress", "address"),
    (GOOD.format(stem="my_meter").replace('"energy.import"', '"energy.imprt"'),
     "channels.energy.imprt", "energy.import"),
    (GOOD.format(stem="other"), "model", "my_meter"),
    (GOOD.format(stem="my_meter") + '"energy.export" = { address = 0x49 }\n',
     "channels.energy.export.address", "do not share"),
    ('model = "my_meter"\n', "channels", "[channels]"),
    (GOOD.format(stem="my_meter").replace("[defaults]", '[test_output]\nkind = "S0"\nconstant = 0\n'
                                                        'source = "manual"\n[defaults]'),
     "test_output.constant", "impulses per kWh"),
    (GOOD.format(stem="my_meter").replace("[defaults]", '[test_output]\nkind = "S0"\nconstant = 400\n'
                                                        '[defaults]'),
     "test_output.source", "manual"),
    (GOOD.format(stem="my_meter").replace("[defaults]", '[test_output]\nkind = "IR"\nconstant = 400\n'
                                                        'source = "m"\n[defaults]'),
     "test_output.kind", "LED or S0"),
])
def test_broken_file_names_file_field_and_expectation(tmp_path, text, field, expected_part):
    if "sentinel = 2" in text:  # 2 is a valid bit pattern; make it too wide for float32
        text = text.replace("sentinel = 2", "sentinel = 0x1FFFFFFFF")
    path = _write(tmp_path, text)
    with pytest.raises(RegisterMapError) as err:
        load_register_map(str(path))
    assert err.value.source == str(path)
    assert err.value.field == field
    assert expected_part in (err.value.expected or "")
    assert str(path) in str(err.value) and field in str(err.value)


def test_invalid_toml_and_unknown_model(tmp_path):
    path = _write(tmp_path, "model = \n")
    with pytest.raises(RegisterMapError, match="not valid TOML") as err:
        load_register_map(str(path))
    assert err.value.source == str(path)
    with pytest.raises(RegisterMapError, match="unknown meter model") as err:
        load_register_map("eastron_sdm999")
    assert "eastron_sdm630" in err.value.expected
    with pytest.raises(RegisterMapError, match="not found"):
        load_register_map(str(tmp_path / "missing.toml"))
