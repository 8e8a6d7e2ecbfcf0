"""A simulated SCPI instrument behind a real TCP socket on 127.0.0.1.

:class:`ScpiDevice` is the instrument's command interpreter: headers in short or long form and any
case (``SOUR:PHAS1:VOLT:MHAR:HARM1`` = ``source:phase1:voltage:mharmonics:harmonic1``), optional
nodes, numeric suffixes, ``;``-separated message units, IEEE 488.2 common commands, and an error
queue that collects what a real instrument would queue (unknown header, suffix out of range, data
out of range, missing parameter). A rejected query sends no answer, like a real instrument: the
client times out and reads the queue.

The IEEE 488.2 status model is the base's (IEEE Std 488.2-1992 §11): the Standard Event Status
Register (``*ESR?``, read and cleared; bits set by the error class of every queued error: query
error 2, device-dependent 3, execution 4, command 5; operation complete 0; power on 7), its enable
mask (``*ESE``), the Status Byte (``*STB?``: bit 2 error queue not empty (SCPI-99 Vol. 1 §9),
bit 4 MAV (a response already waits in this message's output), bit 5 ESB, bit 6 MSS) and the
Service Request Enable mask (``*SRE``), plus ``*CLS``, ``*RST``, ``*OPC``/``*OPC?``, ``*WAI`` and
``*TST?``. A device with an overlapped operation (a counter's measurement) says so through
:meth:`ScpiDevice.pending`: ``*OPC`` then sets ESR bit 0 once it completes, and ``*OPC?``/``*WAI``
hold the rest of the message (and the ``1``) until it has, as IEEE 488.2 §12.5 describes. On a
virtual clock nothing advances time while a client blocks in ``*OPC?``: a bench on virtual time
sends ``*OPC`` and polls ``*ESR?`` between its own waits instead.

:class:`ScpiServerLoop` runs asyncio servers in one background thread, one port per device (port 0:
the OS picks), reached by PyVISA as ``TCPIP::127.0.0.1::<port>::SOCKET`` with ``\\n`` terminations.

Simplification, stated: each message unit is resolved from the root (the SCPI rule that a unit
after ``;`` continues the previous header path is not implemented).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: SCPI-99 Vol. 2 §21.8 standard error codes and messages used by the simulators.
NO_ERROR = (0, "No error")
COMMAND_ERROR = (-100, "Command error")
MISSING_PARAMETER = (-109, "Missing parameter")
PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
UNDEFINED_HEADER = (-113, "Undefined header")
SUFFIX_OUT_OF_RANGE = (-114, "Header suffix out of range")
DATA_TYPE_ERROR = (-104, "Data type error")
EXECUTION_ERROR = (-200, "Execution error")
SETTINGS_CONFLICT = (-221, "Settings conflict")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
DEVICE_SPECIFIC_ERROR = (-300, "Device-specific error")
QUEUE_OVERFLOW = (-350, "Queue overflow")


#: IEEE 488.2 §11.5.1.1: Standard Event Status Register bits.
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME, ESR_PON = 1, 4, 8, 16, 32, 128
#: IEEE 488.2 §11.2: Status Byte bits (EAV, bit 2, is SCPI-99 Vol. 1's error/event queue summary).
STB_EAV, STB_MAV, STB_ESB, STB_MSS = 4, 16, 32, 64


def esr_bit(code: int) -> int:
    """The ESR bit an error of ``code`` sets (SCPI-99 Vol. 2 §21.8: -1xx command, -2xx execution,
    -3xx and positive device-specific, -4xx query)."""
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -499 <= code <= -400:
        return ESR_QYE
    return ESR_DDE


class _Deferred:
    """A response held back by ``*OPC?``/``*WAI`` until the pending operation completes."""

    def __repr__(self) -> str:
        return "DEFERRED"


#: What :meth:`ScpiDevice.handle` returns while ``*OPC?`` or ``*WAI`` waits for an operation.
DEFERRED = _Deferred()


class ScpiFault(Exception):
    """Raised by a command handler: queue ``code,"message[;detail]"`` and abandon the unit."""

    def __init__(self, error: tuple[int, str], detail: str = "") -> None:
        self.code, message = error
        self.message = f"{message};{detail}" if detail else message
        super().__init__(self.message)


Handler = Callable[[tuple[int | None, ...], list[str]], str | None]


def _node_regex(node: str) -> str:
    suffix = node.endswith("#")
    name = node.rstrip("#")
    short = "".join(c for c in name if c.isupper() or not c.isalpha())
    long_ = name.upper()
    alt = f"(?:{re.escape(long_)}|{re.escape(short)})" if short != long_ else re.escape(long_)
    return ":" + alt + (r"(\d*)" if suffix else "")


def header_regex(spec: str) -> re.Pattern[str]:
    """Compile a header spec like ``[SOURce]:PHASe#:VOLTage[:STATe]`` (``#`` = numeric suffix)."""
    parts = re.findall(r"\[:?([^\]]+)\]|:?([^:\[\]]+)", spec)
    pattern = ""
    for optional, required in parts:
        node = _node_regex(optional or required)
        pattern += f"(?:{node})?" if optional else node
    return re.compile("^" + pattern + "$", re.IGNORECASE)


def answer_header(spec: str, sent: str, *, long: bool) -> str:
    """The header an instrument puts before its answer: every node of ``spec`` (optional ones
    too) in short form (the capitals) or long form, with the numeric suffixes of ``sent``."""
    m = header_regex(spec).match(sent if sent.startswith(":") else ":" + sent)
    suffixes = iter(m.groups() if m else ())
    out = []
    for optional, required in re.findall(r"\[:?([^\]]+)\]|:?([^:\[\]]+)", spec):
        node = optional or required
        name = node.rstrip("#")
        word = name.upper() if long else "".join(c for c in name if c.isupper() or not c.isalpha())
        if node.endswith("#"):
            word += str(next(suffixes, None) or 1)
        out.append(word)
    return ":" + ":".join(out)


@dataclass(frozen=True)
class _Command:
    spec: str
    regex: re.Pattern[str]
    query: bool
    handler: Handler


def _split_units(message: str) -> list[str]:
    units, current, quoted = [], [], False
    for c in message:
        if c == '"':
            quoted = not quoted
        if c == ";" and not quoted:
            units.append("".join(current))
            current = []
        else:
            current.append(c)
    units.append("".join(current))
    return [u.strip() for u in units if u.strip()]


def _split_params(text: str) -> list[str]:
    if not text.strip():
        return []
    return [p.strip().strip('"') for p in text.split(",")]


def _bare(action: Callable[[], Any]) -> Handler:
    """A common command or query that takes no parameter: one given is refused with -108
    "Parameter not allowed" (a command error: ESR bit 5), as IEEE 488.2 requires, instead of
    being silently ignored."""
    def handler(suffixes: tuple[int | None, ...], args: list[str]) -> Any:
        if args:
            raise ScpiFault(PARAMETER_NOT_ALLOWED)
        return action()
    return handler


def _mask(args: list[str]) -> int:
    """An 8-bit enable mask (``*ESE``, ``*SRE``): NR1 0..255 (IEEE 488.2 §10.10, §10.34)."""
    if len(args) != 1:
        raise ScpiFault(MISSING_PARAMETER if not args else PARAMETER_NOT_ALLOWED)
    value = parse_number(args[0], name="mask")
    if not value.is_integer():
        raise ScpiFault(DATA_TYPE_ERROR, f"mask {args[0]!r} is not a whole number")
    return int(check_range(value, 0, 255))


def parse_number(text: str, *, name: str = "value") -> float:
    try:
        return float(text)
    except ValueError:
        raise ScpiFault(DATA_TYPE_ERROR, f"{name} {text!r} is not a number") from None


def parse_boolean(text: str) -> bool:
    t = text.strip().upper()
    if t in ("1", "ON"):
        return True
    if t in ("0", "OFF"):
        return False
    raise ScpiFault(ILLEGAL_PARAMETER, f"{text!r} is not ON|OFF|1|0")


def check_range(value: float, low: float, high: float) -> float:
    if not (low <= value <= high):
        raise ScpiFault(DATA_OUT_OF_RANGE, f"{value:g} outside [{low:g}, {high:g}]")
    return value


def format_number(x: float) -> str:
    """NR3 like a real instrument: ``2.300000E+02``."""
    return f"{x:.6E}"


class ScpiDevice:
    """Command interpreter with an error queue. Subclasses register their command set."""

    #: Error queue depth; SCPI-99 Vol. 2 §21.8.1: on overflow the last entry becomes -350.
    QUEUE_DEPTH = 16
    ERROR_QUERY_SPEC = "SYSTem:ERRor[:NEXT]"
    IDN = "SIMULATED,SCPI-DEVICE,0,0"

    def __init__(self) -> None:
        self._commands: list[_Command] = []
        self.errors: deque[tuple[int, str]] = deque()
        self.lock = threading.RLock()
        self.log: list[str] = []
        self.esr = ESR_PON  # IEEE 488.2 §11.5.1.1.1: set at power on
        self.ese = 0
        self.sre = 0
        self._opc_armed = False
        self._held: tuple[list[str], list[str]] | None = None  # units from the waiting one, replies
        self._replies: list[str] = []
        # IEEE 488.2 §10: only *ESE and *SRE take a parameter; the others refuse one (-108)
        self.register("*IDN", True, _bare(lambda: self.IDN))
        self.register("*RST", False, _bare(self._rst))
        self.register("*CLS", False, _bare(self._cls))
        self.register("*ESE", False, lambda s, a: setattr(self, "ese", _mask(a)))
        self.register("*ESE", True, _bare(lambda: str(self.ese)))
        self.register("*ESR", True, _bare(self._read_esr))
        self.register("*SRE", False, lambda s, a: setattr(self, "sre", _mask(a) & ~STB_MSS))
        self.register("*SRE", True, _bare(lambda: str(self.sre)))
        self.register("*STB", True, _bare(lambda: str(self.status_byte())))
        self.register("*OPC", False, _bare(self._arm_opc))
        self.register("*TST", True, _bare(lambda: "0"))  # IEEE 488.2 §10.38: 0 = passed
        self.register(self.ERROR_QUERY_SPEC, True, lambda s, a: self._pop_error())

    def register(self, spec: str, query: bool, handler: Handler) -> None:
        if spec.startswith("*"):
            regex = re.compile("^" + re.escape(spec) + "$", re.IGNORECASE)
        else:
            regex = header_regex(spec)
        self._commands.append(_Command(spec, regex, query, handler))

    def reset(self) -> None:
        """``*RST``: subclasses restore their reset state."""

    def pending(self) -> bool:
        """True while an overlapped operation (IEEE 488.2 §12.5) is still running."""
        return False

    def abort(self) -> None:
        """Stop any overlapped operation (``*RST`` does, IEEE 488.2 §10.32; ``*CLS`` does not:
        it only clears the status data and leaves the operation-complete idle states, §10.3)."""

    # -- IEEE 488.2 status model -------------------------------------------------------------------
    def _rst(self) -> None:
        self.abort()
        self._opc_armed = False
        self.reset()

    def _cls(self) -> None:
        self.errors.clear()
        self.esr = 0
        self._opc_armed = False

    def _arm_opc(self) -> None:
        self._opc_armed = True
        self._update_opc()

    def _update_opc(self) -> None:
        if self._opc_armed and not self.pending():
            self.esr |= ESR_OPC
            self._opc_armed = False

    def _read_esr(self) -> str:
        self._update_opc()
        value, self.esr = self.esr, 0
        return str(value)

    def status_byte(self) -> int:
        """IEEE 488.2 §11.2: EAV, MAV, ESB and the summary bit MSS (not cleared by reading)."""
        self._update_opc()
        stb = 0
        if self.errors:
            stb |= STB_EAV
        if self._replies:
            stb |= STB_MAV
        if self.esr & self.ese:
            stb |= STB_ESB
        if stb & self.sre:
            stb |= STB_MSS
        return stb

    def decorate_reply(self, spec: str, header: str, reply: str | None) -> str | None:
        """Hook for instruments that prefix answers with their header (Yokogawa HEADer ON)."""
        return reply

    def queue_error(self, code: int, message: str) -> None:
        self.esr |= esr_bit(code)
        if len(self.errors) >= self.QUEUE_DEPTH:
            self.errors[-1] = QUEUE_OVERFLOW
            return
        self.errors.append((code, message))

    def _pop_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else NO_ERROR
        return f'{code},"{message}"'

    def handle(self, message: str) -> str | _Deferred | None:
        """Execute one program message; return the response message, None if there is none, or
        :data:`DEFERRED` when ``*OPC?``/``*WAI`` waits for an operation (then call :meth:`resume`)."""
        with self.lock:
            self.log.append(message)
            self._replies = []
            return self._run(_split_units(message))

    def resume(self) -> str | _Deferred | None:
        """Continue a message held by ``*OPC?``/``*WAI`` once the operation has completed."""
        with self.lock:
            if self._held is None:
                return None
            units, self._replies = self._held
            self._held = None
            return self._run(units)

    def _run(self, units: list[str]) -> str | _Deferred | None:
        """Execute units in order; an ``*OPC?`` or ``*WAI`` meeting a pending operation holds
        itself and everything after it (asked again on each :meth:`resume`)."""
        while units:
            unit, rest = units[0], units[1:]
            head = unit.split(" ", 1)[0].upper()
            units = rest
            if head in ("*OPC?", "*WAI"):
                if unit.split(" ", 1)[1:] and unit.split(" ", 1)[1].strip():
                    self.queue_error(*PARAMETER_NOT_ALLOWED)  # neither takes one (§10.19, §10.39)
                    continue
                if self.pending():
                    self._held = ([unit, *rest], self._replies)
                    return DEFERRED
                if head == "*OPC?":
                    self._replies.append("1")
                continue
            reply = self._execute(unit)
            if reply is not None:
                self._replies.append(reply)
        replies, self._replies = self._replies, []
        return ";".join(replies) if replies else None

    def _execute(self, unit: str) -> str | None:
        header, _, rest = unit.partition(" ")
        is_query = header.endswith("?")
        bare = header[:-1] if is_query else header
        if not bare.startswith("*") and not bare.startswith(":"):
            bare = ":" + bare
        for cmd in self._commands:
            if cmd.query != is_query:
                continue
            m = cmd.regex.match(bare)
            if not m:
                continue
            suffixes = tuple(int(g) if g else None for g in m.groups())
            try:
                reply = cmd.handler(suffixes, _split_params(rest))
                return self.decorate_reply(cmd.spec, bare, reply) if is_query else reply
            except ScpiFault as fault:
                self.queue_error(fault.code, fault.message)
                return None
            except Exception as exc:  # noqa: BLE001 - a simulator fault must not drop the session
                code, text = DEVICE_SPECIFIC_ERROR
                self.queue_error(code, f"{text};{type(exc).__name__}: {exc}")
                return None
        self.queue_error(*UNDEFINED_HEADER)
        return None


class ScpiServerLoop:
    """One background thread with an asyncio loop serving any number of devices on 127.0.0.1."""

    #: How often a message held by ``*OPC?``/``*WAI`` is retried (wall time).
    POLL_S = 0.01

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-scpi",
                                        daemon=True)
        self._servers: list[asyncio.base_events.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread.start()

    def serve(self, device: ScpiDevice, *, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start serving ``device``; return the port the OS gave."""
        future = asyncio.run_coroutine_threadsafe(self._start(device, host, port), self._loop)
        server = future.result(timeout=10)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _start(self, device: ScpiDevice, host: str, port: int) -> asyncio.base_events.Server:
        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.add(writer)
            try:
                while line := await reader.readline():
                    text = line.decode("ascii", errors="replace").rstrip("\r\n")
                    if not text.strip():
                        continue
                    reply = device.handle(text)
                    while reply is DEFERRED:  # *OPC? / *WAI: answer once the operation completes
                        await asyncio.sleep(self.POLL_S)
                        reply = device.resume()
                    if isinstance(reply, str):
                        writer.write(reply.encode("ascii") + b"\n")
                        await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                self._writers.discard(writer)
                writer.close()

        return await asyncio.start_server(client, host, port)

    def close(self) -> None:
        async def stop_all() -> None:
            for server in self._servers:
                server.close()
            for writer in list(self._writers):  # clients still connected would keep servers open
                writer.close()
            for server in self._servers:
                await server.wait_closed()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(stop_all(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> ScpiServerLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
