"""An ESC/POS decoder good enough to assert what a receipt printer was asked to print.

`decode(data)` walks a byte stream command by command (`printer.escpos_commands`) and returns
`Decoded`: text runs (bytes decoded with the code page selected by `ESC t`, with the alignment,
emphasis and size in force), line feeds, raster images (`GS v 0`, and `GS ( L` / `GS 8 L`
graphics) as Pillow images, QR codes (`GS ( k` store + print), cuts (`GS V`) and status
queries (`DLE EOT`, `GS r`, `GS ( H`).

It never raises anything but `EscposDecodeError` (truncated or inconsistent commands, and in
strict mode unknown ones). Unknown commands are otherwise kept as `Unknown` items.
`printer.escpos_preview.preview(decoded)` draws a decoded job as an image of the paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image

from .escpos_commands import Command, EscposDecodeError, iter_commands, next_command

# Command, EscposDecodeError and next_command are importable from here too: a stream consumer
# that decodes what it parsed needs them with decode.
__all__ = [
    "Command",
    "Cut",
    "Decoded",
    "DotFeed",
    "EscposDecodeError",
    "Item",
    "LineFeed",
    "QrCode",
    "Raster",
    "StatusQuery",
    "TextRun",
    "Unknown",
    "decode",
    "epson_code_pages",
    "next_command",
]

_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


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
class DotFeed:
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


Item = TextRun | LineFeed | DotFeed | Raster | QrCode | Cut | StatusQuery | Unknown


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
            add(DotFeed(args[0]))
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
