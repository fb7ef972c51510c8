"""The CR80 card: front and back at 300 dpi, as PNG and as a two-page PDF.

A card is drawn from the programme's design (`CardDesign`: display name, colours, arms or
logo, the "not a residence permit" line, which optional fields it prints, labels) and one
resident's card data (`CardData`). The card prints everything the chip holds and nothing
more is allowed to be on the chip: `render_card` refuses card data that carries a field the
design does not print (docs/principles.md, principle 1).

Geometry (ISO/IEC 7810 ID-1): 85.60 x 53.98 mm, 1011 x 638 px at 300 dpi. All text, the
photo, the QR code and the logo stay inside a 3 mm safe margin; colour bands run to the trim
edge, and with `bleed=True` 1 mm further (1035 x 662 px), for printers that print edge to
edge and cut or overscan.

Front: header band (logo, programme name, card title), photo on the left, family and given
names, date of birth, sex (where printed), document number, issue and expiry dates, and the
disclaimer band. Back: the print QR code (the `CC1:` credential) with the document number
under it, entitlements, preferred languages, the programme's other printed fields (address,
eye colour, height, ...: `CardData.extra_fields`, labelled by `CardDesign.field_labels`), the
signature (where printed), the programme's note, and the disclaimer band.

Extra fields are printed only: they are in no credential, so the chip and the QR code hold
less than the card shows, never more. The front has no room under the dates (the disclaimer
band is there), so they go on the back, in the right column under the languages: short values
two to a row, a long one (an address) on its own row, shrinking then wrapping like a name; the
programme's note gives way to them, and fields that cannot fit raise CardLayoutError.

Names in any script (`printer.card_text`): the font comes from `printer.fonts.font_for`;
right-to-left and joining scripts are laid out by libraqm (Pillow's RAQM layout) and
right-aligned. A long name shrinks down to a minimum size, then wraps onto more lines at no
larger a size; text never leaves its box (a name that cannot fit even then raises
CardLayoutError rather than overflow).

QR code (`printer.card_images`): error-correction level M, alphanumeric mode, quiet zone 4
modules, and a module of at least 3 px (0.254 mm) at 300 dpi; the largest whole-pixel module
that fits is used.

The design, the card data and the geometry are defined in `printer.card_design`.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw

from .card_design import (
    BLEED_MM,
    DPI,
    SAFE_MARGIN_MM,
    CardData,
    CardDesign,
    CardLabels,
    CardLayoutError,
    Color,
    FieldTooLongError,
    card_size_px,
    mm_to_px,
)
from .card_images import contain, cover, open_image, qr_image
from .card_text import Align, FittedText, draw_fitted, fit_text

__all__ = ["QR_NARROW_PX", "RenderedCard", "render_card"]

Side = Literal["front", "back"]


def _ink_on(background: Color) -> Color:
    """Black or white, whichever reads better on `background` (WCAG relative luminance)."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (255, 255, 255) if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else (0, 0, 0)


@dataclass(frozen=True)
class RenderedCard:
    """Both sides as RGB images (with bleed if asked), with PNG and PDF encoders."""

    front: Image.Image
    back: Image.Image
    bleed: bool
    dpi: int = DPI

    def png(self, side: Side) -> bytes:
        img = self.front if side == "front" else self.back
        buf = io.BytesIO()
        img.save(buf, "PNG", dpi=(self.dpi, self.dpi), optimize=False)
        return buf.getvalue()

    @property
    def front_png(self) -> bytes:
        return self.png("front")

    @property
    def back_png(self) -> bytes:
        return self.png("back")

    def pdf(self) -> bytes:
        """A two-page PDF (front, back), each page exactly the card (plus bleed) in size."""
        buf = io.BytesIO()
        self.front.save(
            buf,
            "PDF",
            resolution=float(self.dpi),
            save_all=True,
            append_images=[self.back],
            quality=95,
            subsampling=0,
            title="citycard",
            producer="citycard",
            creator="citycard",
            creationDate=time.gmtime(0),
            modDate=time.gmtime(0),
        )
        return buf.getvalue()


class _Canvas:
    """One side: draws in trim coordinates (0..1011, 0..638); bands may run into the bleed."""

    def __init__(self, bleed: bool, dpi: int) -> None:
        self.w, self.h = card_size_px(False, dpi)
        self.b = mm_to_px(BLEED_MM, dpi) if bleed else 0
        self.margin = mm_to_px(SAFE_MARGIN_MM, dpi)
        self.image = Image.new("RGB", (self.w + 2 * self.b, self.h + 2 * self.b), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)

    def xy(self, x: int, y: int) -> tuple[int, int]:
        return x + self.b, y + self.b

    def band(self, y0: int, y1: int, fill: Color) -> None:
        """A full-width band; an edge at the trim line runs on through the bleed."""
        top = -self.b if y0 <= 0 else y0
        bottom = self.h + self.b if y1 >= self.h else y1
        self.draw.rectangle(
            (0, top + self.b, self.w + 2 * self.b - 1, bottom + self.b - 1), fill=fill
        )

    def rect(self, box: tuple[int, int, int, int], **kwargs: object) -> None:
        x0, y0, x1, y1 = box
        self.draw.rectangle((*self.xy(x0, y0), *self.xy(x1 - 1, y1 - 1)), **kwargs)  # type: ignore[arg-type]

    def paste(self, img: Image.Image, x: int, y: int) -> None:
        if img.mode == "RGBA":
            self.image.paste(img, self.xy(x, y), img)
        else:
            self.image.paste(img, self.xy(x, y))

    def text(
        self,
        fitted: FittedText,
        x: int,
        y: int,
        width: int,
        fill: Color,
        align: Align = "auto",
    ) -> int:
        bx, by = self.xy(x, y)
        return draw_fitted(self.draw, fitted, bx, by, width, fill, align=align) - self.b

    def label(self, text: str, x: int, y: int, width: int, fill: Color) -> int:
        fitted = fit_text(text, width, 26, max_size=19, min_size=13, what="label")
        return self.text(fitted, x, y, width, fill, align="left")


_GREY: Color = (90, 90, 90)
_INK: Color = (20, 20, 20)
_HEADER_H = 130
_STRIPE_H = 8
_FOOTER_Y = 548


def _check_fields(design: CardDesign, data: CardData) -> None:
    printed = design.fields
    hidden = []
    if data.sex is not None and "sex" not in printed:
        hidden.append("sex")
    if data.entitlements and "entitlements" not in printed:
        hidden.append("entitlements")
    if data.languages and "languages" not in printed:
        hidden.append("languages")
    if data.signature is not None and "signature" not in printed:
        hidden.append("signature")
    if hidden:
        raise CardLayoutError(
            f"The card data holds {', '.join(hidden)}, which this programme's card does not "
            "print; the chip may not hold more than the card shows, so leave it out of the "
            "credential or print it."
        )
    for key, value in data.extra_fields:
        if not key.strip() or not isinstance(value, str):
            raise CardLayoutError(
                "An extra card field has no name or a value that is not text; pass "
                "(field code, text) pairs."
            )
    if data.sex is not None and data.sex not in ("F", "M", "X"):
        raise CardLayoutError("Sex must be F, M or X, or left out.")
    if not data.qr_text.startswith("CC1:"):
        raise CardLayoutError("The QR text is not a citycard print credential (it must start with CC1:).")


def _header(c: _Canvas, design: CardDesign, labels: CardLabels, subtitle: str) -> None:
    primary = design.primary_rgb
    ink = _ink_on(primary)
    c.band(0, _HEADER_H, primary)
    c.band(_HEADER_H, _HEADER_H + _STRIPE_H, design.secondary_rgb)
    m = c.margin
    x = m
    logo_box = _HEADER_H - m - 12
    if design.arms is not None:
        try:
            data = Path(design.arms).read_bytes()
        except OSError as exc:
            raise CardLayoutError(
                f"The arms or logo image {design.arms} cannot be read; fix the path in the programme profile."
            ) from exc
        logo = contain(open_image(data, "arms or logo image", "use a PNG file."), (logo_box, logo_box))
        c.paste(logo, m + (logo_box - logo.width) // 2, m + (logo_box - logo.height) // 2)
        x = m + logo_box + 20
    width = c.w - m - x
    title = fit_text(design.display_name, width, 56, max_size=44, min_size=24, bold=True, what="programme name")
    c.text(title, x, m - 8, width, ink, align="left")
    sub = fit_text(subtitle, width, 32, max_size=24, min_size=14, what="card title")
    c.text(sub, x, m + 46, width, ink, align="left")


def _footer(c: _Canvas, design: CardDesign) -> None:
    primary = design.primary_rgb
    c.band(_FOOTER_Y, c.h, primary)
    m = c.margin
    width = c.w - 2 * m
    top = _FOOTER_Y + 10
    fitted = fit_text(
        design.disclaimer, width, c.h - m - top, max_size=30, min_size=18, bold=True,
        max_lines=2, what="disclaimer",
    )
    c.text(fitted, m, top, width, _ink_on(primary), align="auto")


def _field(
    c: _Canvas, label: str, value: str, x: int, y: int, width: int, *, bold: bool = True
) -> None:
    c.label(label, x, y, width, _GREY)
    fitted = fit_text(value, width, 42, max_size=30, min_size=16, bold=bold, what=label.lower())
    c.text(fitted, x, y + 24, width, _INK)


def _front(design: CardDesign, data: CardData, bleed: bool, dpi: int) -> Image.Image:
    c = _Canvas(bleed, dpi)
    labels = design.labels
    m = c.margin
    _header(c, design, labels, labels.title)

    # photo, 7:9 like a passport photo
    px0, py0, pw, ph = m, _HEADER_H + _STRIPE_H + 22, 276, 355
    ph = min(ph, _FOOTER_Y - 14 - py0)
    if data.photo is not None:
        photo = cover(open_image(data.photo, "photo", "take the photo again."), (pw, ph))
        c.paste(photo, px0, py0)
    else:
        c.rect((px0, py0, px0 + pw, py0 + ph), fill=(235, 235, 235))
        note = fit_text(labels.no_photo, pw - 20, 40, max_size=24, min_size=12, what="label")
        c.text(note, px0 + 10, py0 + ph // 2 - 16, pw - 20, _GREY, align="left")
    c.rect((px0, py0, px0 + pw, py0 + ph), outline=design.secondary_rgb, width=2)

    # names
    x0 = px0 + pw + 30
    width = c.w - m - x0
    y = py0 - 4
    y = c.label(labels.family_name, x0, y, width, _GREY)
    family = fit_text(
        data.family_name, width, 104, max_size=52, min_size=30, bold=True, max_lines=3,
        what="family name", field="family_name",
    )
    c.text(family, x0, y, width, _INK)
    y += 106
    y = c.label(labels.given_name, x0, y, width, _GREY)
    given_max = min(40, int(family.font.size))
    given = fit_text(
        data.given_name, width, 70, max_size=given_max, min_size=min(28, given_max),
        max_lines=2, what="given name", field="given_name",
    )
    c.text(given, x0, y, width, _INK)

    # dates and numbers: two rows above the footer
    row2 = _FOOTER_Y - 14 - 66
    row1 = row2 - 70
    gap = 16
    dob_w, sex_w = 196, 96
    _field(c, labels.birth_date, data.birth_date.isoformat(), x0, row1, dob_w)
    col = x0 + dob_w + gap
    if "sex" in design.fields:
        _field(c, labels.sex, data.sex or "–", col, row1, sex_w)
        col += sex_w + gap
    _field(c, labels.document_number, data.document_number, col, row1, x0 + width - col)
    _field(c, labels.issued, data.issued.isoformat(), x0, row2, dob_w)
    col = x0 + dob_w + gap
    _field(c, labels.expires, data.expires.isoformat(), col, row2, x0 + width - col)

    _footer(c, design)
    return c.image


QR_NARROW_PX = 345  # the usual print credential's QR code (version 11, 5 px modules)
_EXTRA_GAP = 16  # between two fields on one row
_EXTRA_ROW_H = 70  # what one row of extra fields needs at least (label and one line)
_SHARED_ROW_BOX = 40  # the value's height on a row of two or three fields, at most
# ... and at least: a value is put beside others only if it fits this box, so it fits
# whatever box its row gets (a taller box only allows a larger size)
_SHARED_ROW_MIN_BOX = 28
_ALONE_ROW_BOX = 108  # at most, for a field alone on its row (an address: up to four lines)

# One printed field: (field code or label, its printed label, its value on one line).
_Item = tuple[str, str, str]


def _one_line(value: str) -> str:
    """A multi-line value (an address) as one line: its lines joined with commas."""
    return ", ".join(" ".join(line.split()) for line in value.splitlines() if line.strip())


def _fit_value(item: _Item, width: int, box: int, alone: bool) -> FittedText:
    """The one measure of a printed field's value: packing rows asks it whether a field fits
    beside others, drawing draws what it returns (same text, face, weight, size and box)."""
    key, label, value = item
    return fit_text(
        value, width, box, max_size=26, min_size=20, bold=True,
        max_lines=4 if alone else 1, what=label.lower(), field=key,
    )


def _fits_beside(item: _Item, width: int) -> bool:
    try:
        fit_text(item[1], width, 26, max_size=19, min_size=13, what="label")
        _fit_value(item, width, _SHARED_ROW_MIN_BOX, alone=False)
    except CardLayoutError:
        return False
    return True


def _extra_rows(design: CardDesign, data: CardData, width: int) -> list[list[_Item]]:
    """The extra fields as rows: up to three short ones side by side, a long one alone."""
    items = [(k, design.field_label(k), _one_line(v)) for k, v in data.extra_fields if _one_line(v)]
    rows: list[list[_Item]] = []
    i = 0
    while i < len(items):
        for n in (3, 2, 1):
            cw = (width - (n - 1) * _EXTRA_GAP) // n
            if n == 1 or (
                i + n <= len(items) and all(_fits_beside(item, cw) for item in items[i : i + n])
            ):
                rows.append(items[i : i + n])
                i += n
                break
    return rows


def _crowded(rows: list[list[_Item]]) -> FieldTooLongError:
    """The back is full: shortening (or leaving out) the longest field makes room."""
    key, label, _ = max((i for r in rows for i in r), key=lambda i: len(i[2]))
    return FieldTooLongError(key, label.lower(), crowded=True)


def _extra_fields(
    c: _Canvas, rows: list[list[_Item]], x0: int, y: int, width: int, bottom: int
) -> int:
    """Draw the rows of extra fields from y, above `bottom`; returns the y below them."""
    for n, row in enumerate(rows):
        share = (bottom - y) // (len(rows) - n)  # keep room for the rows still to come
        alone = len(row) == 1
        box = min(_ALONE_ROW_BOX if alone else _SHARED_ROW_BOX, share - 26 - 6)
        if box < (22 if alone else _SHARED_ROW_MIN_BOX):
            raise _crowded(rows)
        below = y
        for j, item in enumerate(row):
            cw = (width - (len(row) - 1) * _EXTRA_GAP) // len(row)
            cx = x0 + j * (cw + _EXTRA_GAP)
            top = c.label(item[1], cx, y, cw, _GREY)
            fitted = _fit_value(item, cw, box, alone)
            below = max(below, c.text(fitted, cx, top, cw, _INK))
        y = below + 6
    return y


def _back(design: CardDesign, data: CardData, bleed: bool, dpi: int) -> Image.Image:
    c = _Canvas(bleed, dpi)
    labels = design.labels
    m = c.margin
    c.band(0, 26, design.primary_rgb)
    c.band(26, 26 + _STRIPE_H, design.secondary_rgb)

    # QR code on the left, document number under it
    qr_top = m + 8
    qr_box = min(372, _FOOTER_Y - 14 - 44 - qr_top)
    qr = qr_image(data.qr_text, qr_box)
    c.paste(qr, m, qr_top)
    number = fit_text(data.document_number, qr.width, 40, max_size=30, min_size=16, bold=True, what="document number")
    c.text(number, m, qr_top + qr.height + 2, qr.width, _INK, align="left")

    # right column: at one of two places, beside a QR code up to QR_NARROW_PX wide or beside
    # a wider one, so printer.card_fit can lay the card out both ways before the code exists
    x0 = m + (QR_NARROW_PX if qr.width <= QR_NARROW_PX else qr_box) + 28
    width = c.w - m - x0
    y = m + 4
    title = fit_text(design.display_name, width, 40, max_size=28, min_size=16, bold=True, what="programme name")
    y = c.text(title, x0, y, width, design.primary_rgb, align="left") + 6
    bottom = _FOOTER_Y - 12
    extra_rows = _extra_rows(design, data, width)
    if "signature" in design.fields:
        sig_h = 96
        bottom -= sig_h + 26
        c.label(labels.signature, x0, bottom, width, _GREY)
        c.rect((x0, bottom + 24, x0 + width, bottom + 24 + sig_h), outline=(200, 200, 200), width=1)
        if data.signature is not None:
            sig = contain(
                open_image(data.signature, "signature image", "ask the resident to sign again."),
                (width - 8, sig_h - 8),
            )
            c.paste(sig, x0 + 4, bottom + 24 + 4 + (sig_h - 8 - sig.height) // 2)
        bottom -= 8
    if "entitlements" in design.fields and data.entitlements:
        y = c.label(labels.entitlements, x0, y, width, _GREY)
        names = [design.entitlement_names.get(code, code.replace("-", " ").capitalize()) for code in data.entitlements]
        text = " · ".join(names)
        room = bottom - y - 110 - _EXTRA_ROW_H * len(extra_rows)
        try:
            ent = fit_text(text, width, max(30, min(120, room)), max_size=28, min_size=18, max_lines=3, what="entitlements")
        except CardLayoutError:
            if not extra_rows:
                raise
            raise _crowded(extra_rows) from None  # the printed fields' rows took its room
        y = c.text(ent, x0, y, width, _INK) + 8
    if "languages" in design.fields and data.languages:
        y = c.label(labels.languages, x0, y, width, _GREY)
        langs = fit_text(", ".join(data.languages), width, 40, max_size=26, min_size=16, what="languages")
        y = c.text(langs, x0, y, width, _INK) + 8
    if extra_rows:
        y = _extra_fields(c, extra_rows, x0, y, width, bottom)
    if design.back_note and bottom - y >= 30:
        note = fit_text(
            design.back_note, width, bottom - y, max_size=22, min_size=13, max_lines=8,
            paragraph=True, what="programme note",
        )
        c.text(note, x0, y, width, _GREY, align="auto")

    _footer(c, design)
    return c.image


def render_card(
    design: CardDesign, data: CardData, *, bleed: bool = False, dpi: int = DPI
) -> RenderedCard:
    """Draw both sides. Raises CardLayoutError (or FontNotFoundError) with a sentence."""
    if dpi != DPI:
        raise CardLayoutError(f"The card layout is drawn at {DPI} dpi; scale the images for other printers.")
    _check_fields(design, data)
    return RenderedCard(_front(design, data, bleed, dpi), _back(design, data, bleed, dpi), bleed, dpi)
