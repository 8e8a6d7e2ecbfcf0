"""Benchmark of the pipeline's vectorized paths (a script, not a test).

Run from the repository root:  python benchmarks/pipeline.py  [--meters N] [--sites N] [--repeat N]

1. Intervals: N meters x 1 day of jittered 1-minute cumulative readings (10,000 meters =
   14.4 M readings) -> PT15M with quality -> PT1H with DataHub's quality rule, by
   ``meterbench.pipeline.registers.intervals_many`` + ``quarters_to_hours_arrays``; the same job by a
   straightforward pandas implementation (``merge_asof`` bracketing, per-meter pivot, groupby hour)
   in the same process; the two must agree to 1e-9 kWh on intervals both call measured.
2. Netting: N sites x 96 quarters with 1-3 serial sub-meters each, by ``virtual_main_point``, on
   the **quality path**: some values estimated or missing on the main meters and the sub-meters
   (so the kernel combines qualities and blanks missing residuals), clamp policy. The all-measured
   fast path is timed too, for comparison only.

Like with like: pandas is imported before any timing; both sides of a ratio run the same number
of times (``--repeat``, default 3) on the same data and are compared by the same statistic (the
best run, wall time and this process's CPU time; on a shared machine the two differ by the time
other processes held the cores). Each ratio is printed with one line saying what it compares.

Targets (project requirements): intervals <= 0.5 s, >= 20x pandas; netting 100,000 sites on the
quality path <= 0.5 s.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import numpy as np

from meterbench.core.quality import Quality  # noqa: E402
from meterbench.pipeline.aggregate import quarters_to_hours_arrays  # noqa: E402
from meterbench.pipeline.netting import PointFlows, virtual_main_point  # noqa: E402
from meterbench.pipeline.registers import intervals_many  # noqa: E402

MIN = 60_000
Q = 15 * MIN
H = 60 * MIN
DAY = 24 * H
DAY0 = 1_780_185_600_000  # 2026-05-31T00:00Z, a whole UTC day
MAX_GAP = 150_000  # 2.5 x the 1-minute polling period (project default)
EST_LIMIT = 6 * H  # project default


def make_readings(n_meters: int, rng: np.random.Generator):
    """1441 readings per meter (minute marks 00:00..24:00, +-20 s jitter, the first at or before
    00:00 and the last at or after 24:00), a few dropped polls; loads 0-11 kW."""
    per = DAY // MIN + 1
    t = DAY0 + np.arange(per, dtype=np.int64) * MIN
    jitter = rng.integers(-20_000, 20_001, (n_meters, per))
    jitter[:, 0] = -np.abs(jitter[:, 0])
    jitter[:, -1] = np.abs(jitter[:, -1])
    times = (t + jitter).ravel()
    kw = rng.uniform(0.0, 11.0, (n_meters, per)) * (rng.random((n_meters, per)) < 0.6)
    inc = (kw * (MIN / H)).ravel()
    values = np.cumsum(inc.reshape(n_meters, per), axis=1).ravel() + np.repeat(
        rng.uniform(0, 50_000, n_meters), per)
    offsets = np.arange(0, n_meters * per + 1, per, dtype=np.int64)
    # drop a 20-minute stretch of polls at 2 % of meters: estimated intervals exist too
    holes = rng.choice(n_meters, max(n_meters // 50, 1), replace=False)
    drop = np.zeros(n_meters * per, dtype=bool)
    for m in holes:
        k = int(rng.integers(1, per - 21))
        drop[m * per + k:m * per + k + 20] = True
    keep = ~drop
    counts = np.add.reduceat(keep.astype(np.int64), offsets[:-1])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return offsets, times[keep], values[keep]


def ours(offsets, times, values):
    q = intervals_many(offsets, times, values, DAY0, DAY0 + DAY, Q, MAX_GAP, EST_LIMIT)
    _, hq, hqual = quarters_to_hours_arrays(q.start_ms, q.quantity, q.quality)
    return q.quantity, q.quality, hq, hqual


def pandas_baseline(pd, offsets, times, values):
    """What a careful pandas user would write: bracket each boundary with merge_asof
    (backward and forward, by meter), interpolate, rate by the bracket gap, pivot, diff,
    then group quarters into hours. (It does not look for resets/rollovers; the data has none.)
    ``pd`` is the pandas module, imported by the caller before timing starts."""
    n_meters = len(offsets) - 1
    meter = np.repeat(np.arange(n_meters), np.diff(offsets))
    readings = pd.DataFrame({"meter": meter, "t": times, "v": values}).sort_values("t")
    bounds = np.arange(DAY0, DAY0 + DAY + 1, Q, dtype=np.int64)
    b = pd.DataFrame({"meter": np.repeat(np.arange(n_meters), len(bounds)),
                      "b": np.tile(bounds, n_meters)}).sort_values("b")
    back = pd.merge_asof(b, readings.rename(columns={"t": "t_lo", "v": "v_lo"}), left_on="b",
                         right_on="t_lo", by="meter", direction="backward")
    fwd = pd.merge_asof(b, readings.rename(columns={"t": "t_hi", "v": "v_hi"}), left_on="b",
                        right_on="t_hi", by="meter", direction="forward")
    df = back.merge(fwd, on=["meter", "b"])
    exact = df.t_lo == df.b
    gap = (df.t_hi - df.t_lo).where(~exact, 0)
    df["value"] = (df.v_lo + (df.v_hi - df.v_lo) * (df.b - df.t_lo) / (df.t_hi - df.t_lo)).where(
        ~exact, df.v_lo)
    df["q"] = np.select([gap <= MAX_GAP, gap <= EST_LIMIT], [1, 2], 0)
    df.loc[gap.isna(), "q"] = 0
    val = df.pivot(index="meter", columns="b", values="value")
    qb = df.pivot(index="meter", columns="b", values="q")
    qty = val.diff(axis=1).iloc[:, 1:]
    qty.columns = pd.Index(bounds[:-1], name="b")  # label each interval by its start
    q0, q1 = qb.iloc[:, :-1].to_numpy(), qb.iloc[:, 1:].to_numpy()
    qual = np.where((q0 == 1) & (q1 == 1), 1, 2)
    qual[(q0 == 0) | (q1 == 0)] = 0
    qty = qty.where(qual != 0)
    long = qty.stack(future_stack=True).rename("qty").reset_index()
    long["qual"] = qual.ravel()
    long["hour"] = (long["b"] - DAY0) // H
    long["is_e"], long["is_m"], long["is_x"] = long.qual == 2, long.qual == 1, long.qual == 0
    g = long.groupby(["meter", "hour"])
    agg = g.agg(qty=("qty", "sum"), n=("qty", "count"), any_e=("is_e", "max"),
                any_m=("is_m", "max"), any_x=("is_x", "max"))
    hq = np.where(agg.any_e | (agg.any_m & agg.any_x), 2, np.where(agg.any_m, 1, 0))
    hour_qty = agg.qty.where(agg.n > 0).to_numpy().reshape(n_meters, -1)
    return qty.to_numpy(), qual.astype(np.uint8), hour_qty, hq.reshape(n_meters, -1)


def timed(fn, *args, repeat: int):
    """(result, wall times, CPU times of this process). On a shared machine the CPU time shows
    what the code costs when other processes take the cores part of the time."""
    wall, cpu = [], []
    out = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return out, wall, cpu


#: Shares of values that are estimated / missing on the quality path (per value, independent):
#: the main meters and the sub-meters. A few percent is what a day with gaps looks like.
MAIN_ESTIMATED, MAIN_MISSING = 0.005, 0.001
SUB_ESTIMATED, SUB_MISSING = 0.02, 0.002


def _qualities(shape: tuple[int, int], estimated: float, missing: float,
               rng: np.random.Generator) -> np.ndarray:
    r = rng.random(shape)
    q = np.full(shape, Quality.MEASURED, dtype=np.uint8)
    q[r < estimated] = Quality.ESTIMATED
    q[r > 1.0 - missing] = Quality.MISSING
    return q


def make_sites(n_sites: int, rng: np.random.Generator):
    """(main, subs, sub_site) on the quality path, and the same values all measured."""
    n = 96
    n_subs = rng.integers(1, 4, n_sites)
    sub_site = np.repeat(np.arange(n_sites), n_subs)
    subs_imp = rng.uniform(0, 2, (len(sub_site), n))
    main_imp = np.add.reduceat(subs_imp, np.concatenate([[0], np.cumsum(n_subs)[:-1]]), axis=0)
    main_imp = main_imp + rng.uniform(0, 1, (n_sites, n)) - 0.05  # a few negative residuals
    main_exp = rng.uniform(0, 0.2, (n_sites, n))
    measured = (PointFlows.measured(main_imp, main_exp),
                PointFlows.measured(subs_imp, np.zeros_like(subs_imp)))
    mq = _qualities(main_imp.shape, MAIN_ESTIMATED, MAIN_MISSING, rng)
    sq = _qualities(subs_imp.shape, SUB_ESTIMATED, SUB_MISSING, rng)
    main = PointFlows(np.where(mq == Quality.MISSING, np.nan, main_imp), main_exp, mq,
                      measured[0].export_quality)
    subs = PointFlows(np.where(sq == Quality.MISSING, np.nan, subs_imp), measured[1].export_kwh,
                      sq, measured[1].export_quality)
    return (main, subs), measured, sub_site


def _shares(quality: np.ndarray) -> str:
    return ", ".join(f"{Quality(k).label} {np.mean(quality == k):.2%}"
                     for k in (Quality.ESTIMATED, Quality.MISSING))


def _best(wall: list[float], cpu: list[float]) -> str:
    return f"best {min(wall):.3f} s (runs {', '.join(f'{t:.3f}' for t in wall)}), best CPU {min(cpu):.3f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=10_000)
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (best is compared)")
    ap.add_argument("--skip-pandas", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (1 min)")
    pd = None if args.skip_pandas else importlib.import_module("pandas")  # not timed

    offsets, times, values = make_readings(args.meters, rng)
    print(f"intervals: {args.meters:,} meters, {len(times):,} readings, 1 day, PT15M + PT1H")
    (qty, qual, hqty, hqual), t_ours, c_ours = timed(ours, offsets, times, values,
                                                     repeat=args.repeat)
    print(f"  numpy core : {_best(t_ours, c_ours)}  (target <= 0.5 s)")
    counts = {Quality(k).label: int(np.count_nonzero(qual == k)) for k in (0, 1, 2)}
    print(f"  PT15M quality counts: {counts}")
    if pd is not None:
        (pq, pqual, phq, phqual), t_pd, c_pd = timed(pandas_baseline, pd, offsets, times, values,
                                                     repeat=args.repeat)
        print(f"  pandas     : {_best(t_pd, c_pd)}")
        print(f"  ratio      : {min(t_pd) / min(t_ours):.1f}x wall, "
              f"{min(c_pd) / min(c_ours):.1f}x CPU  (target >= 20x)")
        print(f"               = best of {args.repeat} pandas runs / best of {args.repeat} numpy "
              "runs, same readings, same process, pandas imported before timing")
        both = (qual == Quality.MEASURED) & (pqual == Quality.MEASURED)
        diff = float(np.max(np.abs(qty[both] - pq[both]))) if both.any() else float("nan")
        hboth = (hqual == Quality.MEASURED) & (phqual == Quality.MEASURED)
        hdiff = float(np.max(np.abs(hqty[hboth] - phq[hboth]))) if hboth.any() else float("nan")
        same_q = bool(np.array_equal(qual, pqual)) and bool(np.array_equal(hqual, phqual))
        print(f"  agreement  : max |diff| PT15M {diff:.2e} kWh over {int(both.sum()):,} measured, "
              f"PT1H {hdiff:.2e} kWh; identical qualities: {same_q}  (target <= 1e-9 kWh)")
    del offsets, times, values

    (main_q, subs_q), (main_m, subs_m), sub_site = make_sites(args.sites, rng)
    print(f"netting: {args.sites:,} sites x 96 quarters, {len(sub_site):,} serial sub-meters, "
          "clamp policy")
    print(f"  quality path: sub-meter values {_shares(subs_q.import_quality)}; main values "
          f"{_shares(main_q.import_quality)}")
    v, t_net, c_net = timed(lambda: virtual_main_point(main_q, subs_q, sub_site=sub_site,
                                                       policy="clamp"), repeat=args.repeat)
    print(f"  virtual_main_point, quality path : {_best(t_net, c_net)}  (target <= 0.5 s)")
    qn = v.net_quality
    print(f"    residuals: {int(v.negative_import.sum()):,} negative, "
          f"{int(np.count_nonzero(qn == Quality.ESTIMATED)):,} estimated, "
          f"{int(np.count_nonzero(qn == Quality.MISSING)):,} missing net values")
    _, t_fast, c_fast = timed(lambda: virtual_main_point(main_m, subs_m, sub_site=sub_site,
                                                         policy="clamp"), repeat=args.repeat)
    print(f"  virtual_main_point, all measured : {_best(t_fast, c_fast)}  (for comparison)")
    print(f"  quality path / all-measured path : {min(t_net) / min(t_fast):.2f}x wall, "
          f"{min(c_net) / min(c_fast):.2f}x CPU")
    print(f"               = best of {args.repeat} runs each, the same sites and values, the "
          "quality path with the shares above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
