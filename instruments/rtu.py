"""Modbus RTU framing facts shared by the simulated line and the driver's frame checks.

Source: Modbus over Serial Line Specification and Implementation Guide V1.02 (modbus.org, 2006):
frame = address, PDU, CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF, low byte first)
(section 2.5.1.2 and appendix B); inter-frame silence 3.5 character times, fixed at 1.750 ms above
19200 baud (section 2.5.1.1); a character is 1 start bit, 8 data bits, a parity bit (or a second
stop bit when there is no parity, which the spec requires but real devices often drop), stop bits.
"""

from __future__ import annotations


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _table()


def crc16(data: bytes) -> int:
    """Modbus CRC-16 of ``data`` (append as ``crc.to_bytes(2, "little")``)."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


def frame(unit_id: int, pdu: bytes) -> bytes:
    body = bytes((unit_id,)) + pdu
    return body + crc16(body).to_bytes(2, "little")


def crc_ok(adu: bytes) -> bool:
    return len(adu) >= 4 and crc16(adu[:-2]) == int.from_bytes(adu[-2:], "little")


def request_length(buf: bytes | bytearray) -> int | None:
    """Length of the request frame at the start of ``buf``; ``None`` if more bytes are needed.

    RTU frames carry no length: it follows from the function code. Unknown function codes take
    the whole buffer (the sender wrote one frame at a time).
    """
    if len(buf) < 2:
        return None
    fc = buf[1]
    if fc in (1, 2, 3, 4, 5, 6):
        n = 8
    elif fc in (15, 16):
        if len(buf) < 7:
            return None
        n = 9 + buf[6]
    else:
        n = len(buf)
    return n if len(buf) >= n else None


def response_length(buf: bytes | bytearray) -> int | None:
    """Length of the response frame at the start of ``buf``; ``None`` if more bytes are needed."""
    if len(buf) < 3:
        return None
    fc = buf[1]
    if fc & 0x80:
        n = 5
    elif fc in (1, 2, 3, 4):
        n = 5 + buf[2]
    elif fc in (5, 6, 15, 16):
        n = 8
    else:
        n = len(buf)
    return n if len(buf) >= n else None


def bits_per_char(parity: str, stopbits: int, bytesize: int = 8) -> int:
    return 1 + bytesize + (0 if parity.upper() == "N" else 1) + stopbits


def silence_s(baud: int, parity: str = "N", stopbits: int = 1) -> float:
    """The 3.5-character inter-frame silence; fixed 1.750 ms above 19200 baud (V1.02, 2.5.1.1)."""
    if baud > 19200:
        return 0.00175
    return 3.5 * bits_per_char(parity, stopbits) / baud


def transaction_time_s(request_bytes: int, response_bytes: int, baud: int, parity: str = "N",
                       stopbits: int = 1) -> float:
    """Wire time of one request/response pair, each frame followed by its silence."""
    char_s = bits_per_char(parity, stopbits) / baud
    return (request_bytes + response_bytes) * char_s + 2 * silence_s(baud, parity, stopbits)
