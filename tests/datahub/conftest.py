"""Fixtures for the DataHub tests.

Schema tests use Energinet's official schemas from ``<repo>/../shared/datahub/schemas`` (present in
CI); without them those tests skip and say why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meterbench.core.timeutil import parse_iso
from meterbench.datahub.build import Intervals, build_messages
from meterbench.datahub.model import Message, MeteringPoint
from meterbench.datahub.schema import SchemaValidator, is_schema_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT.parent / "shared" / "datahub" / "schemas"

# Test identifiers with valid GS1 check digits (see test_identifiers).
SENDER = "5790000000005"
RECEIVER = "5790001330583"
GSRN = "571313180000000005"
QUARTER_MS = 900_000


@pytest.fixture(scope="session")
def schemas() -> SchemaValidator:
    if not is_schema_dir(SCHEMA_DIR):
        pytest.skip(f"official DataHub schemas not found at <repo>/../shared/datahub/schemas "
                    f"({SCHEMA_DIR}); schema conformance not checked")
    return SchemaValidator(SCHEMA_DIR)


def metering_point(**overrides: str) -> MeteringPoint:
    fields = {"gsrn": GSRN, "type": "E17", "subtype": "physical", "resolution": "PT15M",
              "meter": "ev", "channel": "energy.import"}
    fields.update(overrides)
    return MeteringPoint(**fields)


def day_message(day_start: str = "2026-06-14T22:00Z", count: int = 96,
                resolution: str = "PT15M") -> Message:
    """A valid one-day message built the normal way (values 0.000, 0.125, ...; all measured)."""
    step = QUARTER_MS if resolution == "PT15M" else 4 * QUARTER_MS
    start = parse_iso(day_start)
    intervals = Intervals("ev", "energy.import", resolution,
                          [start + i * step for i in range(count)],
                          [0.125 * i for i in range(count)], [1] * count)
    created = start + 30 * 3_600_000
    (message,) = build_messages([intervals], [metering_point(resolution=resolution)], SENDER,
                                RECEIVER, created)
    return message
