"""A bench's simulated meters in a process of their own, on fixed ports, on a scaled clock given
by the parent: the fault matrix stops it (SIGSTOP) and kills and restarts it mid-quarter.

Usage: ``python sim_process.py BENCH ORIGIN_MS ANCHOR_WALL_MS SCALE PORT...`` (one port per meter,
in the bench's order). The world is rebuilt from the bench's seed, so a restarted process serves
exactly the registers the first one would have (as after a power cut of the meters' gateway). It
prints ``ready`` once every endpoint listens, then serves until killed.
"""

from __future__ import annotations

import asyncio
import sys


async def _serve(argv: list[str]) -> None:
    from meterbench.clocks.anchored import AnchoredClock
    from meterbench.config.bench_file import load_bench
    from meterbench.instruments.sim.serve import SimServers
    from meterbench.run.simhost import endpoint_specs
    from meterbench.run.simworld import build_world

    bench, origin, anchor, scale, *ports = argv
    config = load_bench(bench, force_simulate=True)
    clock = AnchoredClock(int(origin), int(anchor), float(scale))
    specs = endpoint_specs(config)
    for spec, port in zip(specs, ports, strict=True):
        spec["port"], spec["gateway"] = int(port), f"gw{port}"
    servers = SimServers(specs, time_ms=clock.now_ms, meters=build_world(config).meters,
                         source=config.source)
    await servers.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1:]))
