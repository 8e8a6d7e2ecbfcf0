"""Judge a message file as DataHub would: schema conformance (when the schemas are at hand) and
BRS-021 business rules (identifiers of the wrong shape included), plus warnings that do not reject
(a GS1 check digit that does not fit an identifier of the right shape)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from meterbench.datahub import codes
from meterbench.datahub.cim_xml import parse_xml_safely
from meterbench.datahub.files import MessageFile
from meterbench.datahub.identifiers import check_digit_problem
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
    """GS1 check-digit mismatches on GS1 identifiers of the right shape: real GLNs/GSRNs have a
    valid one, test data often does not. Wrong shapes are rejections (rule ``identifier``)."""
    ids = [("sender", "GLN", message.sender_id, message.sender_scheme),
           ("receiver", "GLN", message.receiver_id, message.receiver_scheme)]
    ids += [("metering point", "GSRN", s.metering_point_id, s.metering_point_scheme)
            for s in message.series]
    out = []
    for role, kind, value, scheme in ids:
        problem = check_digit_problem(value, kind) if scheme == codes.CODING_SCHEME_GS1 else None
        if problem:
            out.append(f"{role} {problem}")
    return out
