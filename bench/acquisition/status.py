"""What the person at the bench sees while an acquisition runs.

On a terminal: a table redrawn in place (per meter: last value, success rate, lateness, last
error), worst meters first when they do not all fit. In a log (stderr not a terminal): one
summary line per ``log_interval_s`` plus one line per meter that is failing, so a week-long log
stays readable and grep-able.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping
from itertools import islice
from typing import TextIO

import numpy as np

from meterbench.acquisition.engine import MeterStats
from meterbench.core.timeutil import format_iso_utc

#: Polls per meter that the overall lateness percentiles of the display cover.
RECENT = 100


def _pct(values: object, q: float) -> float | None:
    arr = np.fromiter(values, dtype=float)  # type: ignore[call-overload]
    return float(np.percentile(arr, q)) if arr.size else None


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def totals(stats: Mapping[str, MeterStats]) -> dict[str, float | int | None]:
    polls = sum(s.polls for s in stats.values())
    ok = sum(s.ok for s in stats.values())
    late: list[int] = []
    for s in stats.values():  # recent polls only: a display of 1,000 meters must stay cheap
        late.extend(islice(reversed(s.lateness_ms), RECENT))
    return dict(meters=len(stats), scheduled=sum(s.scheduled for s in stats.values()),
                polls=polls, ok=ok, errors=sum(s.errors for s in stats.values()),
                skipped=sum(s.skipped for s in stats.values()),
                success_pct=100.0 * ok / polls if polls else None,
                lateness_p50_ms=_pct(late, 50), lateness_p99_ms=_pct(late, 99),
                failing=sum(1 for s in stats.values() if s.consecutive_failures))


def summary_line(stats: Mapping[str, MeterStats], now_ms: int | None = None) -> str:
    t = totals(stats)
    when = f"{format_iso_utc(now_ms)} " if now_ms is not None else ""
    ok = "-" if t["success_pct"] is None else f"{t['success_pct']:.2f} %"
    return (f"{when}{t['meters']} meters: {t['ok']}/{t['polls']} polls ok ({ok}), "
            f"{t['skipped']} skipped, lateness p50 {_ms(t['lateness_p50_ms'])} ms "  # type: ignore[arg-type]
            f"p99 {_ms(t['lateness_p99_ms'])} ms, {t['failing']} failing")  # type: ignore[arg-type]


def meter_row(meter: str, s: MeterStats) -> str:
    ok = f"{100.0 * s.ok / s.polls:6.2f}" if s.polls else "     -"
    value = "-" if s.last_value is None else f"{s.last_value:.3f}"
    err = (s.last_error or "")[:60] if s.consecutive_failures else ""
    return (f"{meter[:16]:16} {value:>14} {ok:>7} {_ms(_pct(s.lateness_ms, 50)):>6} "
            f"{_ms(_pct(s.lateness_ms, 99)):>6} {s.errors:>6} {err}")


HEADER = f"{'meter':16} {'last value':>14} {'ok %':>7} {'p50ms':>6} {'p99ms':>6} {'errors':>6} last error"


class StatusDisplay:
    """Callable the acquisition calls with its statistics every status interval."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 log_interval_s: float = 60.0, now_ms: object = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.log_interval_s = log_interval_s
        self.now_ms = now_ms
        self._drawn = 0
        self._last_log = 0.0

    def __call__(self, stats: Mapping[str, MeterStats]) -> None:
        now = self.now_ms() if callable(self.now_ms) else None
        if self.tty:
            self._redraw(stats, now)
        elif time.monotonic() - self._last_log >= self.log_interval_s:
            self._last_log = time.monotonic()
            self._log(stats, now)

    def _redraw(self, stats: Mapping[str, MeterStats], now: int | None) -> None:
        height = shutil.get_terminal_size((100, 30)).lines
        room = max(3, height - 4)
        order = sorted(stats, key=lambda m: (-stats[m].consecutive_failures,
                                             stats[m].ok / stats[m].polls if stats[m].polls else 1.0, m))
        lines = [summary_line(stats, now), HEADER]
        lines += [meter_row(m, stats[m]) for m in order[:room]]
        if len(order) > room:
            lines.append(f"... {len(order) - room} more meters (worst shown first)")
        out = (f"\x1b[{self._drawn}F" if self._drawn else "") + "\x1b[J" + "\n".join(lines) + "\n"
        self.stream.write(out)
        self.stream.flush()
        self._drawn = len(lines)

    def _log(self, stats: Mapping[str, MeterStats], now: int | None) -> None:
        self.stream.write("acquire: " + summary_line(stats, now) + "\n")
        for m, s in stats.items():
            if s.consecutive_failures:
                self.stream.write(f"acquire: {m} failing for {s.consecutive_failures} polls: "
                                  f"{s.last_error}\n")
        self.stream.flush()
