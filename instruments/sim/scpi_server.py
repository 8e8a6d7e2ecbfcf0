"""A simulated SCPI instrument behind a real TCP socket on 127.0.0.1.

:class:`ScpiDevice` is the instrument's command interpreter: headers in short or long form and any
case (``SOUR:PHAS1:VOLT:MHAR:HARM1`` = ``source:phase1:voltage:mharmonics:harmonic1``), optional
nodes, numeric suffixes, ``;``-separated message units, IEEE 488.2 common commands, and an error
queue that collects what a real instrument would queue (unknown header, suffix out of range, data
out of range, missing parameter). A rejected query sends no answer, like a real instrument: the
client times out and reads the queue.

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
        self.register("*IDN", True, lambda s, a: self.IDN)
        self.register("*RST", False, lambda s, a: self.reset())
        self.register("*CLS", False, lambda s, a: self.errors.clear())
        self.register("*OPC", True, lambda s, a: "1")
        self.register("*OPC", False, lambda s, a: None)
        self.register(self.ERROR_QUERY_SPEC, True, lambda s, a: self._pop_error())

    def register(self, spec: str, query: bool, handler: Handler) -> None:
        if spec.startswith("*"):
            regex = re.compile("^" + re.escape(spec) + "$", re.IGNORECASE)
        else:
            regex = header_regex(spec)
        self._commands.append(_Command(spec, regex, query, handler))

    def reset(self) -> None:
        """``*RST``: subclasses restore their reset state."""

    def decorate_reply(self, spec: str, header: str, reply: str | None) -> str | None:
        """Hook for instruments that prefix answers with their header (Yokogawa HEADer ON)."""
        return reply

    def queue_error(self, code: int, message: str) -> None:
        if len(self.errors) >= self.QUEUE_DEPTH:
            self.errors[-1] = QUEUE_OVERFLOW
            return
        self.errors.append((code, message))

    def _pop_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else NO_ERROR
        return f'{code},"{message}"'

    def handle(self, message: str) -> str | None:
        """Execute one program message; return the response message, or None if there is none."""
        replies: list[str] = []
        with self.lock:
            self.log.append(message)
            for unit in _split_units(message):
                reply = self._execute(unit)
                if reply is not None:
                    replies.append(reply)
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
                    if reply is not None:
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
