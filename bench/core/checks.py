"""Every check the bench makes, by a stable id.

A record names its check by id (``Record.check``), never by its display text or its position in a
list: reports, the results summary, tests and the run's one-line verdict find records through
these ids, so rewording a title or adding a check changes nothing downstream. ``per_item`` checks
produce one record per test point (lab points), so the point's name is part of the record id.

A vendor's own tests record their own checks under ids of their own (``vendor.poll_success``): an
id not in this catalog takes its stage from its first part and its title from the record's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Check:
    id: str
    stage: str
    title: str
    per_item: bool = False


_ALL = (
    # conformance with the Danish executive order on remote-read meters
    Check("conformance.separate_registers", "conformance", "import and export registered separately"),
    Check("conformance.quarter_hour_values", "conformance", "15-minute values obtainable"),
    Check("conformance.monotonic_registers", "conformance", "registers monotonic"),
    Check("conformance.power_energy", "conformance", "power consistent with energy"),
    Check("conformance.clock", "conformance", "clock within tolerance"),
    # the virtual main metering point
    Check("netting.negative_residuals", "netting", "no negative residual consumption"),
    Check("netting.virtual_vs_truth", "netting", "virtual main point matches the true consumption"),
    Check("netting.main_register", "netting", "all points add up to the main meter's register"),
    # field acceptance: operator meter vs the DSO's serial reference meter
    Check("field.labelling", "field", "interval labelling"),
    Check("field.timeliness", "field", "delivered on time"),
    Check("field.time_offset", "field", "time offset from readings"),
    Check("field.bias", "field", "operator vs reference bias"),
    Check("field.interval_limits", "field", "intervals outside quantization-aware limits"),
    Check("field.completeness", "field", "data completeness"),
    # delivery to DataHub
    Check("delivery.no_missing_intervals", "delivery", "no missing intervals"),
    Check("delivery.messages_accepted", "delivery", "DataHub messages accepted"),
    Check("delivery.messages_complete", "delivery", "DataHub messages complete"),
    # ground truth of a simulated bench
    Check("truth.intervals", "truth", "recovered intervals match the simulated truth"),
    # traceability
    Check("traceability.reference_calibration", "traceability", "reference calibration valid"),
    # lab certification
    Check("lab.point", "lab", "error at a test point", per_item=True),
    Check("lab.starting", "lab", "starting current"),
    Check("lab.creep", "lab", "no-load (creep)"),
    Check("lab.dial", "lab", "register (dial) test"),
    Check("lab.summation", "lab", "summation test"),
)

CHECKS: dict[str, Check] = {c.id: c for c in _ALL}


def check(check_id: str) -> Check:
    """The catalogued check, or for another id (a vendor's) one whose stage is the id's first
    part. Ids are lowercase and dotted (``stage.what``)."""
    known = CHECKS.get(check_id)
    if known is not None:
        return known
    if not _ID.match(check_id):
        raise ValueError(f"check id {check_id!r} is not of the form 'stage.what' "
                         "(lowercase letters, digits, _)")
    return Check(check_id, check_id.partition(".")[0], check_id)
