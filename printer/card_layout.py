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

Front: header band (arms, the card's title, the issuing authority), a large photo on the
left, large family and given names, date of birth, sex (where printed), document number,
issue and expiry dates, and the disclaimer band (taller than the back's). Back: the print QR
code (the `CC1:` credential) with the document number and the holder's languages (by name)
under it; in the right column the title, entitlements, the programme's other printed fields
(address, eye colour, height, ...: `CardData.extra_fields`, labelled by
`CardDesign.field_labels`; a full-width field such as the address on a row of its own, first),
the signature (where printed), the programme's note, and the disclaimer band. Every word
arrives translated in the design (in each printed language); `RenderedCard.texts` lists what
each side says.

Extra fields are printed only: they are in no credential, so the chip and the QR code hold
less than the card shows, never more. The front has no room under the dates (the disclaimer
band is there), so they go on the back, in the right column under the entitlements: short
values up to three to a row, a long or full-width one (an address) on its own row, shrinking
then wrapping like a name; the programme's note gives way to them. A back whose fields do not
fit so is laid out again compact (`_COMPACT`: smaller type, a shorter signature box); fields
that cannot fit even then raise CardLayoutError.

Names in any script (`printer.card_text`): each character is drawn with a font that has it
(font runs, as on the receipt: a Hebrew address's house number in Noto Sans, its words in
Noto Sans Hebrew); right-to-left and joining scripts are laid out by libraqm (Pillow's RAQM
layout) and right-aligned. A long name shrinks down to a minimum size, then wraps onto more
lines at no larger a size; text never leaves its box (a name that cannot fit even then raises
CardLayoutError rather than overflow).

QR code (`printer.card_images`): error-correction level M, alphanumeric mode, quiet zone 4
modules, and a module of at least 3 px (0.254 mm) at 300 dpi; the largest whole-pixel module
that fits is used.

The design, the card data and the geometry are defined in `printer.card_design`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from PIL import Image, ImageDraw

from .card_design import (
    BLEED_MM,
    DPI,
    SAFE_MARGIN_MM,
    CardData,
    CardDesign,
    CardLayoutError,
    Color,
    FieldTooLongError,
    card_size_px,
    mm_to_px,
)
from .card_images import arms_image, contain, cover, open_image, qr_image
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
    """Both sides as RGB images (with bleed if asked), with PNG and PDF encoders.

    `texts` holds each side's text items as drawn (a wrapped text's lines joined by spaces),
    so a test can read what a card says without OCR."""

    front: Image.Image
    back: Image.Image
    bleed: bool
    dpi: int = DPI
    texts: Mapping[Side, tuple[str, ...]] = field(default_factory=dict, compare=False)

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

    def __init__(self, bleed: bool, dpi: int, *, measure_only: bool = False) -> None:
        # measure_only: texts are laid out, not drawn (a fit check, a scratch measurement):
        # drawing shaped text is most of a card's cost, and where it ends does not need it
        self.measure_only = measure_only
        self.w, self.h = card_size_px(False, dpi)
        self.b = mm_to_px(BLEED_MM, dpi) if bleed else 0
        self.margin = mm_to_px(SAFE_MARGIN_MM, dpi)
        self.image = Image.new("RGB", (self.w + 2 * self.b, self.h + 2 * self.b), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        self.texts: list[str] = []

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
        self.texts.append(" ".join(fitted.lines))
        draw = None if self.measure_only else self.draw
        return draw_fitted(draw, fitted, bx, by, width, fill, align=align) - self.b

    def label(self, text: str, x: int, y: int, width: int, fill: Color, language: str | None) -> int:
        return self.text(_fit_label(text, width, language=language), x, y, width, fill, align="left")


def _fit_label(
    text: str, width: int, box: int = 0, sizes: tuple[int, int] = (19, 12),
    language: str | None = None,
) -> FittedText:
    """A label: one line when it fits, else (a label in two or three printed languages) two
    lines, shrinking only when two lines at the largest size do not fit. `language` is the
    design's `words_language` (the Han shapes of "Name / 姓名")."""
    return fit_text(
        text, width, box or _LABEL_BOX, max_size=sizes[0], min_size=sizes[1], max_lines=2,
        paragraph=True, what="label", language=language,
    )


_LABEL_BOX = 50  # two lines of a label at 18 px
_ROW_LABEL_BOX = 40  # on the front's rows of dates and numbers: two lines at 15 px
_GREY: Color = (90, 90, 90)
_INK: Color = (20, 20, 20)
_HEADER_H = 130
_STRIPE_H = 8
_FOOTER_Y = 548
_FRONT_FOOTER_Y = 532


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


def _header(c: _Canvas, design: CardDesign) -> None:
    """The band with the arms, the card's title (its name in every printed language) and the
    issuing authority."""
    primary = design.primary_rgb
    ink = _ink_on(primary)
    c.band(0, _HEADER_H, primary)
    c.band(_HEADER_H, _HEADER_H + _STRIPE_H, design.secondary_rgb)
    m = c.margin
    x = m
    logo_box = _HEADER_H - m - 12
    if design.arms is not None:
        logo = arms_image(design.arms, (logo_box, logo_box))
        c.paste(logo, m + (logo_box - logo.width) // 2, m + (logo_box - logo.height) // 2)
        x = m + logo_box + 20
    width = c.w - m - x
    words = design.words_language
    if design.issuer_name:
        # The title on one line and the authority under it, when both fit; else the title
        # alone, on up to two lines (a long bilingual name comes first).
        try:
            title = fit_text(
                design.display_name, width, 60, max_size=44, min_size=28, bold=True,
                what="card title", language=words,
            )
            sub = fit_text(
                design.issuer_name, width, 30, max_size=24, min_size=16,
                what="issuing authority", language=words,
            )
        except CardLayoutError:
            pass
        else:
            c.text(title, x, m - 8, width, ink, align="left")
            c.text(sub, x, _HEADER_H - 4 - 30, width, ink, align="left")
            return
    title = fit_text(
        design.display_name, width, _HEADER_H - m, max_size=44, min_size=22, bold=True,
        max_lines=2, paragraph=True, what="card title", language=words,
    )
    c.text(title, x, m - 8, width, ink, align="left")


def _footer(c: _Canvas, design: CardDesign, footer_y: int = _FOOTER_Y) -> None:
    """The disclaimer band; the front's is taller, so a disclaimer in two or three
    languages stays large there."""
    primary = design.primary_rgb
    c.band(footer_y, c.h, primary)
    m = c.margin
    width = c.w - 2 * m
    top = footer_y + 8
    fitted = fit_text(
        design.disclaimer, width, c.h - m - top, max_size=30,
        min_size=22 if footer_y < _FOOTER_Y else 18, bold=True, max_lines=2, what="disclaimer",
        language=design.words_language,
    )
    c.text(fitted, m, top, width, _ink_on(primary), align="auto")


def _field(
    c: _Canvas, label: str, value: str, x: int, y: int, width: int, label_h: int,
    language: str | None,
) -> int:
    """A label over its value; labels of one row take the same height (`label_h`) so the
    values line up. Returns the y below the value."""
    label_fit = _fit_label(label, width, _ROW_LABEL_BOX, language=language)
    c.text(label_fit, x, y, width, _GREY, align="left")
    fitted = fit_text(value, width, 42, max_size=32, min_size=16, bold=True, what=label.lower())
    return c.text(fitted, x, y + label_h, width, _INK)


def _row(
    c: _Canvas, fields: list[tuple[str, str, int]], x0: int, y: int, width: int,
    language: str | None,
) -> int:
    """Fields side by side from x0 (each (label, value, width); the last takes what is left);
    returns the y below the row. `language`: the labels' (the design's `words_language`)."""
    gap = 16
    style = replace(_ROOMY, words_language=language)
    label_h = max(
        _label_height(label, w, _ROW_LABEL_BOX, style)
        for label, _, w in _widths(fields, x0, width, gap)
    )
    below = y
    col = x0
    for label, value, w in _widths(fields, x0, width, gap):
        below = max(below, _field(c, label, value, col, y, w, label_h, language))
        col += w + gap
    return below


def _widths(
    fields: list[tuple[str, str, int]], x0: int, width: int, gap: int
) -> list[tuple[str, str, int]]:
    used = sum(w for _, _, w in fields[:-1]) + gap * (len(fields) - 1)
    return [*fields[:-1], (fields[-1][0], fields[-1][1], width - used)]


# Front: a photo and a name a pool attendant reads at arm's length.
_PHOTO_TOP = _HEADER_H + _STRIPE_H + 16
_PHOTO_W = 300


def _front(
    design: CardDesign, data: CardData, bleed: bool, dpi: int, layout_only: bool = False
) -> tuple[Image.Image, tuple[str, ...]]:
    c = _Canvas(bleed, dpi, measure_only=layout_only)
    labels = design.labels
    words = design.words_language
    m = c.margin
    _header(c, design)

    # photo, 7:9 like a passport photo, as tall as the front allows
    px0, py0 = m, _PHOTO_TOP
    ph = _FRONT_FOOTER_Y - 14 - py0
    pw = min(_PHOTO_W, ph * 7 // 9)
    if data.photo is not None:
        photo = cover(open_image(data.photo, "photo", "take the photo again."), (pw, ph))
        c.paste(photo, px0, py0)
    else:
        c.rect((px0, py0, px0 + pw, py0 + ph), fill=(235, 235, 235))
        note = fit_text(
            labels.no_photo, pw - 20, 80, max_size=24, min_size=12, max_lines=3, what="label",
            language=words,
        )
        c.text(note, px0 + 10, py0 + ph // 2 - 16, pw - 20, _GREY, align="left")
    c.rect((px0, py0, px0 + pw, py0 + ph), outline=design.secondary_rgb, width=2)

    # names, large
    x0 = px0 + pw + 26
    width = c.w - m - x0
    y = py0 - 6
    y = c.label(labels.family_name, x0, y, width, _GREY, words)
    # The holder's first language picks the CJK face of a Han name (Japanese, Traditional
    # Chinese shapes); the labels' face, the printed languages'.
    language = data.languages[0] if data.languages else None
    family = fit_text(
        data.family_name, width, 100, max_size=58, min_size=30, bold=True, max_lines=3,
        what="family name", field="family_name", language=language,
    )
    c.text(family, x0, y, width, _INK)
    y += 100
    y = c.label(labels.given_name, x0, y, width, _GREY, words)
    given_max = min(44, int(family.font.size))
    given = fit_text(
        data.given_name, width, 58, max_size=given_max, min_size=min(28, given_max),
        max_lines=2, what="given name", field="given_name", language=language,
    )
    c.text(given, x0, y, width, _INK)
    y += 58

    # dates and numbers: two rows above the footer
    row1: list[tuple[str, str, int]] = [(labels.birth_date, data.birth_date.isoformat(), 206)]
    if "sex" in design.fields:
        row1.append((labels.sex, data.sex or "–", 96))
    row1.append((labels.document_number, data.document_number, 0))
    y = _row(c, row1, x0, y, width, words) + 1
    row2 = [(labels.issued, data.issued.isoformat(), 206), (labels.expires, data.expires.isoformat(), 0)]
    y = _row(c, row2, x0, y, width, words)
    if y > _FRONT_FOOTER_Y - 6:
        raise CardLayoutError(
            "The front's labels take too much room above the disclaimer band; shorten the "
            "labels in the catalogues."
        )

    _footer(c, design, _FRONT_FOOTER_Y)
    return c.image, tuple(c.texts)


QR_NARROW_PX = 345  # the usual print credential's QR code (version 11, 5 px modules)
_EXTRA_GAP = 16  # between two fields on one row


@dataclass(frozen=True)
class _BackStyle:
    """The back's type: sizes (largest, smallest) and boxes (heights in px)."""

    title: tuple[int, int, int]  # box (two lines), largest and smallest size
    label: tuple[int, int, int]  # box (two lines), largest and smallest size
    entitlements: tuple[int, int]
    value: tuple[int, int, int]  # a printed field's value: on one line, and wrapped at least
    shared_box: int  # the value's height on a row of two or three fields, at most
    # ... and at least: a value is put beside others only if it fits this box, so it fits
    # whatever box its row gets (a taller box only allows a larger size)
    shared_min_box: int
    alone_kept: int  # kept from the entitlements for a field alone: two lines
    alone_least: int  # one line
    alone_box: int  # at most, for a field alone on its row (an address)
    alone_lines: int
    languages: tuple[int, int, int]  # box, largest and smallest size
    signature_h: int
    # Whose Han shapes: the design's words (`CardDesign.words_language`) and the resident's
    # printed values (their first language, as for their name on the front).
    words_language: str | None = None
    holder_language: str | None = None


# The back is laid out roomy first; when the resident's printed fields do not all fit, it is
# laid out again compact (smaller type, a shorter signature box), so that a programme's card
# holds every field the programme collects, at the longest the kiosk accepts.
_ROOMY = _BackStyle(
    title=(64, 28, 18), label=(_LABEL_BOX, 19, 12), entitlements=(22, 15), value=(26, 20, 13),
    shared_box=40, shared_min_box=28, alone_kept=58, alone_least=22, alone_box=108,
    alone_lines=4, languages=(44, 26, 14), signature_h=96,
)
_COMPACT = _BackStyle(
    title=(44, 20, 14), label=(34, 15, 11), entitlements=(16, 12), value=(17, 13, 12),
    shared_box=25, shared_min_box=19, alone_kept=38, alone_least=19, alone_box=140,
    alone_lines=8, languages=(30, 18, 12), signature_h=68,
)

# One printed field: (field code or label, its printed label, its value on one line).
_Item = tuple[str, str, str]


def _one_line(value: str) -> str:
    """A multi-line value (an address) as one line: its lines joined with commas."""
    return ", ".join(" ".join(line.split()) for line in value.splitlines() if line.strip())


def _fit_value(item: _Item, width: int, box: int, alone: bool, s: _BackStyle) -> FittedText:
    """The one measure of a printed field's value: packing rows asks it whether a field fits
    beside others, drawing draws what it returns (same text, face, weight, size and box)."""
    key, label, value = item
    return fit_text(
        value, width, box, max_size=s.value[0], min_size=s.value[1], bold=True,
        max_lines=s.alone_lines if alone else 1, what=label.lower(), field=key,
        wrap_min_size=s.value[2], language=s.holder_language,
    )


def _back_label(text: str, width: int, s: _BackStyle) -> FittedText:
    return _fit_label(text, width, s.label[0], s.label[1:], s.words_language)


def _label_height(text: str, width: int, box: int = 0, s: _BackStyle = _ROOMY) -> int:
    fitted = _fit_label(text, width, box or s.label[0], s.label[1:], s.words_language)
    return len(fitted.lines) * fitted.line_height


def _fits_beside(item: _Item, width: int, s: _BackStyle) -> bool:
    try:
        _back_label(item[1], width, s)
        _fit_value(item, width, s.shared_min_box, False, s)
    except CardLayoutError:
        return False
    return True


def _extra_rows(
    design: CardDesign, data: CardData, width: int, s: _BackStyle = _ROOMY
) -> list[list[_Item]]:
    """The extra fields as rows: a full-width field (an address) on a row of its own, first;
    then up to three short ones side by side, a long one alone."""
    items = [(k, design.field_label(k), _one_line(v)) for k, v in data.extra_fields if _one_line(v)]
    wide = [item for item in items if item[0] in design.full_width_fields]
    rows: list[list[_Item]] = [[item] for item in wide]
    items = [item for item in items if item[0] not in design.full_width_fields]
    i = 0
    while i < len(items):
        for n in (3, 2, 1):
            cw = (width - (n - 1) * _EXTRA_GAP) // n
            if n == 1 or (
                i + n <= len(items) and all(_fits_beside(item, cw, s) for item in items[i : i + n])
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
    c: _Canvas, rows: list[list[_Item]], x0: int, y: int, width: int, bottom: int, s: _BackStyle
) -> int:
    """Draw the rows of extra fields from y, above `bottom`; returns the y below them."""
    for n, row in enumerate(rows):
        # keep for the rows still to come what they need at least
        share = bottom - y - _rows_min_height(rows[n + 1 :], width, s, least=True)
        alone = len(row) == 1
        cw = (width - (len(row) - 1) * _EXTRA_GAP) // len(row)
        label_h = max(_label_height(item[1], cw, s=s) for item in row)
        box = min(s.alone_box if alone else s.shared_box, share - label_h - 6)
        if box < (s.alone_least if alone else s.shared_min_box):
            raise _crowded(rows)
        below = y
        for j, item in enumerate(row):
            cx = x0 + j * (cw + _EXTRA_GAP)
            c.text(_back_label(item[1], cw, s), cx, y, cw, _GREY, align="left")
            fitted = _fit_value(item, cw, box, alone, s)
            below = max(below, c.text(fitted, cx, y + label_h, cw, _INK))
        y = below + 6
    return y


def _fit_languages(
    names: list[tuple[str, str]], width: int, s: _BackStyle
) -> tuple[list[FittedText], FittedText]:
    """The holder's languages ((code, printed name) pairs) on one line, each name in its own
    font (names in their own scripts: "ትግርኛ, العربية" needs two fonts; 中文 in the shapes of
    its own code), at the largest common size that fits; with the comma between them (drawn
    with a space after it)."""
    box, largest, smallest = s.languages
    for size in range(largest, smallest - 1, -1):
        try:
            runs = [
                fit_text(
                    name, width, box, max_size=size, min_size=size, what="languages",
                    language=code,
                )
                for code, name in names
            ]
            comma = fit_text(",", width, box, max_size=size, min_size=size, what="languages")
        except CardLayoutError:
            continue
        total = sum(r.widths[0] for r in runs)  # a name may be drawn in runs of two faces
        total += comma.font.getlength(", ") * (len(runs) - 1)
        if total <= width:
            return runs, comma
    raise CardLayoutError("The holder's languages do not fit on the card; choose fewer languages.")


def _draw_languages(
    c: _Canvas, names: list[tuple[str, str]], x: int, y: int, width: int, s: _BackStyle
) -> int:
    """Draw the languages' names from (x, y) on one line; returns the y below it."""
    runs, comma = _fit_languages(names, width, s)
    below = y
    for i, run in enumerate(runs):
        w = int(run.widths[0]) + 1
        below = max(below, c.text(run, x, y, w, _INK, align="left"))
        x += w
        if i < len(runs) - 1:
            c.text(comma, x, y + _baseline_shift(run, comma), w, _INK, align="left")
            x += int(comma.font.getlength(", "))
    del c.texts[len(c.texts) - (2 * len(runs) - 1) :]
    c.texts.append(", ".join(r.lines[0] for r in runs))
    return below


def _baseline_shift(run: FittedText, comma: FittedText) -> int:
    """Where the comma goes so it sits on the name's baseline (fonts differ in ascent)."""
    return run.ascent - comma.ascent


def _rows_natural_height(rows: list[list[_Item]], width: int, s: _BackStyle) -> int:
    """The height the rows of printed fields take when nothing presses them (drawn on a
    scratch canvas, so it is what drawing them takes)."""
    if not rows:
        return 0
    try:
        scratch = _Canvas(False, DPI, measure_only=True)
        return _extra_fields(scratch, rows, 0, 0, width, _FOOTER_Y, s)
    except CardLayoutError:
        return _rows_min_height(rows, width, s)  # they cannot fit anyway: the layout says so


def _rows_min_height(
    rows: list[list[_Item]], width: int, s: _BackStyle, *, least: bool = False
) -> int:
    """The height the rows of printed fields keep for themselves: their labels and a value
    on two lines for a field alone (an address), on one line beside others; `least`: one
    line for every field."""
    total = 0
    for row in rows:
        cw = (width - (len(row) - 1) * _EXTRA_GAP) // len(row)
        alone = s.alone_least if least else s.alone_kept
        value = alone if len(row) == 1 else s.shared_min_box
        total += max(_label_height(item[1], cw, s=s) for item in row) + value + 6
    return total


def _back(
    design: CardDesign, data: CardData, bleed: bool, dpi: int, layout_only: bool = False
) -> tuple[Image.Image, tuple[str, ...]]:
    """The back, roomy if it fits so, else compact (`_BackStyle`)."""
    words, holder = design.words_language, data.languages[0] if data.languages else None
    roomy, compact = (
        replace(s, words_language=words, holder_language=holder) for s in (_ROOMY, _COMPACT)
    )
    try:
        return _back_in(roomy, design, data, bleed, dpi, layout_only)
    except CardLayoutError:
        return _back_in(compact, design, data, bleed, dpi, layout_only)


def _back_in(
    s: _BackStyle, design: CardDesign, data: CardData, bleed: bool, dpi: int, layout_only: bool
) -> tuple[Image.Image, tuple[str, ...]]:
    c = _Canvas(bleed, dpi, measure_only=layout_only)
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
    number_bottom = c.text(number, m, qr_top + qr.height + 2, qr.width, _INK, align="left")

    # right column: at one of two places, beside a QR code up to QR_NARROW_PX wide or beside
    # a wider one, so printer.card_fit can lay the card out both ways before the code exists
    x0 = m + (QR_NARROW_PX if qr.width <= QR_NARROW_PX else qr_box) + 28
    width = c.w - m - x0
    y = m + 4
    title = fit_text(
        design.display_name, width, s.title[0], max_size=s.title[1], min_size=s.title[2],
        bold=True, max_lines=2, paragraph=True, what="card title", language=s.words_language,
    )
    y = c.text(title, x0, y, width, design.primary_rgb, align="left") + 6
    bottom = _FOOTER_Y - 12
    extra_rows = _extra_rows(design, data, width, s)
    if "signature" in design.fields:
        sig_h = s.signature_h
        bottom -= sig_h + 26
        c.text(_back_label(labels.signature, width, s), x0, bottom, width, _GREY, align="left")
        c.rect((x0, bottom + 24, x0 + width, bottom + 24 + sig_h), outline=(200, 200, 200), width=1)
        if data.signature is not None:
            sig = contain(
                open_image(data.signature, "signature image", "ask the resident to sign again."),
                (width - 8, sig_h - 8),
            )
            c.paste(sig, x0 + 4, bottom + 24 + 4 + (sig_h - 8 - sig.height) // 2)
        bottom -= 8
    left_free = (bottom_left := _FOOTER_Y - 12) - number_bottom
    spoken: list[tuple[str, str]] | None = None
    languages_box = s.languages[0]
    if "languages" in design.fields and data.languages:
        spoken = [(code, design.language_name(code)) for code in data.languages]
        # Under the document number when there is room there (the right column is the
        # crowded one), else in the right column after the entitlements.
        label_h = _label_height(labels.languages, qr.width, s=s)
        if label_h + languages_box <= left_free:
            top = bottom_left - languages_box - label_h
            top = c.text(_back_label(labels.languages, qr.width, s), m, top, qr.width, _GREY, align="left")
            _draw_languages(c, spoken, m, top, qr.width, s)
            spoken = None
    if "entitlements" in design.fields and data.entitlements:
        y = c.text(_back_label(labels.entitlements, width, s), x0, y, width, _GREY, align="left")
        names = [design.entitlement_names.get(code, code.replace("-", " ").capitalize()) for code in data.entitlements]
        text = " · ".join(names)
        # The entitlements (in two or three printed languages, long) take what the printed
        # fields leave at their natural size; failing that, what they need at least.
        langs_h = _label_height(labels.languages, width, s=s) + languages_box + 8 if spoken else 0
        ent = None
        for rows_h in (
            _rows_natural_height(extra_rows, width, s), _rows_min_height(extra_rows, width, s)
        ):
            room = bottom - y - 8 - rows_h - langs_h
            try:
                ent = fit_text(
                    text, width, max(30, min(200, room)), max_size=s.entitlements[0],
                    min_size=s.entitlements[1], max_lines=8, paragraph=True, what="entitlements",
                    language=s.words_language,
                )
                break
            except CardLayoutError:
                if not extra_rows:
                    raise
        if ent is None:
            raise _crowded(extra_rows)  # the printed fields' rows took its room
        y = c.text(ent, x0, y, width, _INK) + 8
    if spoken is not None:
        y = c.text(_back_label(labels.languages, width, s), x0, y, width, _GREY, align="left")
        y = _draw_languages(c, spoken, x0, y, width, s) + 8
    if extra_rows:
        y = _extra_fields(c, extra_rows, x0, y, width, bottom, s)
    if design.back_note and bottom - y >= 30:
        note = fit_text(
            design.back_note, width, bottom - y, max_size=22, min_size=13, max_lines=8,
            paragraph=True, what="programme note", language=s.words_language,
        )
        c.text(note, x0, y, width, _GREY, align="auto")

    _footer(c, design)
    return c.image, tuple(c.texts)


def render_card(
    design: CardDesign, data: CardData, *, bleed: bool = False, dpi: int = DPI,
    layout_only: bool = False,
) -> RenderedCard:
    """Draw both sides. Raises CardLayoutError (or FontNotFoundError) with a sentence.

    `layout_only` lays the card out exactly as drawing it would, and raises the same errors,
    but leaves the texts undrawn: for checking that a card fits (`printer.card_fit`)."""
    if dpi != DPI:
        raise CardLayoutError(f"The card layout is drawn at {DPI} dpi; scale the images for other printers.")
    _check_fields(design, data)
    front, front_texts = _front(design, data, bleed, dpi, layout_only)
    back, back_texts = _back(design, data, bleed, dpi, layout_only)
    return RenderedCard(front, back, bleed, dpi, {"front": front_texts, "back": back_texts})
