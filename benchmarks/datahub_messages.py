"""How fast the DataHub message path is, against stdlib baselines measured in the same process.

Run from the repository root:  ``python benchmarks/datahub_messages.py [--days N] [--points M]``

Workload: M metering points x N local days of PT15M values (one message per point and day, 96
points each; DST days included when N spans them). Each stage is timed (best of 3) and printed with
its ratio to a baseline doing the comparable stdlib work on the same data:

* build      vs  building the equivalent plain dict tree by hand
* to_json    vs  ``json.dumps`` of the dict tree (with floats)
* from_json  vs  ``json.loads`` of our text (float numbers)
* to_xml     vs  ``ElementTree.tostring`` of our element tree
* from_xml   vs  ``defusedxml`` parse alone
* validate   (business rules) vs  a bare loop over the points
* schema     JSON and XML schema validation of one message (per message; needs the schemas)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, timedelta

import defusedxml.ElementTree as SafeET  # noqa: E402

from meterbench.datahub import (  # noqa: E402
    Intervals,
    MeteringPoint,
    build_messages,
    find_schema_dir,
    from_json,
    from_xml,
    local_day_bounds,
    to_json,
    to_xml,
    validate_message,
)
from meterbench.datahub.cim_json import message_to_dict  # noqa: E402
from meterbench.datahub.cim_xml import message_to_element, parse_xml_safely  # noqa: E402
from meterbench.datahub.schema import SchemaValidator  # noqa: E402

QUARTER_MS = 900_000


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--points", type=int, default=5)
    args = parser.parse_args()

    first = date(2026, 3, 1)
    start, _ = local_day_bounds(first)
    _, end = local_day_bounds(first + timedelta(days=args.days - 1))
    n = (end - start) // QUARTER_MS
    mps, intervals = [], []
    for k in range(args.points):
        gsrn = f"5713131800000{k:05d}"
        mps.append(MeteringPoint(gsrn, "E17", "physical", "PT15M", f"m{k}", "energy.import"))
        intervals.append(Intervals(f"m{k}", "energy.import", "PT15M",
                                   [start + i * QUARTER_MS for i in range(n)],
                                   [abs(math.sin(i / 7.0)) * 2.5 for i in range(n)],
                                   [1 if i % 50 else 2 for i in range(n)]))
    created = end + 3_600_000

    def build() -> list:
        return build_messages(intervals, mps, "5790000000005", "5790001330583", created)

    messages = build()
    values = sum(len(m.series[0].period.points) for m in messages)
    trees = [message_to_dict(m) for m in messages]
    plain = [json.loads(json.dumps(t, default=float)) for t in trees]  # floats, no Decimal

    def baseline_build() -> list:
        return [{"p": [{"position": i + 1, "quantity": round(v, 3), "quality": "A04"}
                       for i, v in enumerate(iv.kwh)]} for iv in intervals]

    json_texts = [to_json(m) for m in messages]
    xml_texts = [to_xml(m) for m in messages]
    elements = [message_to_element(m) for m in messages]

    rows: list[tuple[str, float, float]] = [
        ("build", best_of(build), best_of(baseline_build)),
        ("to_json", best_of(lambda: [to_json(m) for m in messages]),
         best_of(lambda: [json.dumps(t) for t in plain])),
        ("from_json", best_of(lambda: [from_json(t) for t in json_texts]),
         best_of(lambda: [json.loads(t) for t in json_texts])),
        ("to_xml", best_of(lambda: [to_xml(m) for m in messages]),
         best_of(lambda: [ET.tostring(e) for e in elements])),
        ("from_xml", best_of(lambda: [from_xml(x) for x in xml_texts]),
         best_of(lambda: [SafeET.fromstring(x) for x in xml_texts])),
        ("validate", best_of(lambda: [validate_message(m) for m in messages]),
         best_of(lambda: [[p.quantity for p in m.series[0].period.points] for m in messages])),
    ]
    print(f"workload: {len(messages)} messages, {values} values "
          f"({args.points} metering points x {args.days} days, PT15M)")
    print(f"{'stage':<10} {'ours ms':>10} {'baseline ms':>12} {'ratio':>7} {'us/value':>9}")
    for name, ours, base in rows:
        print(f"{name:<10} {ours * 1e3:>10.1f} {base * 1e3:>12.1f} {ours / base:>7.1f} "
              f"{ours / values * 1e6:>9.2f}")

    folder = find_schema_dir()
    if folder is None:
        print("schema: skipped (no schema folder: set METERBENCH_DATAHUB_SCHEMAS)")
        return 0
    t0 = time.perf_counter()
    schemas = SchemaValidator(folder)
    load_json = time.perf_counter() - t0
    t0 = time.perf_counter()
    schemas.xml_errors(parse_xml_safely(xml_texts[0]))
    load_xml = time.perf_counter() - t0
    sample = min(20, len(messages))
    per_json = best_of(lambda: [schemas.json_errors(t) for t in json_texts[:sample]]) / sample
    per_xml = best_of(lambda: [schemas.xml_errors(parse_xml_safely(x))
                               for x in xml_texts[:sample]]) / sample
    per_parse = best_of(lambda: [from_json(t) for t in json_texts[:sample]]) / sample
    print(f"schema load: json {load_json * 1e3:.0f} ms, xml {load_xml * 1e3:.0f} ms (first use)")
    print(f"schema check per 96-value message: json {per_json * 1e3:.1f} ms "
          f"({per_json / per_parse:.1f}x our JSON parse), xml {per_xml * 1e3:.1f} ms "
          f"({per_xml / per_parse:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
