"""Can the card's fonts draw a text? Asked of every field a resident types, before the card.

A character no installed font has would print as an empty box (an emoji in an address) or stop
the card's layout (a script with no font: `printer.fonts.FontNotFoundError`), while the chip and
the QR code would carry it: the printed card and the chip would disagree. So the details step
refuses such a text on its field, with a sentence, as it refuses a name with digits.

The answer comes from the code that draws (`printer.raster.font_runs`, which picks a font for
each character, and `covers`, which tells a glyph from the .notdef box), so it stays true when
fonts are installed or the font lookup changes.
"""

from __future__ import annotations

from printer.fonts import FontNotFoundError, face_for
from printer.raster import covers, font_runs


def printable(text: str, language: str = "en") -> bool:
    """True when the card's fonts draw every character of `text` (line breaks aside)."""
    for line in text.splitlines():
        try:
            runs = font_runs(line, language)
        except FontNotFoundError:
            return False  # a letter of a script no installed font has
        if not all(covers(run.face, ch) for run in runs for ch in run.text if not ch.isspace()):
            return False
    return True


def lacks_a_font(text: str, language: str = "en") -> bool:
    """True when some character of `text` has no font to draw it, by either way of looking
    (the layout asks the font lookup of whole texts, not only of letters): which field a
    `FontNotFoundError` of the layout comes from."""
    if not printable(text, language):
        return True
    for ch in set(text) - {"\n"}:
        try:
            face_for(ch)
        except FontNotFoundError:
            return True
    return False
