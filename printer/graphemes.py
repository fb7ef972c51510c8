"""Where a text may be cut between characters: at grapheme cluster boundaries only.

A cluster is what a reader sees as one letter: a base letter with its combining marks
(ọ̀), an Indic consonant with its dependent vowel signs (दी) or a conjunct joined by a virama
(क्ष), a Hangul syllable written in conjoining jamo. Cutting inside one prints a dotted
circle or a broken letter at the start of the next line. This follows the extended grapheme
clusters of Unicode UAX #29 for what names and addresses hold (not emoji sequences), and
keeps every virama with the letter after it, as wrapping must.
"""

from __future__ import annotations

import unicodedata

__all__ = ["clusters"]

_ZWJ, _ZWNJ = "\u200d", "\u200c"
# Spacing marks that Unicode files as letters (Lo): Thai and Lao SARA AM.
_SPACING_LETTERS = frozenset("\u0e33\u0eb3")
_VIRAMA = 9  # canonical combining class of a virama (Indic halant, Tamil pulli, ...)


def _jamo(ch: str) -> str:
    """The Hangul syllable type (L, V, T, LV, LVT) of a character, "" for others."""
    cp = ord(ch)
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


def _joined(prev: str, ch: str) -> bool:
    """True when no cluster boundary falls between `prev` and `ch`."""
    if unicodedata.category(ch)[0] == "M" or ch in (_ZWJ, _ZWNJ) or ch in _SPACING_LETTERS:
        return True
    if prev == _ZWJ:
        return True
    if unicodedata.combining(prev) == _VIRAMA and unicodedata.category(ch)[0] == "L":
        return True  # a conjunct: the virama joins its consonant to the next
    before, after = _jamo(prev), _jamo(ch)
    return (
        (before == "L" and after in ("L", "V", "LV", "LVT"))
        or (before in ("LV", "V") and after in ("V", "T"))
        or (before in ("LVT", "T") and after == "T")
    )


def clusters(text: str) -> list[str]:
    """`text` cut at every grapheme cluster boundary (joined again, it is `text`)."""
    out: list[str] = []
    for ch in text:
        if out and _joined(out[-1][-1], ch):
            out[-1] += ch
        else:
            out.append(ch)
    return out
