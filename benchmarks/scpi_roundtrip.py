"""SCPI round trips against the simulated lab source over pyvisa-py (one command, no arguments).

Measures, in one process against the same simulated Fluke 6105A on 127.0.0.1:

* a setting (write + error-queue read) with ``TCP_NODELAY`` (what the transport does), and the
  same with Nagle's algorithm left on (the baseline: pyvisa-py's default socket);
* a plain query;
* one full simulated lab test point (about 25 exchanges) with a virtual clock.

Run: ``python benchmarks/scpi_roundtrip.py``. Prints per-operation times and ratios.
"""

from __future__ import annotations

import socket
import sys
import time

from meterbench.accuracy.labpoint import LabPoint, run_point  # noqa: E402
from meterbench.instruments.scpi.fluke6105a import Fluke6105A  # noqa: E402
from meterbench.instruments.scpi.yokogawa_wt1800 import YokogawaWT1800  # noqa: E402
from meterbench.instruments.sim.lab import LabSpec, MeterSpec, start_lab  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.now_ms = 1_767_225_600_000

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


def _per_op_ms(fn, n: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1000.0


def _set_nodelay(source: Fluke6105A, on: bool) -> None:
    session = source.transport._session  # noqa: SLF001 - benchmark reaches into the transport
    sock = session.visalib.sessions[session.session].interface
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if on else 0)


def main() -> int:
    clock = Clock()
    with start_lab(LabSpec(meters=(MeterSpec("mut"),)), clock) as lab:
        with Fluke6105A.open(lab.source_resource) as source, YokogawaWT1800.open(
                lab.reference_resource, accuracy_pct=0.02) as ref:

            def setting() -> None:
                source.frequency_hz = 50

            _set_nodelay(source, False)
            baseline = _per_op_ms(setting, 20)
            _set_nodelay(source, True)
            fast = _per_op_ms(setting, 500)
            query = _per_op_ms(lambda: source.frequency_hz, 500)
            ref.configure()
            meter = lab.meters["mut"]
            point = LabPoint("Iref PF1", current_a=5.0)

            def one_point() -> None:
                run_point(point, source=source, reference=ref, wait=clock.advance,
                          read_mut_energy=lambda: meter.read_channels(
                              ["energy.import"], clock())["energy.import"])

            per_point = _per_op_ms(one_point, 20)
    print(f"setting, Nagle on (baseline)   {baseline:8.3f} ms")
    print(f"setting, TCP_NODELAY           {fast:8.3f} ms   ratio baseline/now {baseline / fast:6.1f}x")
    print(f"query                          {query:8.3f} ms   ({1000 / query:,.0f} queries/s)")
    print(f"lab test point (virtual 70 s)  {per_point:8.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
