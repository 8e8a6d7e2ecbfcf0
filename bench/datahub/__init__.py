"""DataHub RSM-012 (NotifyValidatedMeasureData) messages: build, write, parse, validate.

The functions the rest of the bench calls:

* :func:`build_messages` - interval energies + metering points -> one message per point and day;
* :func:`to_json` / :func:`to_xml` and :func:`from_json` / :func:`from_xml` - the two wire formats;
* :func:`validate_message` - BRS-021 business rules -> list of :class:`Rejection`;
* :class:`SchemaValidator` / :func:`find_schema_dir` - conformance with Energinet's schemas;
* :func:`deliver` - write messages into an outbox, judge each file, count delivered/missing.
"""

from __future__ import annotations

from meterbench.datahub.build import Intervals, build_messages, local_day_bounds
from meterbench.datahub.cim_json import from_json, to_json
from meterbench.datahub.cim_xml import from_xml, to_xml
from meterbench.datahub.delivery import DeliveryItem, deliver
from meterbench.datahub.errors import MalformedMessage, UnsafeXml
from meterbench.datahub.model import Message, MeteringPoint, Period, Point, Series
from meterbench.datahub.rules import Rejection, validate_message
from meterbench.datahub.schema import SchemaValidator, find_schema_dir

__all__ = [
    "DeliveryItem", "Intervals", "MalformedMessage", "Message", "MeteringPoint", "Period", "Point", "Rejection",
    "SchemaValidator", "Series", "UnsafeXml", "build_messages", "deliver", "find_schema_dir", "from_json",
    "from_xml", "local_day_bounds", "to_json", "to_xml", "validate_message",
]
