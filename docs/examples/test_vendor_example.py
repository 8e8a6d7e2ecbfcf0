"""A vendor's own checks, next to meterbench's shipped suites (docs/plugin.md walks through it).

Run it with:  pytest --bench my-bench.toml docs/examples/test_vendor_example.py
"""

import numpy as np
import pytest

from meterbench.core.records import simple_acceptance


@pytest.mark.conformance
def test_night_base_load_is_registered(analysis, operator_meter, record):
    """Our charger's meter must register its own standby consumption (no dead band)."""
    series = analysis.meters[operator_meter.id].quarter["energy.import"].series
    rec = record(simple_acceptance(
        "vendor.no_negative_import", operator_meter.id,
        float(np.count_nonzero(series.quantity < 0)), "negative intervals", high=0.0,
        name="every quarter-hour registers energy or is exactly zero",
        detail="a meter must never register negative import"))
    assert not rec.failed, rec.detail


def test_our_meters_answer_every_poll(bench_run, operator_meter, record):
    stats = bench_run.stats[operator_meter.id]
    rec = record(simple_acceptance("vendor.poll_success", operator_meter.id,
                                   100.0 * stats.ok / stats.polls, "%", low=99.9,
                                   name="poll success"))
    assert not rec.failed, f"{stats.errors} failed polls, last: {stats.last_error}"
