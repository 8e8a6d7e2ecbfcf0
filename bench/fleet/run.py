"""One fleet screen from dataset to run folder: check, schedule, combine, score, write."""

from __future__ import annotations

import sys
import time
from datetime import time as dtime
from pathlib import Path
from typing import Any

from meterbench.core.errors import UserError
from meterbench.fleet import layout as L
from meterbench.fleet.engine import Progress, check_dataset, dask_client, run_blocks, warm_up
from meterbench.fleet.evaluate import score
from meterbench.fleet.output import Screen, combine, report_data, summary, write_run
from meterbench.fleet.screen import ScreenSettings


def engine_info(screen: Screen, scheduler: str | None, workers: int, seconds: float
                ) -> dict[str, Any]:
    """How the screen ran: where, how fast (blocks only, not the cluster's start), and each
    worker's peak memory (resident set size)."""
    peak: dict[str, float] = {}
    for r in screen.results:
        peak[r.worker] = max(peak.get(r.worker, 0.0), r.peak_rss_mb)
    site_days = sum(r.site_days for r in screen.results)
    return {"scheduler": scheduler or "local cluster", "workers": workers,
            "seconds": round(seconds, 3),
            "site_days_per_s": round(site_days / seconds, 1) if seconds > 0 else None,
            "peak_rss_mb_per_worker": {k: round(v, 1) for k, v in sorted(peak.items())}}


def screen_command(dataset: Path, out: Path, *, scheduler: str | None = None,
                   workers: int | None = None, memory_limit: str | None = None,
                   deadline: dtime | None = None, report: bool = True,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Screen ``dataset`` on Dask and write the run folder ``out``; returns summary.json."""
    L.refuse_existing(out, "the screen's results")  # before the cluster starts
    manifest, _ = check_dataset(dataset)
    if out.resolve().is_relative_to(dataset.resolve()):
        raise UserError("inside the dataset it screens", source=str(out), field="--out",
                        expected="a run folder outside the dataset (a dataset holds only what "
                                 "fleet synth or ingest wrote)")
    settings = ScreenSettings(deadline=deadline)
    t_start = time.perf_counter()
    with dask_client(scheduler, workers, memory_limit) as client:
        n_workers = len(client.scheduler_info().get("workers", {}))
        if progress is not None and getattr(client, "dashboard_link", None):
            print(f"meterbench: Dask dashboard {client.dashboard_link}", file=sys.stderr)
        client.run(warm_up)  # loading the code is part of starting, not of screening
        t0 = time.perf_counter()
        results = run_blocks(dataset, settings, list(range(manifest.blocks)), client=client,
                             progress=progress)
        seconds = time.perf_counter() - t0
    startup = t0 - t_start
    screen = combine(manifest, results)
    truth_path = dataset / L.TRUTH
    scored = (score(screen.findings, L.pq().read_table(truth_path), screen.errors)
              if truth_path.is_file() else None)
    engine = engine_info(screen, scheduler, n_workers, seconds)
    engine["startup_seconds"] = round(startup, 3)
    doc = summary(screen, dataset, settings, engine, scored)
    html = None
    if report:
        from meterbench.reports.fleet import render_fleet_html

        html = render_fleet_html(report_data(screen, dataset, doc))
    write_run(out, screen, doc, html)
    return doc
