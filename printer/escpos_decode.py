"""An ESC/POS decoder good enough to assert what a receipt printer was asked to print.

`decode(data)` walks a byte stream command by command and returns `Decoded`: text runs (bytes
decoded with the code page selected by `ESC t`, with the alignment, emphasis and size in force),
line feeds, raster images (`GS v 0`, and `GS ( L` / `GS 8 L` graphics) as Pillow images, QR
codes (`GS ( k` store + print), cuts (`GS V`) and status queries (`DLE EOT`, `GS r`, `GS ( H`).
`next_command(buffer, pos)` parses one command, for stream consumers such as the simulated
printer in `hardware.escpos_sim`.

It never raises anything but `EscposDecodeError` (truncated or inconsistent commands, and in
strict mode unknown ones). Unknown commands are otherwise kept as `Unknown` items.
`preview(decoded)` draws a decoded job as an image of the paper, for people.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image

from cardio.errors import MalformedError

__all__ = [
    "Command",
    "Cut",
    "Decoded",
    "EscposDecodeError",
    "Feed",
    "Item",
    "LineFeed",
    "QrCode",
    "Raster",
    "StatusQuery",
    "TextRun",
    "Unknown",
    "decode",
    "next_command",
    "preview",
]

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


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


# --- items -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRun:
    """Printable text with the modes in force when it was sent."""

    text: str
    align: str = "left"
    bold: bool = False
    width: int = 1  # character width multiplier
    height: int = 1
    codepage: str = "CP437"


@dataclass(frozen=True)
class LineFeed:
    """End of a printed line (LF) or `count` blank lines fed (ESC d)."""

    count: int = 1


@dataclass(frozen=True)
class Feed:
    """Paper fed by `dots` dots (ESC J)."""

    dots: int


@dataclass(frozen=True)
class Raster:
    """A raster image: `width` x `height` dots, 1 bit per dot, MSB first, 1 = black."""

    width: int
    height: int
    data: bytes = field(repr=False)
    align: str = "left"
    scale: tuple[int, int] = (1, 1)  # (x, y) multipliers from the density/scale bits

    def to_image(self) -> Image.Image:
        """A Pillow image (mode "L", black ink on white)."""
        img = Image.frombytes("1", (self.width, self.height), self.data)
        return img.point(lambda v: 0 if v else 255, mode="L")

    def ink_columns(self, top: int = 0, bottom: int | None = None) -> tuple[int, int] | None:
        """(leftmost, rightmost) column with ink in rows top..bottom, or None if blank."""
        img = self.to_image()
        box = img.crop((0, top, self.width, self.height if bottom is None else bottom))
        bbox = box.point(lambda v: 255 - v).getbbox()
        return None if bbox is None else (bbox[0], bbox[2] - 1)


@dataclass(frozen=True)
class QrCode:
    """A QR code stored with GS ( k and printed (data as sent)."""

    data: bytes = field(repr=False)
    module_size: int = 3
    error_correction: str = "L"
    model: int = 2
    align: str = "left"


@dataclass(frozen=True)
class Cut:
    """A paper cut (GS V): `partial` or full, after feeding `feed` units when given."""

    partial: bool
    feed: int | None = None


@dataclass(frozen=True)
class StatusQuery:
    """A status request: 'DLE EOT' n, 'GS r' n or 'GS ( H' (process id response)."""

    kind: str
    n: int


@dataclass(frozen=True)
class Unknown:
    """A command this decoder does not know (kept, not interpreted)."""

    data: bytes


Item = TextRun | LineFeed | Feed | Raster | QrCode | Cut | StatusQuery | Unknown


@dataclass
class Decoded:
    """What a stream asked the printer to print, in order."""

    items: list[Item] = field(default_factory=list)
    initialised: int = 0  # ESC @ count

    @property
    def text(self) -> str:
        """All printed text, with '\\n' where a line ended."""
        out: list[str] = []
        for item in self.items:
            if isinstance(item, TextRun):
                out.append(item.text)
            elif isinstance(item, LineFeed):
                out.append("\n" * item.count)
        return "".join(out)

    @property
    def lines(self) -> list[str]:
        """Printed text lines (without blank ones)."""
        return [line for line in self.text.split("\n") if line.strip()]

    @property
    def runs(self) -> list[TextRun]:
        return [i for i in self.items if isinstance(i, TextRun)]

    @property
    def rasters(self) -> list[Raster]:
        return [i for i in self.items if isinstance(i, Raster)]

    @property
    def qr_codes(self) -> list[QrCode]:
        return [i for i in self.items if isinstance(i, QrCode)]

    @property
    def cuts(self) -> list[Cut]:
        return [i for i in self.items if isinstance(i, Cut)]

    @property
    def status_queries(self) -> list[StatusQuery]:
        return [i for i in self.items if isinstance(i, StatusQuery)]

    @property
    def unknown(self) -> list[Unknown]:
        return [i for i in self.items if isinstance(i, Unknown)]


@lru_cache(maxsize=1)
def epson_code_pages() -> dict[int, str]:
    """ESC t numbers of python-escpos' default (Epson) profile -> code page names."""
    from escpos.capabilities import CAPABILITIES

    pages = CAPABILITIES["profiles"]["default"]["codePages"]
    return {int(k): str(v) for k, v in pages.items() if v != "Unknown"}


@lru_cache(maxsize=64)
def _code_page_table(name: str) -> tuple[str, ...]:
    """Characters for bytes 0x80..0xFF of a code page ('\\ufffd' where unknown)."""
    from escpos.capabilities import CAPABILITIES

    info = CAPABILITIES["encodings"].get(name, {})
    if "data" in info:
        chars = "".join(info["data"])
        if len(chars) == 128:
            return tuple(chars)
    codec = info.get("python_encode")
    out = []
    for b in range(128, 256):
        try:
            out.append(bytes([b]).decode(codec) if codec else "\ufffd")
        except (UnicodeDecodeError, LookupError):
            out.append("\ufffd")
    return tuple(out)


def _decode_text(data: bytes, codepage: str) -> str:
    table = _code_page_table(codepage)
    return "".join(chr(b) if b < 0x80 else table[b - 0x80] for b in data)


class _State:
    def __init__(self, code_pages: Mapping[int, str]) -> None:
        self.code_pages = code_pages
        self.reset()
        self.qr: dict[str, int | bytes] = {}

    def reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.width = 1
        self.height = 1
        self.codepage = self.code_pages.get(0, "CP437")


def _graphics(cmd: Command, state: _State, strict: bool) -> Item | None:
    """GS ( L / GS 8 L: fn 112 stores a raster (we report it at store time)."""
    data = cmd.data
    if len(data) < 2:
        raise EscposDecodeError(f"A {cmd.name} command at byte {cmd.start} has no function.")
    fn = data[1]
    if fn in (50, 2):  # print the stored graphics: already reported
        return None
    if fn != 112:
        return Unknown(cmd.data[:16]) if not strict else None
    if len(data) < 10:
        raise EscposDecodeError(f"A {cmd.name} raster at byte {cmd.start} is too short.")
    bx, by = data[3], data[4]
    width = data[6] | data[7] << 8
    height = data[8] | data[9] << 8
    bits = data[10:]
    if len(bits) != (width + 7) // 8 * height:
        raise EscposDecodeError(
            f"A {cmd.name} raster at byte {cmd.start} says {width}x{height} dots but carries "
            f"{len(bits)} bytes."
        )
    return Raster(width, height, bits, state.align, (bx, by))


def _qr(cmd: Command, state: _State) -> Item | None:
    data = cmd.data
    if len(data) < 2:
        raise EscposDecodeError(f"A GS ( k command at byte {cmd.start} is too short.")
    cn, fn = data[0], data[1]
    if cn != 49:  # not a QR code (PDF417, MaxiCode, ...)
        return Unknown(data[:16])
    if fn == 65 and len(data) >= 3:
        state.qr["model"] = data[2] - 48
    elif fn == 67 and len(data) >= 3:
        state.qr["size"] = data[2]
    elif fn == 69 and len(data) >= 3:
        state.qr["ec"] = data[2] - 48
    elif fn == 80:
        state.qr["data"] = data[3:]
    elif fn == 81:
        stored = state.qr.get("data")
        if not isinstance(stored, bytes):
            raise EscposDecodeError(f"A QR print at byte {cmd.start} has no stored data.")
        size = state.qr.get("size", 3)
        ec = state.qr.get("ec", 0)
        model = state.qr.get("model", 2)
        assert isinstance(size, int) and isinstance(ec, int) and isinstance(model, int)
        return QrCode(stored, size, "LMQH"[ec] if 0 <= ec <= 3 else "?", model, state.align)
    return None


def decode(
    data: bytes, code_pages: Mapping[int, str] | None = None, *, strict: bool = False
) -> Decoded:
    """Decode an ESC/POS stream; `strict` also refuses commands this decoder does not know."""
    state = _State(code_pages or epson_code_pages())
    out = Decoded()
    items = out.items

    def add(item: Item) -> None:
        items.append(item)

    for cmd in iter_commands(bytes(data)):
        name, args = cmd.name, cmd.args
        if name == "TEXT":
            text = _decode_text(cmd.data, state.codepage)
            prev = items[-1] if items else None
            style = (state.align, state.bold, state.width, state.height, state.codepage)
            if (
                isinstance(prev, TextRun)
                and (prev.align, prev.bold, prev.width, prev.height, prev.codepage) == style
            ):
                items[-1] = TextRun(prev.text + text, *style)
            else:
                add(TextRun(text, *style))
        elif name == "LF":
            add(LineFeed(1))
        elif name == "ESC @":
            state.reset()
            out.initialised += 1
        elif name == "ESC a":
            state.align = _ALIGN.get(args[0], state.align)
        elif name == "ESC E":
            state.bold = bool(args[0] & 1)
        elif name == "ESC !":
            state.bold = bool(args[0] & 0x08)
            state.height = 2 if args[0] & 0x10 else 1
            state.width = 2 if args[0] & 0x20 else 1
        elif name == "GS !":
            state.width = (args[0] >> 4 & 7) + 1
            state.height = (args[0] & 7) + 1
        elif name == "ESC t":
            page = state.code_pages.get(args[0])
            if page is None and strict:
                raise EscposDecodeError(f"ESC t {args[0]} selects a code page this profile lacks.")
            state.codepage = page or "CP437"
        elif name == "ESC d":
            add(LineFeed(args[0]))
        elif name == "ESC J":
            add(Feed(args[0]))
        elif name == "GS v 0":
            m = args[0]
            width_bytes = args[1] | args[2] << 8
            height = args[3] | args[4] << 8
            scale = (2 if m & 1 else 1, 2 if m & 2 else 1)
            add(Raster(width_bytes * 8, height, cmd.data, state.align, scale))
        elif name in ("GS ( L", "GS 8 L"):
            item = _graphics(cmd, state, strict)
            if item is not None:
                add(item)
        elif name == "GS ( k":
            item = _qr(cmd, state)
            if item is not None:
                if isinstance(item, Unknown) and strict:
                    raise EscposDecodeError(f"GS ( k at byte {cmd.start} is not a QR command.")
                add(item)
        elif name == "GS V":
            m = args[0]
            partial = m in (1, 49, 66, 98, 104)
            add(Cut(partial, args[1] if len(args) > 1 else None))
        elif name == "DLE EOT":
            add(StatusQuery("DLE EOT", args[0]))
        elif name == "GS r":
            add(StatusQuery("GS r", args[0]))
        elif name == "GS ( H":
            add(StatusQuery("GS ( H", cmd.data[0] if cmd.data else 0))
        elif name == "unknown":
            if strict:
                raise EscposDecodeError(
                    f"Unknown ESC/POS command {args.hex(' ')} at byte {cmd.start}."
                )
            add(Unknown(args))
        # Other known commands (line spacing, fonts, underline, ...) change nothing we report.
    return out


def preview(decoded: Decoded, dots: int = 576) -> Image.Image:
    """An image of the paper: text in a 12 x 24 monospace font, rasters as they print."""
    from PIL import ImageDraw, ImageFont

    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 20
        )
    except OSError:
        font = ImageFont.load_default()
    strips: list[Image.Image] = []
    line: list[TextRun] = []

    def flush_line() -> None:
        height = 24 * max([r.height for r in line] or [1])
        strip = Image.new("L", (dots, height), 255)
        draw = ImageDraw.Draw(strip)
        width = sum(12 * r.width * len(r.text) for r in line)
        align = line[0].align if line else "left"
        x = {"left": 0, "center": (dots - width) // 2, "right": dots - width}[align]
        for run in line:
            for ch in run.text:
                glyph = Image.new("L", (12, 24), 255)
                ImageDraw.Draw(glyph).text((0, 0), ch, font=font, fill=0)
                glyph = glyph.resize((12 * run.width, 24 * run.height))
                strip.paste(glyph, (x, height - 24 * run.height))
                x += 12 * run.width
        del draw
        strips.append(strip)
        line.clear()

    for item in decoded.items:
        if isinstance(item, TextRun):
            line.append(item)
        elif isinstance(item, LineFeed):
            flush_line()
            for _ in range(item.count - 1):
                strips.append(Image.new("L", (dots, 24), 255))
        elif isinstance(item, Raster):
            if line:
                flush_line()
            img = item.to_image()
            x = {"left": 0, "center": (dots - img.width) // 2, "right": dots - img.width}[
                item.align
            ]
            strip = Image.new("L", (dots, img.height), 255)
            strip.paste(img, (max(0, x), 0))
            strips.append(strip)
        elif isinstance(item, QrCode):
            import qrcode

            qr = qrcode.QRCode(border=4, box_size=item.module_size)
            qr.add_data(item.data)
            qr.make(fit=True)
            img = qr.make_image().get_image().convert("L")
            strip = Image.new("L", (dots, img.height), 255)
            strip.paste(img, ((dots - img.width) // 2, 0))
            strips.append(strip)
        elif isinstance(item, Cut):
            strip = Image.new("L", (dots, 12), 255)
            ImageDraw.Draw(strip).line((0, 6, dots, 6), fill=128)
            strips.append(strip)
    if line:
        flush_line()
    height = sum(s.height for s in strips) or 1
    page = Image.new("L", (dots, height), 255)
    y = 0
    for strip in strips:
        page.paste(strip, (0, y))
        y += strip.height
    return page
