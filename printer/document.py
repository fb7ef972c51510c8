"""A printable document (receipt, paper card) and how it becomes ESC/POS through python-escpos.

A `Document` is a list of blocks: text in a style, rules, photos, QR codes. `emit` drives any
python-escpos printer (USB, serial, network, file, or `Dummy` to get the bytes): text whose
every character is in one of the profile's code pages is sent as text (ESC t picks the page),
wrapped to the profile's columns; any other text (Arabic, Chinese, Ethiopic, Ukrainian without
CP1251, ...) is drawn with a Noto font (`printer.raster`) and sent as a `GS v 0` raster image
the width of the paper. Consecutive drawn blocks share one image.

Text blocks may hold bidi isolates (U+2066..U+2069) around left-to-right values such as phone
numbers; they shape the drawn image and are dropped from printer text.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import qrcode
from escpos.magicencode import Encoder
from escpos.printer import Dummy
from PIL import Image, ImageDraw

from .paper import PaperProfile
from .raster import (
    Align,
    Paragraph,
    TextStyle,
    dither,
    draw_paragraphs,
    is_rtl_language,
    threshold,
)

__all__ = [
    "Align",
    "Block",
    "Document",
    "EncodedJob",
    "Feed",
    "Picture",
    "Qr",
    "Rule",
    "Style",
    "Text",
    "emit",
    "encode",
    "printable_as_text",
]

_BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


class Style(Enum):
    """How a text block looks; each maps to printer text modes and to a drawn font size."""

    HEADING = "heading"  # programme name: double width and height, bold
    TITLE = "title"  # section titles: bold
    BODY = "body"
    VALUE = "value"  # document number, dates: bold, double height
    CODE = "code"  # the revocation code: double width and height, bold
    SMALL = "small"


# Drawn sizes in dots at 203 dpi (printer Font A is 12 x 24 dots).
_DRAWN = {
    Style.HEADING: TextStyle(40, bold=True, space_after=12),
    Style.TITLE: TextStyle(26, bold=True, space_after=4),
    Style.BODY: TextStyle(24, space_after=10),
    Style.VALUE: TextStyle(32, bold=True, space_after=10),
    Style.CODE: TextStyle(48, bold=True, space_after=12),
    Style.SMALL: TextStyle(20, space_after=6),
}
# Printer text modes: (double width, double height, bold, blank line after).
_TEXT_MODE = {
    Style.HEADING: (True, True, True, True),
    Style.TITLE: (False, False, True, False),
    Style.BODY: (False, False, False, True),
    Style.VALUE: (False, True, True, True),
    Style.CODE: (True, True, True, True),
    Style.SMALL: (False, False, False, False),
}


@dataclass(frozen=True)
class Text:
    """A paragraph ('\\n' starts a new line). Its text never appears in a repr or log."""

    text: str = field(repr=False)
    style: Style = Style.BODY
    align: Align = Align.START


@dataclass(frozen=True)
class Rule:
    """A horizontal separator line."""


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1


@dataclass(frozen=True)
class Picture:
    """A photo (any Pillow image), printed `width` dots wide, dithered to 1 bit, centred."""

    image: Image.Image = field(repr=False)
    width: int = 192


@dataclass(frozen=True)
class Qr:
    """A QR code (level M): the printer's own QR command when the profile has it, else drawn."""

    data: str = field(repr=False)


Block = Text | Rule | Feed | Picture | Qr


@dataclass(frozen=True)
class Document:
    """Blocks to print in one language (its direction decides START alignment)."""

    blocks: tuple[Block, ...] = field(repr=False)
    language: str = "en"
    force_raster: bool = False  # draw every text block (to compare with text mode)
    cut: bool = True


@dataclass(frozen=True)
class EncodedJob:
    """The bytes of one print job and what went into them."""

    data: bytes = field(repr=False)
    raster_images: int
    raster_bytes: int
    text_blocks: int
    qr_native: int
    qr_raster: int
    seconds: float


class _Codec:
    """Knows which characters the profile's code pages can print."""

    def __init__(self, profile: PaperProfile) -> None:
        self.pages = [name for name, _ in profile.code_pages]
        self.encoder = Encoder({name: str(n) for name, n in profile.code_pages})

    def can_print(self, text: str) -> bool:
        for ch in text:
            if ch == "\n":
                continue
            if ord(ch) < 0x20 or ord(ch) == 0x7F:
                return False
            if ord(ch) >= 0x80 and not any(self.encoder.can_encode(p, ch) for p in self.pages):
                return False
        return True


def printable_as_text(text: str, profile: PaperProfile) -> bool:
    """True when every character of `text` is in one of the profile's code pages."""
    return _Codec(profile).can_print(text.translate(_BIDI_CONTROLS))


def _wrap_columns(text: str, columns: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        wrapped = textwrap.wrap(paragraph, columns, break_long_words=True, break_on_hyphens=False)
        lines.extend(wrapped or [""])
    return lines


def _escpos_align(align: Align, rtl: bool) -> str:
    if align is Align.CENTER:
        return "center"
    return "right" if (align is Align.END) != rtl else "left"


def _qr_module(profile: PaperProfile, data: str) -> tuple[int, Any]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
    qr.add_data(data)
    qr.make(fit=True)
    modules = len(qr.get_matrix())  # includes the 4-module quiet zone on each side
    module = min(6, (profile.dots - 2 * profile.margin) // modules)
    if module < 1:
        raise ValueError("The QR code does not fit the paper width.")
    return module, qr


def _qr_image(profile: PaperProfile, data: str) -> Image.Image:
    module, qr = _qr_module(profile, data)
    matrix = qr.get_matrix()
    size = len(matrix) * module
    img = Image.new("1", (size, size), 1)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    (x * module, y * module, (x + 1) * module - 1, (y + 1) * module - 1), fill=0
                )
    return img


def _rule_image(profile: PaperProfile) -> Image.Image:
    img = Image.new("1", (profile.dots, 16), 1)
    ImageDraw.Draw(img).rectangle((profile.margin, 7, profile.dots - profile.margin - 1, 8), fill=0)
    return img


class _Emitter:
    def __init__(self, printer: Any, profile: PaperProfile, document: Document) -> None:
        self.p = printer
        self.profile = profile
        self.doc = document
        self.rtl = is_rtl_language(document.language)
        self.codec = _Codec(profile)
        self.pending: list[Paragraph] = []
        self.raster_images = 0
        self.raster_bytes = 0
        self.text_blocks = 0
        self.qr_native = 0
        self.qr_raster = 0

    def image(self, img: Image.Image, center: bool = False) -> None:
        self.p.set(align="left")
        self.p.image(img, impl="bitImageRaster", center=center)
        self.raster_images += 1
        self.raster_bytes += ((self.profile.dots if center else img.width) + 7) // 8 * img.height

    def flush(self) -> None:
        if not self.pending:
            return
        drawn = draw_paragraphs(
            self.pending, self.profile.dots, self.profile.margin, self.doc.language
        )
        self.pending = []
        self.image(threshold(drawn))

    def text(self, block: Text) -> None:
        plain = block.text.translate(_BIDI_CONTROLS)
        if self.doc.force_raster or not self.codec.can_print(plain):
            self.pending.append(Paragraph(block.text, _DRAWN[block.style], block.align))
            return
        self.flush()
        wide, tall, bold, gap = _TEXT_MODE[block.style]
        self.p.set(
            align=_escpos_align(block.align, self.rtl),
            bold=bold,
            double_width=wide,
            double_height=tall,
            normal_textsize=not (wide or tall),
        )
        columns = self.profile.columns // (2 if wide else 1)
        for line in _wrap_columns(plain, columns):
            self.p.textln(line)
        self.p.set(bold=False, normal_textsize=True)
        if gap and block.style is not Style.HEADING:
            self.p.ln()
        self.text_blocks += 1

    def block(self, block: Block) -> None:
        if isinstance(block, Text):
            self.text(block)
        elif isinstance(block, Rule):
            if self.doc.force_raster:
                self.flush()
                self.image(_rule_image(self.profile))
            else:
                self.flush()
                self.p.set(align="left", bold=False, normal_textsize=True)
                self.p.textln("-" * self.profile.columns)
        elif isinstance(block, Feed):
            self.flush()
            self.p.ln(block.lines)
        elif isinstance(block, Picture):
            self.flush()
            self.image(dither(block.image, min(block.width, self.profile.dots)), center=True)
        elif isinstance(block, Qr):
            self.flush()
            if self.profile.native_qr and not self.doc.force_raster:
                module, _ = _qr_module(self.profile, block.data)
                from escpos.constants import QR_ECLEVEL_M

                self.p.set(align="center")
                self.p.qr(block.data, ec=QR_ECLEVEL_M, size=module, native=True)
                self.p.ln()
                self.qr_native += 1
            else:
                self.image(_qr_image(self.profile, block.data), center=True)
                self.qr_raster += 1

    def run(self) -> None:
        self.p.hw("INIT")
        for block in self.doc.blocks:
            self.block(block)
        self.flush()
        self.p.set(align="left")
        if self.doc.cut and self.profile.cutter:
            self.p.cut(feed=False)  # GS V 66 0: feed to the cutter, then a partial cut
        else:
            self.p.ln(self.profile.feed_lines)


def emit(document: Document, printer: Any, profile: PaperProfile) -> EncodedJob:
    """Send `document` through a python-escpos printer; returns counts (data left empty)."""
    started = time.perf_counter()
    emitter = _Emitter(printer, profile, document)
    emitter.run()
    return EncodedJob(
        b"",
        emitter.raster_images,
        emitter.raster_bytes,
        emitter.text_blocks,
        emitter.qr_native,
        emitter.qr_raster,
        time.perf_counter() - started,
    )


def encode(document: Document, profile: PaperProfile) -> EncodedJob:
    """The ESC/POS bytes of `document` for a printer with `profile` (nothing is sent)."""
    dummy = Dummy(profile=profile.escpos_profile())
    job = emit(document, dummy, profile)
    return EncodedJob(
        bytes(dummy.output),
        job.raster_images,
        job.raster_bytes,
        job.text_blocks,
        job.qr_native,
        job.qr_raster,
        job.seconds,
    )


def blocks(*items: Block | Iterable[Block]) -> tuple[Block, ...]:
    """Flatten blocks and lists of blocks into a tuple (helper for builders)."""
    out: list[Block] = []
    for item in items:
        if isinstance(item, Text | Rule | Feed | Picture | Qr):
            out.append(item)
        else:
            out.extend(item)
    return tuple(out)
