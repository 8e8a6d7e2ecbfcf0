"""A replay transport: the driver's exact bytes are checked against a recorded conversation.

In the spirit of pymeasure's ``expected_protocol``: a test lists ``(sent, answer)`` byte pairs,
including terminations; the driver under test runs over :class:`ReplayTransport`, every write must
equal the next ``sent``, every read returns that pair's ``answer``. This is the one place a fake
transport is right: it pins the wire protocol a real instrument will see.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from meterbench.instruments.scpi.transport import TransportTimeout

T = TypeVar("T")
Pair = tuple[bytes, bytes | None]


class ReplayMismatch(AssertionError):
    pass


class ReplayTransport:
    resource = "REPLAY::INSTR"
    timeout_ms = 0

    def __init__(self, pairs: Sequence[Pair], *, write_termination: bytes = b"\n",
                 read_termination: bytes = b"\n") -> None:
        self.pairs = list(pairs)
        self.position = 0
        self.write_termination = write_termination
        self.read_termination = read_termination
        self._pending: bytes | None = None
        self.closed = False

    def write(self, message: str) -> None:
        wire = message.encode("ascii") + self.write_termination
        if self._pending is not None:
            raise ReplayMismatch(f"wrote {wire!r} while answer {self._pending!r} was unread")
        if self.position >= len(self.pairs):
            raise ReplayMismatch(f"unexpected write {wire!r}: conversation already complete")
        sent, answer = self.pairs[self.position]
        if wire != sent:
            raise ReplayMismatch(f"exchange {self.position}: sent {wire!r}, expected {sent!r}")
        self.position += 1
        self._pending = answer

    def read(self) -> str:
        if self._pending is None:
            raise TransportTimeout(self.resource)  # nothing will come: what a real read sees
        wire, self._pending = self._pending, None
        if not wire.endswith(self.read_termination):
            raise ReplayMismatch(f"recorded answer {wire!r} lacks the read termination")
        return wire[: -len(self.read_termination)].decode("ascii")

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        if self.position != len(self.pairs) or self._pending is not None:
            rest = self.pairs[self.position:]
            raise ReplayMismatch(f"conversation not finished; still expected: {rest!r}")


@contextmanager
def expected_protocol(driver: type[T], pairs: Sequence[Pair], **kwargs: Any) -> Iterator[T]:
    """Run ``driver`` over a replay of ``pairs``; fail if any pair was not exchanged."""
    transport = ReplayTransport(pairs)
    instrument = driver(transport, **kwargs)
    yield instrument
    transport.assert_done()


NO_ERROR: Pair = (b"SYST:ERR?\n", b'0,"No error"\n')
WT_NO_ERROR: Pair = (b":STATus:ERRor?\n", b'0,"No error"\n')
