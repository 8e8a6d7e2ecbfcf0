"""Soak: a simulated week of 20 meters with a fault schedule, in virtual time.

    python benchmarks/soak.py                  # the issue's scenario: 7 days, 20 meters, 15-min polls
    python benchmarks/soak.py --no-rtu --days 2   # a quick look (all meters on TCP)

The bench (written as a bench file, loaded like any other) runs through :class:`meterbench.run.session.
BenchRun`, the object ``meterbench run`` drives: real Modbus servers on 127.0.0.1 (TCP and one
RTU line on a pty), the real drivers, scheduler and store. Every meter but two carries faults:
each fault kind the simulator knows, in one-hour windows spread over the week, plus transient
faults that one retry gets past.

Printed:

* **loss**: per meter, the answers the simulated meters sent (counted in the simulator, at the
  point where a server decides to answer a read with data) against the polls stored (one
  ``energy.import`` row per answered poll, flagged values included). Lost = answered - stored;
  the target is 0 for every meter;
* **memory**: resident set size after 10 % of the polls and at the end, and the process's peak;
  flat means the end is within a few MB of the early value (the store commits in batches, the
  acquisition keeps bounded statistics windows);
* **speed**: polls per wall-clock second of the faulted week against a fault-free baseline run of
  the same bench for one day in the same process (ratio; wire faults cost real timeouts).

Nothing here asserts; ``tests/reliability/test_soak.py`` runs a short soak and asserts no loss.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # noqa: E402

import meterbench.instruments.sim.rtu_line as rtu_line  # noqa: E402
import meterbench.instruments.sim.tcp_gateway as tcp_gateway  # noqa: E402
from meterbench.acquisition.engine import poll_plan  # noqa: E402
from meterbench.acquisition.links import build_drivers  # noqa: E402
from meterbench.config.bench_file import load_bench  # noqa: E402
from meterbench.instruments.sim.served import ANSWER, respond  # noqa: E402
from meterbench.run.session import STORE_FILE, BenchRun  # noqa: E402

#: Fault kinds cycled over the faulted meters (meterbench.instruments.sim.faults.KINDS, by their aliases).
FAULT_CYCLE = ("exception", "timeout", "drop", "frozen", "reset", "nan", "exception", "timeout")
CLEAN_METERS = 2


@dataclass
class SoakResult:
    meters: int
    days: int
    poll: str
    polls: int
    answered: dict[str, int]          # read requests answered with data, per meter
    stored: dict[str, int]            # polls stored, per meter
    requests_per_poll: dict[str, int]
    events: Counter[str]
    seconds: float
    rss_early_mb: float
    rss_end_mb: float
    peak_rss_mb: float
    rss_samples: list[tuple[int, float]] = field(default_factory=list)

    @property
    def lost(self) -> dict[str, int]:
        """Answered read requests whose data is not in the store (a poll of k requests stores
        one row per channel; a poll whose later request failed stores nothing, and its answered
        requests count as lost here: the meter answered, the bench kept nothing of it)."""
        return {m: self.answered.get(m, 0) - self.stored.get(m, 0) * self.requests_per_poll[m]
                for m in self.answered}

    @property
    def polls_per_s(self) -> float:
        return self.polls / self.seconds if self.seconds else 0.0


def _utc(day: str, hour: int) -> str:
    return f"{day}T{hour:02d}:00:00Z"


def bench_text(*, meters: int = 20, days: int = 7, poll: str = "15min", date: str = "2026-06-01",
               faults: bool = True, rtu: bool = True) -> str:
    """The soak bench file: ``meters`` meters (one main), an RTU line for two of them (``rtu``).

    The RTU line keeps real serial timing (9600 baud), and in virtual time every tick waits for
    the slowest meter: it costs about 0.1 s of wall time per tick.
    """
    from datetime import date as date_cls
    from datetime import timedelta

    first = date_cls.fromisoformat(date)
    lines = [
        "[bench]", 'name = "soak"', "seed = 3", "simulate = true", "",
        "[run]", f'date = "{date}"', f"days = {days}", f'poll_period = "{poll}"', "",
        "[[load]]", 'id = "ev"', 'kind = "sessions"', "power_w = 7400", 'phases = "L1"',
        'sessions = [["07:00", "08:30"], ["18:00", "20:00"]]', "",
        "[[load]]", 'id = "house"', 'kind = "base"', "mean_w = 400", "peak_w = 2500", "",
    ]
    for i in range(meters):
        role = "main" if i == 0 else "operator"
        lines += ["[[meter]]", f'id = "m{i:02d}"', f'role = "{role}"',
                  'model = "eastron_sdm630"', 'class = "B"', "max_power_w = 12000"]
        if i > 0:
            lines.append('loads = ["ev", "house"]' if i % 2 else 'loads = ["house"]')
        if rtu and i in (1, 2):  # two meters share one simulated RS485 line
            lines.append(f'transport = {{ kind = "rtu", device = "/dev/ttySOAK", unit = {i}, '
                         'timeout = 0.2 }')
        else:
            lines.append(f'transport = {{ kind = "tcp", port = {17000 + i}, timeout = 0.1 }}')
        if faults and i >= CLEAN_METERS:
            kind = FAULT_CYCLE[i % len(FAULT_CYCLE)]
            day = (first + timedelta(days=i % days)).isoformat()
            hour = 3 + i % 18
            spec = [f'kind = "{kind}"', f'start = "{_utc(day, hour)}"']
            if kind != "reset":
                spec.append(f'end = "{_utc(day, hour + 1)}"')
            if kind == "exception":
                spec.append('code = "busy"')
            transient_day = (first + timedelta(days=(i + 3) % days)).isoformat()
            transient = (f'{{ kind = "drop", count = 1, start = "{_utc(transient_day, 12)}", '
                         f'end = "{_utc(transient_day, 13)}" }}')
            lines.append(f"sim = {{ faults = [{{ {', '.join(spec)} }}, {transient}] }}")
        lines.append("")
    return "\n".join(lines)


@contextmanager
def counting_answers(world_meters: dict[str, Any] | None = None) -> Iterator[Counter[int]]:
    """Count, per simulated meter (``id`` of its SimMeter), the reads answered with data.

    An observation point on the servers' decision, not a replacement: the real ``respond`` still
    builds every answer. Exception responses and corrupted frames are not answers with data.
    """
    counts: Counter[int] = Counter()

    def counted(served: Any, pdu: bytes, now_ms: int) -> tuple[str, bytes]:
        action, answer = respond(served, pdu, now_ms)
        if action == ANSWER and answer and not answer[0] & 0x80:
            counts[id(served.meter)] += 1
        return action, answer

    saved = tcp_gateway.respond, rtu_line.respond
    tcp_gateway.respond = rtu_line.respond = counted  # type: ignore[assignment]
    try:
        yield counts
    finally:
        tcp_gateway.respond, rtu_line.respond = saved


def _stored_polls(store_path: Path) -> dict[str, int]:
    """One ``energy.import`` row per answered poll (flagged "not available"/NaN rows included)."""
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        return dict(db.execute(
            "SELECT m.name, count(*) FROM readings r JOIN meters m ON m.id = r.meter "
            "JOIN channels c ON c.id = r.channel WHERE c.name = 'energy.import' "
            "GROUP BY m.name").fetchall())


def run_soak(folder: Path, *, meters: int = 20, days: int = 7, poll: str = "15min",
             faults: bool = True, rtu: bool = True) -> SoakResult:
    path = folder / f"soak-{meters}x{days}d-{'faults' if faults else 'clean'}.toml"
    path.write_text(bench_text(meters=meters, days=days, poll=poll, faults=faults, rtu=rtu))
    config = load_bench(str(path))
    proc = psutil.Process()
    samples: list[tuple[int, float]] = []

    def progress(done: int, total: int) -> None:
        samples.append((done, proc.memory_info().rss / 2**20))
        state["total"] = total

    state = {"total": 0}
    run = BenchRun(config, folder / path.stem, progress=progress)
    with counting_answers() as counts:
        try:
            run.start()
            t0 = time.perf_counter()
            stats = run.acquire()
            seconds = time.perf_counter() - t0
            run.store.commit()
            events = Counter(e["kind"] for e in run.store.events())
            world = run.world
            drivers = build_drivers(config, run.strategy.devices.endpoints, run.clock.now_ms)
            per_poll = {spec.id: len(drivers[spec.id].plan(poll_plan(spec, drivers[spec.id]).channels))
                        for spec in config.meters}
        finally:
            run.close()
    assert world is not None
    by_sim = {id(m): mid for mid, m in world.meters.items()}
    answered = {by_sim[k]: v for k, v in counts.items() if k in by_sim}
    for mid in world.meters:
        answered.setdefault(mid, 0)
    total = state["total"] or 1
    early = next((rss for done, rss in samples if done >= 0.1 * total), samples[0][1] if samples
                 else 0.0)
    end = samples[-1][1] if samples else proc.memory_info().rss / 2**20
    return SoakResult(meters=meters, days=days, poll=poll,
                      polls=sum(s.polls for s in stats.values()), answered=answered,
                      stored=_stored_polls(run.run_dir / STORE_FILE), requests_per_poll=per_poll,
                      events=events,
                      seconds=seconds, rss_early_mb=early, rss_end_mb=end,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      rss_samples=samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--poll", default="15min", help="poll period (default 15min)")
    parser.add_argument("--no-rtu", action="store_true",
                        help="all meters on TCP (no serial line timing: much faster)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = run_soak(folder, meters=args.meters, days=1, poll=args.poll, faults=False,
                        rtu=not args.no_rtu)
        soak = run_soak(folder, meters=args.meters, days=args.days, poll=args.poll,
                        rtu=not args.no_rtu)
    print(f"baseline (no faults, 1 day): {base.polls} polls in {base.seconds:.1f} s = "
          f"{base.polls_per_s:,.0f} polls/s; lost {sum(base.lost.values())}")
    print(f"soak ({args.meters} meters, {args.days} days, {args.poll} polls, faults): "
          f"{soak.polls} polls in {soak.seconds:.1f} s = {soak.polls_per_s:,.0f} polls/s "
          f"(ratio to baseline {soak.polls_per_s / base.polls_per_s:.2f})")
    print(f"read requests answered by the simulated meters: {sum(soak.answered.values())}; "
          f"polls stored: {sum(soak.stored.values())} (requests per poll: "
          f"{sorted(set(soak.requests_per_poll.values()))}); answers lost: "
          f"{sum(soak.lost.values())} (target 0)")
    worst = {m: n for m, n in soak.lost.items() if n}
    print(f"meters with losses: {worst or 'none'}")
    print(f"events: {dict(sorted(soak.events.items()))}")
    print(f"RSS after 10 % of polls {soak.rss_early_mb:.1f} MB, at the end {soak.rss_end_mb:.1f} MB "
          f"(growth {soak.rss_end_mb - soak.rss_early_mb:+.1f} MB, ratio "
          f"{soak.rss_end_mb / soak.rss_early_mb:.3f}); peak RSS of the process "
          f"{soak.peak_rss_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
