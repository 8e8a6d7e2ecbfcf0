"""The uncertainty budget of one error measurement, expanded with a coverage factor from its
effective degrees of freedom.

Components, each a standard uncertainty in percentage points of the error:

* **reference standard**: its declared accuracy (% of reading, from its calibration certificate)
  taken as a rectangular distribution, u = a/√3;
* **register resolution**: the meter register is read twice (gate open, gate close); two reads of
  a register with step q give a rectangular error of ±q per read, so
  u = √2 · (q/√3) / E_ref · 100;
* **timing**: the register read and the reference gate are not simultaneous; the energy that flows
  in the gap, ±window per gate edge at power P, is rectangular: u = √2 · (window/T) / √3 · 100 with
  T the gate time (P cancels);
* **repeatability**: the spread of repeated runs of the same point (rising and falling), the
  standard uncertainty of their mean, s/√n, a Type A evaluation with n − 1 degrees of freedom.

U = k · u_c with u_c = √Σu². The three rectangular components are Type B with exactly known
limits, so their degrees of freedom are infinite (GUM, JCGM 100:2008, G.4.2). The effective
degrees of freedom of u_c follow from the Welch–Satterthwaite formula (GUM G.4.1, eq. G.2b),
ν_eff = u_c⁴ / Σ u_i⁴/ν_i, and k is Student's t for ν_eff at the coverage probability 95.45 %
(GUM G.3.4 and Table G.2: the probability of k = 2 for a normal distribution), ν_eff truncated
to the next lower integer as G.4.1 allows. With no Type A term ν_eff is infinite and k = 2; with
two runs (ν = 1) dominating, k approaches 13.97 (Table G.2, ν = 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

#: Coverage probability of k = 2 for a normal distribution: 95.45 % (GUM G.3.4, Table G.2).
COVERAGE_P = math.erf(2.0 / math.sqrt(2.0))
#: k for infinite degrees of freedom (every component Type B): t_95.45(∞) = 2 (GUM Table G.2).
COVERAGE_K = 2.0
SQRT3 = math.sqrt(3.0)


def effective_dof(components: Sequence[tuple[float, float]]) -> float:
    """Welch–Satterthwaite ν_eff of ``(u_i, ν_i)`` pairs (GUM G.4.1, eq. G.2b); ``math.inf`` when
    every term with a non-zero u has ν = ∞ (or every u is zero)."""
    if any(nu <= 0 for u, nu in components if u):
        raise ValueError(f"degrees of freedom must be positive: {components}")
    u_c = math.sqrt(sum(u * u for u, _ in components))
    if not math.isfinite(u_c):  # an unbounded (or unknown) u_c: U is too, whatever k is
        return math.inf
    if u_c == 0.0:
        return math.inf
    # as ratios to u_c: u_c⁴ / Σ u_i⁴/ν_i without raising a huge u to the 4th power (overflow)
    denominator = sum((u / u_c) ** 4 / nu for u, nu in components if u and math.isfinite(nu))
    if denominator == 0.0:
        return math.inf
    return 1.0 / denominator


def coverage_factor(dof: float, p: float = COVERAGE_P) -> float:
    """Student's t_p(ν) (GUM G.3.4, Table G.2); ν truncated to the next lower integer (G.4.1),
    at least 1; ``math.inf`` gives the normal quantile (k = 2 at 95.45 %)."""
    if math.isinf(dof):
        return float(stats.norm.ppf(0.5 + p / 2))
    return float(stats.t.ppf(0.5 + p / 2, max(1.0, float(math.floor(dof)))))


@dataclass(frozen=True)
class Budget:
    """Standard uncertainties (percentage points) by component, ν of the Type A term, and U."""

    reference: float
    resolution: float
    timing: float
    repeatability: float
    repeatability_dof: float = math.inf

    @property
    def combined(self) -> float:
        return math.sqrt(self.reference**2 + self.resolution**2 + self.timing**2
                         + self.repeatability**2)

    @property
    def dof_eff(self) -> float:
        """Welch–Satterthwaite: the three rectangular terms have ν = ∞ (GUM G.4.2)."""
        return effective_dof([(self.reference, math.inf), (self.resolution, math.inf),
                              (self.timing, math.inf),
                              (self.repeatability, self.repeatability_dof)])

    @property
    def k(self) -> float:
        return coverage_factor(self.dof_eff)

    @property
    def expanded(self) -> float:
        return self.k * self.combined

    def as_dict(self) -> dict[str, float | str]:
        """For results.json: ``dof_eff`` is the string ``"inf"`` when infinite (JSON has no ∞ and
        null means unknown there)."""
        dof = self.dof_eff
        return dict(u_reference_pct=self.reference, u_resolution_pct=self.resolution,
                    u_timing_pct=self.timing, u_repeatability_pct=self.repeatability,
                    repeatability_dof=dof_json(self.repeatability_dof), dof_eff=dof_json(dof),
                    k=self.k, coverage_pct=100.0 * COVERAGE_P, expanded_pct=self.expanded)


def dof_json(dof: float) -> float | str:
    """Degrees of freedom for JSON: a number, or ``"inf"``."""
    return "inf" if math.isinf(dof) else dof


def u_reference(accuracy_pct: float) -> float:
    return accuracy_pct / SQRT3


def u_resolution(step_kwh: float, reference_kwh: float) -> float:
    if reference_kwh <= 0:
        return math.inf
    return math.sqrt(2.0) * step_kwh / SQRT3 / reference_kwh * 100.0


def u_timing(window_ms: float, gate_ms: float) -> float:
    if gate_ms <= 0:
        return math.inf
    return math.sqrt(2.0) * (window_ms / gate_ms) / SQRT3 * 100.0


def u_repeatability(errors_pct: Sequence[float]) -> float:
    """Standard uncertainty of the mean of repeated errors (0 for a single run)."""
    n = len(errors_pct)
    if n < 2:
        return 0.0
    mean = sum(errors_pct) / n
    s = math.sqrt(sum((e - mean) ** 2 for e in errors_pct) / (n - 1))
    return s / math.sqrt(n)


def repeatability_dof(n_runs: int) -> float:
    """ν = n − 1 of the Type A term s/√n; ∞ when there is none (a single run)."""
    return float(n_runs - 1) if n_runs >= 2 else math.inf


def budget(*, reference_accuracy_pct: float, step_kwh: float, reference_kwh: float,
           window_ms: float, gate_ms: float, repeated_errors_pct: Sequence[float] = ()) -> Budget:
    return Budget(reference=u_reference(reference_accuracy_pct),
                  resolution=u_resolution(step_kwh, reference_kwh),
                  timing=u_timing(window_ms, gate_ms),
                  repeatability=u_repeatability(repeated_errors_pct),
                  repeatability_dof=repeatability_dof(len(repeated_errors_pct)))


# -- the pulse method (an error calculator counting reference pulses over N meter pulses) --------
#
# The same four components, two of them with their pulse-method meaning:
#
# * **pulse-count resolution** (in ``Budget.resolution``): the reference pulses counted between
#   two meter edges are whole; both edges fall at an arbitrary phase of the reference pulse train,
#   so the count is off by the difference of two rectangular fractions, triangular on (−1, +1)
#   count: u = 1/√6 count (JCGM 100:2008 (GUM) 4.3.9), relative to the n reference pulses counted;
# * **gate timing** (in ``Budget.timing``): the gate opens and closes on meter pulse edges, each
#   known to the edge timing uncertainty u_e (the meter output's jitter and the counter's trigger),
#   so the energy in the gate is uncertain by √2·u_e at power P: relative √2·u_e/T for a gate of
#   T ms (P cancels).
#
# The meter side has no resolution term: the gate spans exactly N meter pulses.

SQRT6 = math.sqrt(6.0)


def u_pulse_count(reference_pulses: float) -> float:
    """Standard uncertainty (percentage points) of counting ``reference_pulses`` whole pulses."""
    if reference_pulses <= 0:
        return math.inf
    return 100.0 / (SQRT6 * reference_pulses)


def u_gate_timing(edge_u_ms: float, gate_ms: float) -> float:
    """Standard uncertainty (percentage points) of a gate between two pulse edges, each with
    standard uncertainty ``edge_u_ms``, over ``gate_ms``."""
    if gate_ms <= 0:
        return math.inf
    return math.sqrt(2.0) * edge_u_ms / gate_ms * 100.0


def pulse_budget(*, reference_accuracy_pct: float, reference_pulses: float, gate_ms: float,
                 edge_u_ms: float, repeated_errors_pct: Sequence[float] = ()) -> Budget:
    """The budget of one pulse-method error: ``resolution`` is the pulse-count term and
    ``timing`` the gate-timing term (see above)."""
    return Budget(reference=u_reference(reference_accuracy_pct),
                  resolution=u_pulse_count(reference_pulses),
                  timing=u_gate_timing(edge_u_ms, gate_ms),
                  repeatability=u_repeatability(repeated_errors_pct),
                  repeatability_dof=repeatability_dof(len(repeated_errors_pct)))
