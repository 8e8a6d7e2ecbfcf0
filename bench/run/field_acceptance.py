"""Field acceptance of a run: each operator/reference pair of the bench, from the run's intervals.

The interval values of a run come from register readings, so each value carries the register's
step twice (two interpolated reads); that is the quantization the per-interval limits allow for.
The step is the register's at the meter's largest reading, from its register map
(:attr:`meterbench.run.analysis.FieldPair.operator_step_kwh`).
"""

from __future__ import annotations

from meterbench.accuracy.field import FieldResult, FieldSettings, field_acceptance
from meterbench.run.analysis import Analysis, FieldPair


def field_result_for_pair(analysis: Analysis, pair: FieldPair) -> FieldResult:
    op = analysis.meters[pair.operator.id]
    ref = analysis.meters[pair.reference.id]
    settings = FieldSettings(operator_class=pair.operator.accuracy_class,
                             reference_class=pair.reference.accuracy_class,
                             operator_step_kwh=2.0 * pair.operator_step_kwh,
                             reference_step_kwh=2.0 * pair.reference_step_kwh,
                             zone=analysis.config.timezone)
    readings = tuple((ma.readings["energy.import"].times_ms, ma.readings["energy.import"].values)
                     for ma in (op, ref))
    return field_acceptance(op.quarter["energy.import"].series, ref.quarter["energy.import"].series,
                            operator_id=pair.operator.id, reference_id=pair.reference.id,
                            settings=settings, readings=readings)  # type: ignore[arg-type]
