"""Judge a message file as DataHub would: schema conformance (when the schemas are at hand) and
BRS-021 business rules, plus warnings that do not reject (GS1 check digits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from meterbench.datahub.cim_xml import parse_xml_safely
from meterbench.datahub.files import MessageFile
from meterbench.datahub.identifiers import gs1_check_digit_ok
from meterbench.datahub.model import Message, MeteringPoint
from meterbench.datahub.rules import validate_message
from meterbench.datahub.schema import SchemaValidator


@dataclass
class CheckResult:
    schema_errors: list[str] = field(default_factory=list)
    rule_rejections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schema_checked: bool = False

    @property
    def rejected(self) -> bool:
        return bool(self.schema_errors or self.rule_rejections)

    def reasons(self) -> list[str]:
        return [f"[schema] {e}" for e in self.schema_errors] + self.rule_rejections


def check_message_file(message_file: MessageFile, schemas: SchemaValidator | None,
                       metering_points: Mapping[str, MeteringPoint] | None = None, *,
                       now_ms: int | None = None) -> CheckResult:
    result = CheckResult()
    if schemas is not None:
        result.schema_checked = True
        if message_file.format == "json":
            text = message_file.data.decode("utf-8-sig")
            result.schema_errors = schemas.json_errors(text)
        else:
            root = parse_xml_safely(message_file.data, source=str(message_file.path))
            result.schema_errors = schemas.xml_errors(root)
    result.rule_rejections = [r.format() for r in validate_message(
        message_file.message, metering_points, now_ms=now_ms)]
    result.warnings = identifier_warnings(message_file.message)
    return result


def identifier_warnings(message: Message) -> list[str]:
    """GS1 check-digit mismatches: real GLNs/GSRNs have a valid one, test data often does not."""
    ids = [("sender GLN", message.sender_id), ("receiver GLN", message.receiver_id)]
    ids += [("GSRN", s.metering_point_id) for s in message.series]
    return [f"{what} {value} has a wrong GS1 check digit" for what, value in ids
            if value.isdigit() and not gs1_check_digit_ok(value)]
