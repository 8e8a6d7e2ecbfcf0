"""The built-in example: an inventory of a few thousand charger and heat-pump meters, and a
simulated lab that produces results for a selection with a known share of bad meters.

The inventory is generated deterministically (seeded) and shipped as package data
(``bench/sampling/data/example_inventory.csv``); :func:`generate_example_inventory` rebuilds it
and a test checks the two agree. The simulated lab is ground truth for the OC tests: which meters
are bad is decided by a seeded hash, so a lot with a known share of bad meters can be sampled many
times and the acceptance rate compared with the plan's OC curve.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from importlib import resources

import numpy as np

from meterbench.sampling.evaluation import DEFAULT_TEST_POINTS
from meterbench.sampling.in_service_limits import in_service_limit
from meterbench.sampling.inventory import Meter, read_inventory_text

EXAMPLE_RESOURCE = "data/example_inventory.csv"

#: (model, rating, class, production years, installation years, count, lot id or None,
#:  verified-on or None, mid, use)
_FLEET = (
    ("Eastron SDM630-MID", "0.5-10(100)A", "B", (2017, 2017), (2018, 2019), 1200, None, None,
     True, "EV charger"),
    ("ABB B23 112-100", "0.25-5(65)A", "B", (2018, 2018), (2018, 2019), 900, None, None, True,
     "heat pump"),
    ("Carlo Gavazzi EM340", "0.25-5(65)A", "B", (2019, 2020), (2019, 2021), 700, None, None, True,
     "EV charger"),
    ("Eastron SDM120-MID", "0.25-5(45)A", "B", (2016, 2016), (2016, 2017), 400, "HP-2016-SDM120",
     date(2023, 9, 14), True, "heat pump"),
    ("Garo GNM3D", "0.25-5(80)A", "C", (2021, 2021), (2021, 2022), 300, None, None, True,
     "EV charger"),
)
EXAMPLE_SEED = 20261127
PERIODIC_TEST_POINTS = DEFAULT_TEST_POINTS
"""Periodic verification points for direct-connected meters (verification practice; an example)."""


def generate_example_inventory(seed: int = EXAMPLE_SEED) -> list[Meter]:
    rng = np.random.default_rng(seed)
    meters: list[Meter] = []
    serial = 100000
    for model, rating, cls, (p0, p1), (i0, i1), count, lot_id, verified, mid, use in _FLEET:
        start = date(i0, 1, 1).toordinal()
        span = date(i1, 12, 31).toordinal() - start
        for _ in range(count):
            serial += int(rng.integers(1, 9))
            year = int(rng.integers(p0, p1 + 1))
            installed = date.fromordinal(start + int(rng.integers(0, span + 1)))
            if installed.year < year:
                installed = date(year, 6, 1) + timedelta(days=int(rng.integers(0, 180)))
            site = int(rng.integers(1, 999))
            meters.append(Meter(
                meter_id=f"{model.split()[0][:2].upper()}{serial}", model=model,
                accuracy_class=cls, rating=rating, production_year=year,
                installation_date=installed, location=f"DK site {site:03d} ({use})",
                last_verification=verified, lot_id=lot_id, mid=mid))
    return meters


def example_inventory_text() -> str:
    return resources.files("meterbench.sampling").joinpath(EXAMPLE_RESOURCE).read_text()


def example_inventory() -> list[Meter]:
    return read_inventory_text(example_inventory_text(), source="example inventory")


def is_bad(meter_id: str, bad_share: float, truth_seed: str) -> bool:
    """Ground truth of the simulated lab: a meter is bad with probability ``bad_share``."""
    h = hashlib.sha256(f"truth:{truth_seed}:{meter_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < bad_share


def simulate_results(meters: Sequence[Meter], *, bad: set[str] | None = None,
                     bad_share: float = 0.0, truth_seed: str = "1",
                     test_points: Sequence[str] = PERIODIC_TEST_POINTS,
                     unreachable: set[str] = frozenset()) -> list[dict[str, object]]:
    """Lab results for ``meters``: good meters well inside the limit, bad ones clearly outside.

    Good meters get errors of ±0.3·limit at most; a bad meter is 1.5·limit off at one of its points
    (chosen by hash), so the truth is unambiguous under simple acceptance. ``unreachable`` meters
    get no rows, as if the field team could not reach them.
    """
    rows: list[dict[str, object]] = []
    for m in meters:
        if m.meter_id in unreachable:
            continue
        bad_here = (m.meter_id in bad) if bad is not None else is_bad(m.meter_id, bad_share,
                                                                         truth_seed)
        u = _uniforms(f"lab:{truth_seed}:{m.meter_id}", len(test_points) + 2)
        bad_point = int(u[0] * len(test_points))
        sign = -1.0 if u[1] < 0.5 else 1.0
        for k, tp in enumerate(test_points):
            limit = in_service_limit(m.accuracy_class, tp)
            if bad_here and k == bad_point:
                err = sign * 1.5 * limit
            else:
                err = (2 * u[k + 2] - 1) * 0.3 * limit
            rows.append({"meter_id": m.meter_id, "test_point": tp, "error_pct": round(err, 4),
                         "uncertainty_pct": 0.1})
    return rows


def _uniforms(key: str, count: int) -> list[float]:
    """``count`` deterministic uniforms in [0, 1) from a text key (SHA-256 blocks)."""
    out: list[float] = []
    block = 0
    while len(out) < count:
        h = hashlib.sha256(f"{key}:{block}".encode()).digest()
        out += [int.from_bytes(h[i:i + 8], "big") / 2**64 for i in range(0, 32, 8)]
        block += 1
    return out[:count]
