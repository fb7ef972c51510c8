"""Can the card's fonts draw a text? Asked of every field a resident types, before the card.

A character no installed font has would print as an empty box (an emoji in an address) or stop
the card's layout (a script with no font: `printer.fonts.FontNotFoundError`), while the chip and
the QR code would carry it: the printed card and the chip would disagree. So the details step
refuses such a text on its field, with a sentence, as it refuses a name with digits.

The answer comes from the code that draws: `printer.card_text.card_faces` is the face the card
draws each character with (font runs: a Hebrew address's digits in Noto Sans, its words in
Noto Sans Hebrew), and `printer.raster.covers` tells a glyph from the .notdef box. So it stays
true when fonts are installed or the font lookup changes.
"""

from __future__ import annotations

from printer.card_text import card_faces
from printer.fonts import FontNotFoundError
from printer.raster import covers


def printable(text: str, language: str = "en") -> bool:
    """True when the card's fonts draw every character of `text` (line breaks aside), in
    both weights the card uses (names and values bold, given names and labels regular)."""
    for line in text.splitlines():
        for bold in (True, False):
            try:
                faces = card_faces(line, bold, language)
            except FontNotFoundError:
                return False  # a letter of a script no installed font has
            drawn = " ".join(line.split())  # as the card takes it: card_faces is per character
            if not all(covers(f, ch) for f, ch in zip(faces, drawn, strict=True) if ch != " "):
                return False
    return True


def lacks_a_font(text: str, language: str = "en") -> bool:
    """True when some character of `text` has no font to draw it: which field a
    `FontNotFoundError` of the layout comes from (the layout asks the same lookup)."""
    return not printable(text, language)
