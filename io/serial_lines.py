"""NMEA-style serial lines (DESIGN.md section 4): encoders and an incremental parser.

Device to host: `$D,<seq>,<t_us>,<v1>,...,<vn>*CS` (samples), `$M,<name>:<unit>,...*CS`
(channel metadata), `$A,<id>,<status>,<reason>*CS` (acks). Host to device:
`$C,<id>,<op>,<key=value>,...*CS` (commands). CS is the XOR of the bytes between `$` and `*`,
two hex digits. Lines end in `\\n` (a `\\r` before it is ignored).

Pure codec, no I/O. The parser is fed byte chunks as they arrive; a line with a bad checksum, a
wrong field count or garbage is counted and dropped, and it resynchronises on the next `$`.
It never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_LINE = 8192  # bytes; a longer run without a newline is garbage (a stuck or noisy line)
_FORBIDDEN = set(",*$\r\n")


def checksum(body: bytes) -> int:
    """XOR of every byte of body (the text between `$` and `*`)."""
    cs = 0
    for b in body:
        cs ^= b
    return cs


def _frame(fields: list[str]) -> bytes:
    body = ",".join(fields).encode("ascii")
    return b"$" + body + b"*%02X\n" % checksum(body)


def _text(value, what: str) -> str:
    s = str(value)
    if _FORBIDDEN & set(s) or not s.isascii():
        raise ValueError(f"{what} {s!r} must be ASCII without , * $ or line breaks")
    return s


def encode_data(seq: int, t_us: int, values, fmt: str = "{:.7g}") -> bytes:
    """`$D,<seq>,<t_us>,<v1>,...*CS\\n`: one sample of every channel."""
    return _frame(["D", str(int(seq)), str(int(t_us))] + [fmt.format(float(v)) for v in values])


def encode_meta(channels, units) -> bytes:
    """`$M,<name>:<unit>,...*CS\\n`: channel names and units, in sample order."""
    channels, units = list(channels), list(units)
    if len(channels) != len(units):
        raise ValueError(f"{len(channels)} channel names but {len(units)} units")
    return _frame(["M"] + [f"{_text(n, 'channel name')}:{_text(u, 'unit')}"
                           for n, u in zip(channels, units)])


def encode_ack(id_: str, status: str, reason: str = "") -> bytes:
    """`$A,<id>,<status>,<reason>*CS\\n` (status: accepted, rejected, done)."""
    return _frame(["A", _text(id_, "id"), _text(status, "status"), _text(reason, "reason")])


def encode_cmd(id_: str, op: str, args: dict | None = None) -> bytes:
    """`$C,<id>,<op>,<key=value>,...*CS\\n`."""
    fields = ["C", _text(id_, "id"), _text(op, "op")]
    for k, v in (args or {}).items():
        fields.append(f"{_text(k, 'argument name')}={_text(v, 'argument value')}")
    return _frame(fields)


@dataclass(frozen=True)
class DataLine:
    seq: int
    t_us: int
    values: tuple[float, ...]


@dataclass(frozen=True)
class MetaLine:
    channels: tuple[str, ...]
    units: tuple[str, ...]


@dataclass(frozen=True)
class AckLine:
    id: str
    status: str
    reason: str


@dataclass(frozen=True)
class CmdLine:
    id: str
    op: str
    args: dict  # key -> value text


Message = DataLine | MetaLine | AckLine | CmdLine


@dataclass
class LineParser:
    """Incremental parser: `feed(chunk) -> [messages]`. Counters say what was dropped.

    n_channels fixes the field count of `$D` lines; left at None it is learned from the first
    `$M` line (until then any `$D` with at least one value is accepted).
    """

    n_channels: int | None = None
    lines: int = 0  # good lines
    bad_checksum: int = 0
    bad_fields: int = 0  # wrong field count, or a field that does not parse
    garbage: int = 0  # bytes outside `$...*CS` lines, unknown types, overlong lines
    last_error: str = ""
    _buf: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def dropped(self) -> int:
        return self.bad_checksum + self.bad_fields + self.garbage

    def feed(self, chunk: bytes) -> list[Message]:
        out: list[Message] = []
        buf = self._buf
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > MAX_LINE:
                    self._drop("garbage", f"{len(buf)} bytes without a line end")
                    # keep from the last `$`: it may start a good line
                    last = buf.rfind(b"$", 1)
                    del buf[:last if last > 0 else len(buf)]
                return out
            line = bytes(buf[:nl])
            del buf[:nl + 1]
            msg = self._line(line)
            if msg is not None:
                out.append(msg)

    def _drop(self, counter: str, why: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        self.last_error = why

    def _line(self, line: bytes) -> Message | None:
        line = line.rstrip(b"\r")
        start = line.rfind(b"$")
        if start < 0:
            if line.strip():
                self._drop("garbage", f"no '$' in {line[:40]!r}")
            return None
        if start > 0 and line[:start].strip():
            # bytes before the last `$`: noise, or a torn line cut short by a new one
            self._drop("garbage", f"skipped {start} bytes before '$'")
        line = line[start + 1:]
        body, star, cs = line.rpartition(b"*")
        if not star or len(cs) != 2:
            self._drop("garbage", f"no '*XX' checksum in {line[:40]!r}")
            return None
        try:
            expected = int(cs, 16)
        except ValueError:
            self._drop("garbage", f"checksum {cs!r} is not hex")
            return None
        if checksum(body) != expected:
            self._drop("bad_checksum", f"checksum {cs.decode('ascii', 'replace')} != "
                       f"{checksum(body):02X}")
            return None
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            self._drop("garbage", "non-ASCII bytes in a line")
            return None
        fields = text.split(",")
        kind, rest = fields[0], fields[1:]
        try:
            msg = self._parse(kind, rest)
        except (ValueError, OverflowError) as e:
            self._drop("bad_fields", f"${kind}: {e}")
            return None
        if msg is None:
            self._drop("garbage", f"unknown line type {kind!r}")
            return None
        self.lines += 1
        return msg

    def _parse(self, kind: str, f: list[str]) -> Message | None:
        if kind == "D":
            n = self.n_channels
            if len(f) < 3 or (n is not None and len(f) != n + 2):
                raise ValueError(f"{len(f)} fields, expected seq, t_us and "
                                 f"{n if n is not None else 'at least 1'} value(s)")
            values = tuple(float(v) for v in f[2:])
            if any(math.isinf(v) for v in values):
                raise ValueError("infinite value")
            return DataLine(int(f[0]), int(f[1]), values)
        if kind == "M":
            if not f or not all(":" in c for c in f):
                raise ValueError("expected name:unit fields")
            names, units = zip(*(c.split(":", 1) for c in f))
            self.n_channels = len(names)
            return MetaLine(tuple(names), tuple(units))
        if kind == "A":
            if len(f) != 3:
                raise ValueError(f"{len(f)} fields, expected id, status, reason")
            return AckLine(*f)
        if kind == "C":
            if len(f) < 2:
                raise ValueError(f"{len(f)} fields, expected id, op and key=value arguments")
            args = {}
            for a in f[2:]:
                k, eq, v = a.partition("=")
                if not eq or not k:
                    raise ValueError(f"argument {a!r} is not key=value")
                args[k] = v
            return CmdLine(f[0], f[1], args)
        return None
