"""Field acceptance of a run: each operator/reference pair of the bench, from the run's intervals.

The interval values of a run come from register readings, so each value carries the register's
step twice (two interpolated reads); that is the quantization the per-interval limits allow for.
"""

from __future__ import annotations

import numpy as np

from meterbench.accuracy.field import FieldResult, FieldSettings, field_acceptance
from meterbench.accuracy.register import register_step_kwh
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.registers import load_register_map
from meterbench.run.analysis import Analysis, FieldPair, MeterAnalysis


def interval_step_kwh(ma: MeterAnalysis) -> float:
    """Two register steps at the largest reading (the register's coarsest step in the run)."""
    values = ma.readings["energy.import"].values
    top = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    try:
        channel = load_register_map(ma.spec.model).channels["energy.import"]
    except (ConfigError, KeyError):
        return 2.0 * float(np.spacing(np.float32(top)))
    return 2.0 * register_step_kwh(channel, top)


def field_result_for_pair(analysis: Analysis, pair: FieldPair) -> FieldResult:
    op = analysis.meters[pair.operator.id]
    ref = analysis.meters[pair.reference.id]
    settings = FieldSettings(operator_class=pair.operator.accuracy_class,
                             reference_class=pair.reference.accuracy_class,
                             operator_step_kwh=interval_step_kwh(op),
                             reference_step_kwh=interval_step_kwh(ref),
                             zone=analysis.config.timezone)
    readings = tuple((ma.readings["energy.import"].times_ms, ma.readings["energy.import"].values)
                     for ma in (op, ref))
    return field_acceptance(op.quarter["energy.import"].series, ref.quarter["energy.import"].series,
                            operator_id=pair.operator.id, reference_id=pair.reference.id,
                            settings=settings, readings=readings)  # type: ignore[arg-type]
