"""Quality codes that travel with every interval value.

Stored as small integers in numpy arrays (``uint8``). The mapping to CIM codes follows DataHub 3
(RSM-012 quality code list; Energinet DataHub 3 source, opengeh-wholesale / opengeh-measurements): A04 as provided (measured), A03 estimated, A06 calculated,
A02 not available (missing).
"""

from __future__ import annotations

from enum import IntEnum


class Quality(IntEnum):
    MISSING = 0
    MEASURED = 1
    ESTIMATED = 2
    CALCULATED = 3

    @property
    def cim(self) -> str:
        return CIM_CODE[self]

    @property
    def label(self) -> str:
        return self.name.lower()


CIM_CODE: dict[Quality, str] = {
    Quality.MISSING: "A02",
    Quality.MEASURED: "A04",
    Quality.ESTIMATED: "A03",
    Quality.CALCULATED: "A06",
}
FROM_CIM: dict[str, Quality] = {code: q for q, code in CIM_CODE.items()}
FROM_LABEL: dict[str, Quality] = {q.label: q for q in Quality}
