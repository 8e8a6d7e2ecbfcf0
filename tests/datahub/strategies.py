"""Hypothesis strategies for arbitrary (not necessarily valid) RSM-012 messages."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from meterbench.datahub.model import Message, Period, Point, Series

MIN_MS = 946_684_800_000    # 2000-01-01
MAX_MS = 4_102_444_800_000  # 2100-01-01

# Printable text with markup and quotes, no control characters or surrounding whitespace
# (XML cannot carry most control characters; the reader trims element text).
identifier = st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=36)
code = st.sampled_from(["E66", "E23", "A04", "E17", "D15", "X<&>\"'"])
minute_ms = st.integers(MIN_MS // 60_000, MAX_MS // 60_000).map(lambda m: m * 60_000)
any_ms = st.integers(MIN_MS, MAX_MS)
quantity = st.decimals(min_value=Decimal("-9999999999.999"), max_value=Decimal("99999999999.999"),
                       places=3, allow_nan=False, allow_infinity=False)
point = st.builds(Point, position=st.integers(1, 999_999),
                  quantity=st.one_of(st.none(), quantity),
                  quality=st.one_of(st.none(), st.sampled_from(["A02", "A03", "A04", "A06"])))
period = st.builds(Period, resolution=st.sampled_from(["PT15M", "PT1H", "P1M", "PT5M"]),
                   start_ms=minute_ms, end_ms=minute_ms,
                   points=st.lists(point, min_size=1, max_size=8).map(tuple))
series = st.builds(Series, mrid=identifier, metering_point_id=identifier,
                   metering_point_type=code, registration_ms=any_ms, period=period,
                   product=st.one_of(st.none(), identifier), unit=st.sampled_from(["KWH", "K3", "MWH"]),
                   original_transaction_id=st.one_of(st.none(), identifier),
                   metering_point_scheme=st.sampled_from(["A10", "A01"]))
message = st.builds(Message, mrid=identifier, sender_id=identifier, receiver_id=identifier,
                    created_ms=any_ms, series=st.lists(series, max_size=3).map(tuple),
                    type=code, process_type=code,
                    business_sector=st.one_of(st.none(), st.just("23")),
                    sender_role=code, receiver_role=code)
