"""``meterbench sim``: serve a bench's simulated devices on 127.0.0.1 until interrupted.

Any Modbus tool (mbpoll, a SCADA, a vendor's own software) can then be pointed at the printed
meter endpoints, and any VISA tool at the printed SCPI resources of a lab bench. A field bench's
world runs on the wall clock, built for today's local date; on a lab bench the meters under test
measure whatever the simulated power source is set to.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime

from meterbench.clocks.run_clock import RealClock
from meterbench.config.bench_file import load_bench
from meterbench.core.timeutil import parse_wall_duration_s, to_ms
from meterbench.run.field_devices import SimulatedField


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="serve a bench's simulated meters until interrupted",
                       description=__doc__)
    p.add_argument("bench", nargs="?", default="sim", help="bench file or built-in name (default sim)")
    p.add_argument("--json", action="store_true", help="print the endpoints as one JSON line")
    p.add_argument("--duration", default=None, metavar="D",
                   help="stop by itself after this wall-clock time, e.g. 90s, 30min, 12h, PT1H or "
                        "a number of seconds (default: until Ctrl-C or SIGTERM)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.duration is not None:
        args.duration = parse_wall_duration_s(args.duration, field="--duration")
    config = load_bench(args.bench, force_simulate=True)
    if config.kind == "lab":
        return _serve_lab(config, args)
    today = datetime.now(config.tz).date()
    start = to_ms(datetime.combine(today, datetime.min.time(), tzinfo=config.tz))
    run_spec = replace(config.run, local_date=today, start_ms=start,
                       end_ms=start + (config.run.end_ms - config.run.start_ms))
    config = replace(config, run=run_spec)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    devices = SimulatedField(config)
    try:
        devices.start(RealClock().now_ms)
        endpoints = devices.served
        if args.json:
            print(json.dumps([e.as_dict() for e in endpoints]), flush=True)
        else:
            print(f"serving bench {config.name!r} ({len(endpoints)} meters); Ctrl-C to stop")
            for e in endpoints:
                where = e.device if e.transport == "rtu" else f"{e.host}:{e.port}"
                print(f"  {e.name:<12} {e.model:<22} {e.transport:<13} {where:<22} unit {e.unit_id}")
            sys.stdout.flush()
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set():
            if deadline and time.monotonic() >= deadline:
                break
            stop.wait(0.2)
    finally:
        devices.stop()
    print("stopped", file=sys.stderr)
    return 0


def _serve_lab(config, args: argparse.Namespace) -> int:  # noqa: ANN001 - BenchConfig
    """The lab's instruments over SCPI (source, reference, error calculators counting the meters'
    test outputs), its meters under test over Modbus TCP."""
    from meterbench.instruments.sim.lab import start_lab
    from meterbench.instruments.sim.serve import SimServers
    from meterbench.run.lab_devices import sim_instruments, sim_lab_spec, sim_muts
    from meterbench.run.simhost import SimHost

    wall = RealClock().now_ms
    lab = start_lab(sim_lab_spec(sim_muts(config), sim_instruments(config)), wall)
    meters = dict(lab.meters)
    specs = [dict(name=m.id, model=m.model, unit_id=m.transport.unit, port=0) for m in config.meters]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with SimHost() as host:
            servers = SimServers(specs, time_ms=wall, meters=meters, source=config.source)
            endpoints = host.call(servers.start())
            host.on_stop(servers.stop)
            resources = lab.resources()
            if args.json:
                print(json.dumps({"instruments": resources,
                                  "meters": [e.as_dict() for e in endpoints]}), flush=True)
            else:
                print(f"serving lab bench {config.name!r}; Ctrl-C to stop")
                for role, res in resources.items():
                    print(f"  {role:<12} {res}")
                for e in endpoints:
                    print(f"  {e.name:<12} {e.model:<22} tcp {e.host}:{e.port} unit {e.unit_id}")
                sys.stdout.flush()
            deadline = time.monotonic() + args.duration if args.duration else None
            while not stop.is_set() and not (deadline and time.monotonic() >= deadline):
                stop.wait(0.2)
    finally:
        lab.close()
    print("stopped", file=sys.stderr)
    return 0
