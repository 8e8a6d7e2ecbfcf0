"""``meterbench registry``: what is installed: meter models, lab instrument drivers and benches.

Each comes from an entry point (``meterbench.registry``): meterbench's own and those of any
installed package that registers its own, with the distribution that provides it.
"""

from __future__ import annotations

import argparse
import json

from meterbench import registry


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("registry", help="list registered meter models, instrument drivers and "
                       "benches", description=__doc__)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def _instrument_row(name: str) -> dict[str, str]:
    try:
        kind = registry.load_object(registry.INSTRUMENTS, name, what="instrument driver")
        return dict(roles=", ".join(kind.roles), title=kind.title)
    except (registry.RegistryError, AttributeError) as exc:
        return dict(roles="?", title=f"cannot be loaded: {exc}")


def run(args: argparse.Namespace) -> int:
    doc: dict[str, list[dict[str, str]]] = {}
    for group, label in ((registry.METER_MODELS, "meter_models"),
                         (registry.INSTRUMENTS, "instruments"), (registry.BENCHES, "benches")):
        rows = []
        for name, e in sorted(registry.entries(group).items()):
            row = dict(name=name, distribution=e.distribution, value=e.value)
            if group == registry.INSTRUMENTS:
                row.update(_instrument_row(name))
            rows.append(row)
        doc[label] = rows
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for label, rows in doc.items():
        print(f"{label.replace('_', ' ')}:")
        for r in rows:
            extra = f"  [{r['roles']}] {r['title']}" if "roles" in r else ""
            print(f"  {r['name']:<22} {r['distribution']:<28}{extra}")
    return 0
