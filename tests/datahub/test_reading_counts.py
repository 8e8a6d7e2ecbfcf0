"""Reading messages back counts against the declared period, keeps A05 values, and `validate` names
each kind of bad identifier (issue 15, DataHub reading)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import meterbench.cli
from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR, parse_iso
from meterbench.datahub.counts import count_positions
from meterbench.datahub.delivery import count_qualities
from meterbench.datahub.files import serialize
from meterbench.datahub.model import Message, Point
from meterbench.datahub.rules import validate_message
from meterbench.datahub.to_series import read_metering_points, series_by_metering_point

from .conftest import GSRN, day_message


@pytest.fixture(autouse=True)
def only_datahub_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meterbench.cli, "COMMAND_MODULES", ("meterbench.cli.datahub",))


def _with_points(message: Message, points) -> Message:
    s = message.series[0]
    return replace(message, series=(replace(s, period=replace(s.period, points=tuple(points))),))


def _write(folder: Path, name: str, message: Message, fmt: str = "json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    path.write_bytes(serialize(message, fmt))
    return path


def _ninety_of_96() -> Message:
    """A day declared as 96 quarter-hours that carries 90 points (cut off: positions 91-96 absent)."""
    day = day_message()
    return _with_points(day, day.series[0].period.points[:90])


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_absent_positions_are_missing_intervals_on_the_declared_grid(tmp_path: Path, fmt: str):
    path = _write(tmp_path, "d", _ninety_of_96(), fmt)
    reading = read_metering_points([path])[GSRN]
    series = reading.series
    assert len(series) == 96  # the declared day, not the 90 positions present
    start = parse_iso("2026-06-14T22:00Z")
    assert series.start_ms[0] == start and series.end_ms == start + 24 * MS_PER_HOUR
    absent = np.arange(90, 96)
    assert np.all(series.quality[absent] == Quality.MISSING)
    assert np.all(np.isnan(series.quantity[absent]))
    assert reading.counts.declared == 96 and reading.counts.absent == 6
    assert reading.counts.measured == 90 and reading.missing == 6
    assert "96 positions declared: 90 measured, 6 missing (6 absent)" in reading.describe()


def test_absent_positions_at_the_start_and_inside_the_period_are_counted_too(tmp_path: Path):
    day = day_message()
    kept = [p for p in day.series[0].period.points
            if p.position >= 3 and not 41 <= p.position <= 46]
    reading = read_metering_points([_write(tmp_path, "d", _with_points(day, kept))])[GSRN]
    assert len(reading.series) == 96 and reading.counts.absent == 8
    assert reading.series.start_ms[0] == parse_iso("2026-06-14T22:00Z")
    assert reading.series.count(Quality.MISSING) == 8


def test_a_day_no_message_declares_is_missing_between_delivered_days(tmp_path: Path):
    first = day_message("2026-06-14T22:00Z")
    third = day_message("2026-06-16T22:00Z")
    paths = [_write(tmp_path, "a", first), _write(tmp_path, "c", third)]
    reading = read_metering_points(paths)[GSRN]
    assert len(reading.series) == 3 * 96
    assert reading.undelivered == 96 and reading.counts.declared == 192
    assert reading.missing == 96 and reading.series.count(Quality.MISSING) == 96


def _energinet_like_day() -> Message:
    """The shape of Energinet's RSM-012 example with an A05 value (opengeh-edi test messages):
    a PT1H day declared 22:00Z-22:00Z carrying six positions, the fifth A05 with 191 kWh."""
    day = day_message("2024-06-28T22:00Z", 24, "PT1H")
    points = [Point(1, Decimal(242), "A03"), Point(2, Decimal(242)), Point(3, Decimal(222)),
              Point(4, Decimal(202)), Point(5, Decimal(191), "A05"), Point(6, None, "A02")]
    return _with_points(day, points)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_incomplete_a05_values_are_kept_as_estimated_and_counted(tmp_path: Path, fmt: str):
    reading = read_metering_points([_write(tmp_path, "e", _energinet_like_day(), fmt)])[GSRN]
    s = reading.series
    assert len(s) == 24
    assert s.quantity[4] == 191.0 and s.quality[4] == Quality.ESTIMATED
    assert s.total_kwh() == 242 + 242 + 222 + 202 + 191  # nothing dropped
    c = reading.counts
    assert (c.measured, c.estimated, c.incomplete, c.not_available, c.absent) == (3, 1, 1, 1, 18)
    assert "1 incomplete (A05, read as estimated)" in reading.describe()


def test_a05_without_a_quantity_is_missing(tmp_path: Path):
    day = day_message("2024-06-28T22:00Z", 24, "PT1H")
    points = list(day.series[0].period.points)
    points[3] = Point(4, None, "A05")
    reading = read_metering_points([_write(tmp_path, "e", _with_points(day, points))])[GSRN]
    assert reading.series.quality[3] == Quality.MISSING and reading.counts.incomplete == 0


@pytest.mark.parametrize("code", ["A01", "Z99"])
def test_a_quality_code_the_reader_cannot_read_refuses_the_file(tmp_path: Path, code: str):
    day = day_message()
    points = list(day.series[0].period.points)
    points[7] = Point(8, Decimal("1.000"), code)
    path = _write(tmp_path, "q", _with_points(day, points))
    with pytest.raises(UserError, match=f"quality '{code}' cannot be read") as info:
        series_by_metering_point([path])
    assert "position 8" in info.value.format() and str(path) in info.value.format()


def test_a_position_beyond_the_declared_period_is_refused(tmp_path: Path):
    day = day_message()
    points = [*day.series[0].period.points, Point(97, Decimal("1.000"), "A04")]
    path = _write(tmp_path, "p", _with_points(day, points))
    with pytest.raises(UserError, match="position 97 lies outside the declared period"):
        series_by_metering_point([path])


def test_message_counts_used_by_delivery_count_absent_positions() -> None:
    message = _ninety_of_96()
    assert count_positions(message.series[0]).absent == 6
    assert count_qualities(message) == (96, 90, 0, 6)


# identifiers in `datahub validate` -----------------------------------------------------------

def _with_ids(message: Message, *, gsrn: str | None = None, sender: str | None = None) -> Message:
    series = replace(message.series[0], metering_point_id=gsrn or message.series[0].metering_point_id)
    return replace(message, series=(series,), sender_id=sender or message.sender_id)


@pytest.mark.parametrize(("gsrn", "says"), [
    ("ABC", "GSRN 'ABC' is not all digits"),
    ("{MeteringPointId}", "GSRN '{MeteringPointId}' is a placeholder"),
    ("57131318000000000", "GSRN '57131318000000000' has 17 digits (expected 18)"),
    ("000000000000000000", "is a placeholder"),
])
def test_a_gsrn_of_the_wrong_shape_is_rejected_with_its_own_reason(gsrn: str, says: str):
    rejections = validate_message(_with_ids(day_message(), gsrn=gsrn))
    texts = [r.format() for r in rejections if r.rule == "identifier"]
    assert len(texts) == 1 and says in texts[0], texts


def test_a_two_digit_gln_is_the_wrong_length_not_a_wrong_check_digit(tmp_path: Path, capsys):
    path = _write(tmp_path, "g", _with_ids(day_message(), sender="12"))
    assert meterbench.cli.main(["datahub", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[identifier] sender GLN '12' has 2 digits (expected 13)" in out
    assert "check digit" not in out


def test_validate_names_placeholder_and_non_digit_gsrns(tmp_path: Path, capsys):
    placeholder = _write(tmp_path, "p", _with_ids(day_message(), gsrn="{MeteringPointId}"))
    letters = _write(tmp_path, "l", _with_ids(day_message(), gsrn="ABC"))
    assert meterbench.cli.main(["datahub", "validate", str(placeholder), str(letters)]) == 1
    out = capsys.readouterr().out
    assert f"{placeholder}: REJECTED" in out and f"{letters}: REJECTED" in out
    assert "GSRN '{MeteringPointId}' is a placeholder" in out
    assert "GSRN 'ABC' is not all digits ('A' at position 1" in out


def test_a_wrong_check_digit_on_the_right_shape_only_warns(tmp_path: Path, capsys):
    path = _write(tmp_path, "w", _with_ids(day_message(), gsrn="571313180000000006"))
    assert meterbench.cli.main(["datahub", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("warning: metering point GSRN 571313180000000006 has a wrong GS1 check digit 6 "
            "(expected 5)") in out
    assert f"{path}: accepted" in out


def test_validate_counts_the_declared_positions(tmp_path: Path, capsys):
    path = _write(tmp_path, "d", _ninety_of_96())
    assert meterbench.cli.main(["datahub", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{GSRN}: 96 positions declared: 90 measured, 6 missing (6 absent)" in out


def test_the_energinet_like_example_is_rejected_for_a05_and_its_count(tmp_path: Path, capsys):
    """DataHub accepts only A02/A03/A04 on incoming data; the reader still keeps the value."""
    path = _write(tmp_path, "e", _energinet_like_day())
    assert meterbench.cli.main(["datahub", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[quality]" in out and "'A05'" in out and "6 positions, but PT1H" in out
    assert "1 incomplete (A05, read as estimated)" in out
