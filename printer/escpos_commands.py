"""ESC/POS commands: where each one ends in a byte stream, and what its arguments are.

`next_command(buffer, pos)` parses one command, for stream consumers such as the simulated
printer in `hardware.escpos_sim` (None: the buffer ends inside it, read more);
`iter_commands(data)` walks a complete stream. A command is named as in Epson's reference
('ESC a', 'GS v 0', 'DLE EOT'); text between commands is a 'TEXT' command. What the commands
mean is `printer.escpos_decode`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cardio.errors import MalformedError

__all__ = ["Command", "EscposDecodeError", "iter_commands", "next_command"]

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C


class EscposDecodeError(MalformedError):
    """Bytes that are not a well-formed ESC/POS stream (truncated, inconsistent, unknown)."""


@dataclass(frozen=True)
class Command:
    """One parsed command: `name` such as 'ESC a' or 'GS v 0', its argument bytes, its span."""

    name: str
    args: bytes
    start: int
    end: int
    data: bytes = b""  # bulk payload (image bits, QR data, text bytes)


# ESC commands with a fixed total length (ESC and the command byte included).
_ESC_FIXED = {
    b"@": 2,
    b"a": 3,
    b"E": 3,
    b"-": 3,
    b"M": 3,
    b"!": 3,
    b"d": 3,
    b"J": 3,
    b"e": 3,
    b"2": 2,
    b"3": 3,
    b"+": 3,
    b"A": 3,
    b"t": 3,
    b"R": 3,
    b"G": 3,
    b"{": 3,
    b"V": 3,
    b"r": 3,
    b"p": 5,
    b"=": 3,
    b"B": 4,
    b" ": 3,
    b"$": 4,
    b"\\": 4,
    b"U": 3,
    b"L": 2,
    b"S": 2,
    b"T": 3,
    b"W": 10,
    b"K": 3,
    b"f": 4,
    b"i": 2,
    b"m": 2,
    b"%": 3,
    b"?": 3,
    b"<": 2,
    b"u": 3,
    b"v": 2,
    b"l": 3,
    b"Q": 3,
}
_ESC_C_SUB = {b"0": 4, b"1": 4, b"3": 4, b"4": 4, b"5": 4}
_FS_FIXED = {b".": 2, b"&": 2, b"C": 3, b"!": 3, b"-": 3, b"S": 4, b"W": 3, b"p": 4}
_GS_FIXED = {
    b"!": 3,
    b"B": 3,
    b"b": 3,
    b"h": 3,
    b"w": 3,
    b"H": 3,
    b"f": 3,
    b"r": 3,
    b"I": 3,
    b"a": 3,
    b"|": 3,
    b"L": 4,
    b"W": 4,
    b"P": 4,
    b"$": 4,
    b"\\": 4,
    b"/": 3,
    b"T": 3,
    b"Z": 3,
    b"j": 3,
    b"^": 5,
    b":": 2,
    b"E": 3,
    b"g": 5,
}


class _Incomplete(Exception):
    pass


def _need(buf: bytes, end: int) -> None:
    if end > len(buf):
        raise _Incomplete


def _parse(buf: bytes, pos: int) -> Command:
    """Parse one command at `pos`; raises _Incomplete when the buffer ends inside it."""
    b = buf[pos]
    if b == ESC:
        _need(buf, pos + 2)
        op = buf[pos + 1 : pos + 2]
        if op == b"*":  # ESC * m nL nH d1..dk (column bit image)
            _need(buf, pos + 5)
            m, n = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            end = pos + 5 + n * (3 if m in (32, 33) else 1)
            _need(buf, end)
            return Command("ESC *", buf[pos + 2 : pos + 5], pos, end, buf[pos + 5 : end])
        if op == b"D":  # ESC D n1 .. nk NUL (tab stops, at most 32)
            i = pos + 2
            while True:
                _need(buf, i + 1)
                if buf[i] == 0 or i - pos > 34:
                    break
                i += 1
            return Command("ESC D", buf[pos + 2 : i], pos, i + 1)
        if op == b"c":
            _need(buf, pos + 3)
            sub = buf[pos + 2 : pos + 3]
            length = _ESC_C_SUB.get(sub, 3)
            _need(buf, pos + length)
            return Command(
                f"ESC c {sub.decode('latin-1')}", buf[pos + 3 : pos + length], pos, pos + length
            )
        fixed = _ESC_FIXED.get(op)
        if fixed is None:
            return Command("unknown", buf[pos : pos + 2], pos, pos + 2)
        _need(buf, pos + fixed)
        return Command(f"ESC {op.decode('latin-1')}", buf[pos + 2 : pos + fixed], pos, pos + fixed)
    if b == GS:
        _need(buf, pos + 2)
        op = buf[pos + 1 : pos + 2]
        if op == b"v":  # GS v 0 m xL xH yL yH d1..dk
            _need(buf, pos + 8)
            if buf[pos + 2] != 0x30:
                return Command("unknown", buf[pos : pos + 3], pos, pos + 3)
            x = buf[pos + 4] | buf[pos + 5] << 8
            y = buf[pos + 6] | buf[pos + 7] << 8
            end = pos + 8 + x * y
            _need(buf, end)
            return Command("GS v 0", buf[pos + 3 : pos + 8], pos, end, buf[pos + 8 : end])
        if op == b"(":  # GS ( X pL pH [p bytes]
            _need(buf, pos + 5)
            fn = buf[pos + 2 : pos + 3].decode("latin-1")
            length = buf[pos + 3] | buf[pos + 4] << 8
            end = pos + 5 + length
            _need(buf, end)
            return Command(f"GS ( {fn}", b"", pos, end, buf[pos + 5 : end])
        if op == b"8":  # GS 8 L p1 p2 p3 p4 [p bytes]
            _need(buf, pos + 7)
            if buf[pos + 2] != 0x4C:
                return Command("unknown", buf[pos : pos + 3], pos, pos + 3)
            length = int.from_bytes(buf[pos + 3 : pos + 7], "little")
            end = pos + 7 + length
            _need(buf, end)
            return Command("GS 8 L", b"", pos, end, buf[pos + 7 : end])
        if op == b"V":  # GS V m [n]
            _need(buf, pos + 3)
            m = buf[pos + 2]
            length = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            _need(buf, pos + length)
            return Command("GS V", buf[pos + 2 : pos + length], pos, pos + length)
        if op == b"k":  # GS k m: NUL-terminated (m 0..6) or counted (m 65..)
            _need(buf, pos + 3)
            m = buf[pos + 2]
            if m <= 6:
                i = pos + 3
                while True:
                    _need(buf, i + 1)
                    if buf[i] == 0:
                        break
                    i += 1
                return Command("GS k", bytes([m]), pos, i + 1, buf[pos + 3 : i])
            _need(buf, pos + 4)
            end = pos + 4 + buf[pos + 3]
            _need(buf, end)
            return Command("GS k", bytes([m]), pos, end, buf[pos + 4 : end])
        if op == b"*":  # GS * x y d1..d(x*y*8)
            _need(buf, pos + 4)
            end = pos + 4 + buf[pos + 2] * buf[pos + 3] * 8
            _need(buf, end)
            return Command("GS *", buf[pos + 2 : pos + 4], pos, end, buf[pos + 4 : end])
        fixed = _GS_FIXED.get(op)
        if fixed is None:
            return Command("unknown", buf[pos : pos + 2], pos, pos + 2)
        _need(buf, pos + fixed)
        return Command(f"GS {op.decode('latin-1')}", buf[pos + 2 : pos + fixed], pos, pos + fixed)
    if b == DLE:
        _need(buf, pos + 2)
        code = buf[pos + 1]
        if code in (0x04, 0x05):  # DLE EOT n, DLE ENQ n
            _need(buf, pos + 3)
            name = "DLE EOT" if code == 0x04 else "DLE ENQ"
            return Command(name, buf[pos + 2 : pos + 3], pos, pos + 3)
        if code == 0x14:  # DLE DC4 fn ...
            _need(buf, pos + 3)
            size = {1: 5, 2: 5, 7: 4, 8: 10}.get(buf[pos + 2], 3)
            _need(buf, pos + size)
            return Command("DLE DC4", buf[pos + 2 : pos + size], pos, pos + size)
        return Command("DLE", b"", pos, pos + 1)
    if b == FS:
        if pos + 1 >= len(buf):
            return Command("FS", b"", pos, pos + 1)
        op = buf[pos + 1 : pos + 2]
        if op == b"(":  # FS ( X pL pH [p bytes]
            _need(buf, pos + 5)
            end = pos + 5 + (buf[pos + 3] | buf[pos + 4] << 8)
            _need(buf, end)
            return Command(f"FS ( {chr(buf[pos + 2])}", b"", pos, end, buf[pos + 5 : end])
        fixed = _FS_FIXED.get(op)
        if fixed is None:
            return Command("FS", b"", pos, pos + 1)  # FS alone: select the slip station
        _need(buf, pos + fixed)
        return Command(f"FS {op.decode('latin-1')}", buf[pos + 2 : pos + fixed], pos, pos + fixed)
    if b == 0x0A:
        return Command("LF", b"", pos, pos + 1)
    if b < 0x20 or b == 0x7F:
        return Command("CTL", bytes([b]), pos, pos + 1)
    end = pos + 1
    while end < len(buf) and buf[end] >= 0x20 and buf[end] != 0x7F:
        end += 1
    return Command("TEXT", b"", pos, end, buf[pos:end])


def next_command(buf: bytes, pos: int = 0) -> Command | None:
    """The command starting at `pos`, or None when the buffer ends inside it (read more).

    A TEXT command ends at the buffer's end: more text may follow in the next read.
    """
    if pos >= len(buf):
        return None
    try:
        return _parse(buf, pos)
    except _Incomplete:
        return None


def iter_commands(data: bytes) -> Iterator[Command]:
    """Every command in a complete stream; EscposDecodeError if it ends inside one."""
    pos = 0
    while pos < len(data):
        try:
            cmd = _parse(data, pos)
        except _Incomplete:
            raise EscposDecodeError(
                f"The ESC/POS stream ends inside a command at byte {pos} "
                f"(0x{data[pos]:02x}); it was cut off."
            ) from None
        yield cmd
        pos = cmd.end
