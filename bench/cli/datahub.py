"""``meterbench datahub``: export a run's RSM-012 messages and validate message files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_iso
from meterbench.datahub.check import check_message_file
from meterbench.datahub.counts import count_positions
from meterbench.datahub.delivery import deliver
from meterbench.datahub.errors import MalformedMessage
from meterbench.datahub.files import FORMATS, read_message_file
from meterbench.datahub.run_export import (
    RESULTS_FILE,
    DeliveryInputs,
    build_run_messages,
    load_delivery_config,
    load_run,
)
from meterbench.datahub.schema import (
    SCHEMAS_ENV,
    SchemaValidator,
    find_schema_dir,
    is_schema_dir,
    missing_validator_modules,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datahub", help="DataHub RSM-012 messages: export a run, validate files",
        description="Build and check DataHub RSM-012 NotifyValidatedMeasureData messages.")
    commands = parser.add_subparsers(dest="datahub_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    export = commands.add_parser(
        "export", help="write one message per metering point and local day from a run folder")
    export.add_argument("run", type=Path, metavar="RUN", help="run folder (results.json, series/)")
    export.add_argument("--format", choices=FORMATS, default="json", help="CIM JSON or CIM XML")
    export.add_argument("--out", type=Path, metavar="DIR", help="output folder (default RUN/datahub)")
    export.add_argument("--period", choices=("day", "covered"), default="day",
                        help="day: whole local days, missing intervals as A02 (default); "
                             "covered: only the span the intervals cover within each day")
    export.add_argument("--created", metavar="TIME",
                        help="createdDateTime as ISO 8601 UTC (default: now), for reproducible files")
    export.add_argument("--schemas", type=Path, metavar="DIR", help="schema folder (see validate)")
    export.set_defaults(func=run_export)

    validate = commands.add_parser(
        "validate", help="check message files against the schemas and BRS-021 business rules")
    validate.add_argument("files", type=Path, nargs="+", metavar="FILE")
    validate.add_argument("--schemas", type=Path, metavar="DIR",
                          help=f"folder with json/ and xml/ schemas (default: the folder "
                               f"${SCHEMAS_ENV} names; none: business rules only)")
    validate.add_argument("--run", type=Path, metavar="RUN",
                          help="run folder whose results.json gives metering point master data "
                               "(enables the unit, resolution and subtype checks)")
    validate.add_argument("--now", metavar="TIME",
                          help="'today' for the 3-year age rule (default: each message's "
                               "createdDateTime)")
    validate.set_defaults(func=run_validate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def schema_validation(option: Path | None) -> tuple[SchemaValidator | None, str | None]:
    """The schema validator of ``--schemas`` (or the folder the environment names), or None with
    the note saying why validation is skipped. A ``--schemas`` that is not a schema folder is a
    user error. ``daily`` and ``datahub`` share this, so the note reads the same everywhere."""
    missing = missing_validator_modules()
    if missing:
        return None, (f"meterbench: schema validation skipped: {', '.join(missing)} not "
                      "installed (install meterbench[datahub]); business rules only")
    if option is not None:
        if not is_schema_dir(option):
            raise UserError("not a schema folder", source=str(option), field="--schemas",
                            expected="json/ and xml/ with the RSM-012 schemas")
        return SchemaValidator(option), None
    found = find_schema_dir()
    if found is None:
        return None, (f"meterbench: schema validation skipped: no schema folder given "
                      f"(--schemas DIR or ${SCHEMAS_ENV}); business rules only")
    return SchemaValidator(found), None


def _schemas(option: Path | None) -> SchemaValidator | None:
    validator, note = schema_validation(option)
    if note:
        print(note, file=sys.stderr)
    return validator


def run_validate(args: argparse.Namespace) -> int:
    schemas = _schemas(args.schemas) if args.schemas is not None else None  # an option error first
    metering_points = None
    if args.run is not None:
        _, _, points = load_delivery_config(args.run / RESULTS_FILE)
        metering_points = {mp.gsrn: mp for mp in points}
    now_ms = parse_iso(args.now, field="--now") if args.now else None
    worst = 0
    parsed = []
    for path in args.files:  # every file read first: an unreadable one is its one error line
        try:
            parsed.append((path, read_message_file(path)))
        except MalformedMessage as exc:
            print(f"meterbench: error: {exc.format()}", file=sys.stderr)
            worst = 2
    if args.schemas is None and parsed:  # found automatically, once there is something to check
        schemas = _schemas(None)
    for path, message_file in parsed:
        try:
            result = check_message_file(message_file, schemas, metering_points, now_ms=now_ms)
        except MalformedMessage as exc:
            print(f"meterbench: error: {exc.format()}", file=sys.stderr)
            worst = 2
            continue
        checked = "schema and business rules" if result.schema_checked else "business rules only"
        for warning in result.warnings:
            print(f"{path}: warning: {warning}")
        if result.rejected:
            print(f"{path}: REJECTED ({message_file.format}, {checked})")
            for reason in result.reasons():
                print(f"  {reason}")
            worst = max(worst, 1)
        else:
            print(f"{path}: accepted ({message_file.format}, {checked})")
        for series in message_file.message.series:
            print(f"  {series.metering_point_id}: {count_positions(series).describe()}")
    return worst


def _say_what_is_not_delivered(inputs: DeliveryInputs) -> None:
    """Metering points without intervals, and interval channels no metering point asks for."""
    channels = {(iv.meter, iv.channel) for iv in inputs.intervals}
    wanted = {(mp.meter, mp.channel) for mp in inputs.metering_points}
    for mp in inputs.metering_points:
        if (mp.meter, mp.channel) not in channels:
            print(f"note: metering point {mp.gsrn} ({mp.meter}/{mp.channel}) has no intervals in "
                  "the run: nothing to deliver", file=sys.stderr)
    unmapped = sorted(channels - wanted)
    if unmapped:
        print("note: not delivered (no metering point in results.json): "
              + ", ".join(f"{meter}/{channel}" for meter, channel in unmapped), file=sys.stderr)


def run_export(args: argparse.Namespace) -> int:
    created_ms = (parse_iso(args.created, field="--created") if args.created
                  else time.time_ns() // 1_000_000)
    out_dir = args.out if args.out is not None else args.run / "datahub"
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError("is a file, not a folder", source=str(out_dir), field="--out",
                        expected="a folder for the message files")
    inputs = load_run(args.run)
    messages = build_run_messages(inputs, created_ms, whole_days=args.period == "day")
    _say_what_is_not_delivered(inputs)
    schemas = _schemas(args.schemas)
    metering_points = {mp.gsrn: mp for mp in inputs.metering_points}
    items = deliver(messages, args.format, out_dir, metering_points, schemas)
    for item in items:
        print(item.summary())
        for line in [f"warning: {w}" for w in item.check.warnings] + item.check.reasons():
            print(f"  {line}")
    if not items:
        print("no messages: no metering point has intervals in the run", file=sys.stderr)
    rejected = sum(item.rejected for item in items)
    checked = "schema and business rules" if schemas is not None else "business rules only"
    print(f"{len(items)} message(s) written to {out_dir}, {rejected} rejected ({checked})")
    return 1 if rejected else 0
