"""Code values of the RSM-012 NotifyValidatedMeasureData message.

Every value here is taken from Energinet's RSM-012 (NotifyValidatedMeasureData) CIM message and
its business process BRS-021, and checked against the code lists of Energinet's official
schemas (``urn-entsoe-eu-wgedi-codelists``). They are protocol constants, not country presets:
the message is Danish DataHub's.
"""

from __future__ import annotations

from meterbench.core.quality import Quality

#: Document ``type``: E66 (RSM-012).
DOCUMENT_TYPE = "E66"
#: ``process.processType``: E23 (RSM-012).
PROCESS_TYPE = "E23"
#: ``businessSector.type``: 23 (RSM-012).
BUSINESS_SECTOR = "23"
#: ``codingScheme`` A10 = GS1 (GLN for parties, GSRN for metering points) (RSM-012 code list).
CODING_SCHEME_GS1 = "A10"
#: Sender role MDR, metered data responsible; receiver role DGL, DataHub (RSM-012).
SENDER_ROLE = "MDR"
RECEIVER_ROLE = "DGL"
#: ``product`` for active energy: 8716867000030 (RSM-012).
PRODUCT_ACTIVE_ENERGY = "8716867000030"
#: ``quantity_Measure_Unit.name``: KWH; kVArh is UN/ECE Rec. 20 code K3 (BRS-021 "unit" check).
UNIT_KWH = "KWH"
UNIT_KVARH = "K3"
ACCEPTED_UNITS = frozenset({UNIT_KWH, UNIT_KVARH})

#: Point quality codes (RSM-012 code list: A01 adjusted, A02 not available, A03 estimated, A04 as provided,
#: A05 incomplete, A06 calculated). DataHub accepts only these three on incoming data (BRS-021).
QUALITY_NOT_AVAILABLE = "A02"
QUALITY_ESTIMATED = "A03"
QUALITY_AS_PROVIDED = "A04"
ACCEPTED_QUALITIES = frozenset({QUALITY_NOT_AVAILABLE, QUALITY_ESTIMATED, QUALITY_AS_PROVIDED})
#: A point with no quality counts as A04 (BRS-021).
DEFAULT_QUALITY = QUALITY_AS_PROVIDED

#: Resolutions DataHub accepts (BRS-021).
ACCEPTED_RESOLUTIONS = frozenset({"PT15M", "PT1H", "P1M"})
#: Resolutions the builder produces (operators send 15-min or 60-min energies, BRS-021).
BUILD_RESOLUTIONS = ("PT15M", "PT1H")

#: Metering point types (RSM-012 code list): E17 consumption, E18 production, E20 exchange, and
#: child types. Only the ones the bench uses; the schema's code list has more.
METERING_POINT_TYPES = frozenset({"E17", "E18", "E20", "D01", "D06", "D07", "D14", "D15", "D99"})
#: Metering point subtypes (DataHub 3); only physical and virtual may receive data (BRS-021).
SUBTYPES = frozenset({"physical", "virtual", "calculated"})
SUBTYPES_RECEIVING_DATA = frozenset({"physical", "virtual"})


def quality_code(quality: Quality, *, calculated_as: str = QUALITY_ESTIMATED) -> str:
    """The code a bench quality is *sent* as.

    ``Quality.cim`` maps CALCULATED to A06, but DataHub refuses A06 on incoming data (BRS-021 accepts
    only A02/A03/A04). A value the operator computed rather than read is not "as provided", so the
    builder sends it as A03 (estimated) unless told otherwise.
    """
    if quality is Quality.CALCULATED:
        return calculated_as
    return quality.cim
