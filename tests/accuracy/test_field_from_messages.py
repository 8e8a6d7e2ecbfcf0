"""Field acceptance straight from delivered DataHub messages (JSON and XML), as a DSO receives them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from meterbench.cli import main
from meterbench.core.errors import UserError
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.datahub import Intervals, MeteringPoint, build_messages
from meterbench.datahub.files import read_message_file, serialize
from meterbench.datahub.to_series import series_by_metering_point

from .test_field import _operator, _reference

OP_GSRN, REF_GSRN = "571313100000000201", "571313100000000409"


def _deliver(folder, gsrn, series, fmt):
    folder.mkdir(parents=True, exist_ok=True)
    mp = MeteringPoint(gsrn=gsrn, type="E17", subtype="physical", resolution="PT15M", meter="m",
                       channel="energy.import")
    iv = Intervals("m", "energy.import", "PT15M", series.start_ms.tolist(), series.quantity.tolist(),
                   series.quality.tolist())
    messages = build_messages([iv], [mp], "5790000000005", "5790001330583", 0)
    for k, m in enumerate(messages):
        (folder / f"{gsrn}_{k}.{fmt}").write_bytes(serialize(m, fmt))
    return folder


def test_cli_field_from_json_and_xml_messages_diagnoses_a_one_hour_shift(tmp_path, capsys):
    ref = _reference(days=2)
    op = _deliver(tmp_path / "op", OP_GSRN, _operator(ref, -0.6, shift_ms=MS_PER_HOUR), "json")
    rf = _deliver(tmp_path / "ref", REF_GSRN, ref, "xml")
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    recs = {r["name"]: r for r in doc["records"]}
    assert "labelled one hour late" in recs["interval labelling"]["detail"]
    assert recs["operator vs reference bias"]["verdict"] == "pass"
    assert doc["time_offset_s"] == 3600.0


def test_messages_round_to_three_decimals_but_keep_quality_and_grid(tmp_path):
    ref = _reference(days=2)
    folder = _deliver(tmp_path / "ref", REF_GSRN, ref, "xml")
    got = series_by_metering_point(sorted(folder.iterdir()))[REF_GSRN]
    inside = (got.start_ms >= ref.start_ms[0]) & (got.start_ms <= ref.start_ms[-1])
    np.testing.assert_array_equal(got.start_ms[inside], ref.start_ms)
    np.testing.assert_allclose(got.quantity[inside], ref.quantity, atol=0.0005 + 1e-12)
    np.testing.assert_array_equal(got.quality[inside], ref.quality)


def test_conflicting_deliveries_are_refused(tmp_path):
    ref = _reference(days=1)
    folder = _deliver(tmp_path / "a", OP_GSRN, ref, "json")
    other = _operator(ref, 5.0)
    _deliver(tmp_path / "b", OP_GSRN, other, "json")
    for f in (tmp_path / "b").iterdir():
        f.rename(folder / ("x" + f.name))
    with pytest.raises(UserError, match="disagree"):
        series_by_metering_point(sorted(folder.iterdir()))


def test_positions_absent_from_a_declared_day_count_as_missing_in_field_acceptance(tmp_path,
                                                                                   capsys):
    """A reference day declared as 96 quarter-hours but cut off after 90 positions: 90 of 96
    compared, completeness 93.75 % (fails the default 100 %), never "90 of 90"."""
    ref = _reference(days=1)
    op = _deliver(tmp_path / "op", OP_GSRN, _operator(ref, -0.6), "json")
    rf = _deliver(tmp_path / "ref", REF_GSRN, ref, "xml")
    (path,) = rf.iterdir()
    message = read_message_file(path).message
    s = message.series[0]
    cut = replace(s, period=replace(s.period, points=s.period.points[:90]))
    path.write_bytes(serialize(replace(message, series=(cut,)), "xml"))
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["expected"] == 96 and doc["measured_both"] == 90 and doc["compared"] == 90
    recs = {r["check"]: r for r in doc["records"]}
    assert recs["field.completeness"]["verdict"] == "fail"
    assert recs["field.completeness"]["value"] == pytest.approx(100 * 90 / 96)
    assert doc["messages"]["reference"]["absent"] == 6
    assert doc["messages"]["operator"]["absent"] == 0


def test_field_from_messages_says_what_the_messages_held(tmp_path, capsys):
    ref = _reference(days=1)
    op = _deliver(tmp_path / "op", OP_GSRN, _operator(ref, -0.6), "json")
    rf = _deliver(tmp_path / "ref", REF_GSRN, ref, "json")
    main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
          "--reference-class", "C"])
    out = capsys.readouterr().out
    assert f"operator messages: {OP_GSRN}: 96 positions declared: 96 measured" in out
    assert f"reference messages: {REF_GSRN}: 96 positions declared: 96 measured" in out
