"""Checks on what the resident types, each failing with one plain message id (translated later).

Names may be written in any script, but one name must be in one script: a name that mixes
Latin and Cyrillic letters (for example a Cyrillic "а" inside a Latin name, which looks the same)
is refused, because a reader cannot tell what is printed. Japanese (kanji + kana) and Korean
(hangul + hanja) mixes are normal and allowed.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from cardio.credential import MAX_NAME

from ..i18n import N_

MIN_BIRTH_YEAR = 1900

# Characters that may join the letters of a name, in any script.
_JOINERS = frozenset(" -'’.·\u200c\u200d\u00b7\u30fb\u2010\u2011")
# Scripts that are written together in one name.
_COMPATIBLE = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HANGUL", "HAN"}),
)
# The first word of some Japanese marks is not a script: ー (KATAKANA-HIRAGANA PROLONGED SOUND
# MARK) and 々 (IDEOGRAPHIC ITERATION MARK) belong to the kana and kanji they follow.
_SCRIPT_ALIASES = {
    "CJK": "HAN",
    "FULLWIDTH": "LATIN",
    "HALFWIDTH": "KATAKANA",
    "KATAKANA-HIRAGANA": "KATAKANA",
    "IDEOGRAPHIC": "HAN",
}
_SPACES = re.compile(r"\s+")
# Format characters ordinary spelling needs in free text as in names: ZWNJ and ZWJ (Persian
# "می‌گل", Indic conjuncts); the other Cf characters (bidi overrides) are refused.
_TEXT_FORMAT_CHARS = frozenset("\n\u200c\u200d")
# Modifier letters ("MODIFIER LETTER ...": the Hawaiian ʻokina U+02BB, the glottal stop
# U+02BC) belong to no script of their own: they take the script of the letters around them.
_NO_SCRIPT = frozenset({"MODIFIER"})
# Marks that are part of one script's spelling, allowed in a name of that script only (a
# Hebrew hyphen in a Latin name would be a look-alike of "-"): the Tibetan tsheg (and its
# non-breaking form) between syllables; the Hebrew maqaf (hyphen), geresh (apostrophe) and
# gershayim; the Armenian hyphen. The card's fonts for these scripts draw them.
_SCRIPT_SEPARATORS = {
    "\u0f0b": "TIBETAN",
    "\u0f0c": "TIBETAN",
    "\u05be": "HEBREW",
    "\u05f3": "HEBREW",
    "\u05f4": "HEBREW",
    "\u058a": "ARMENIAN",
}


class InputError(ValueError):
    """A value the resident should correct; `message` is an untranslated message id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def script_of(char: str) -> str | None:
    """The script of a letter ('LATIN', 'CYRILLIC', 'ARABIC', 'HAN', ...); None for a mark."""
    if unicodedata.category(char).startswith("M"):
        return None  # a combining mark belongs to the letter before it
    try:
        word = unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
    return _SCRIPT_ALIASES.get(word, word)


def scripts_in(text: str) -> set[str]:
    return {
        s
        for ch in text
        if ch not in _JOINERS and (s := script_of(ch)) is not None and s not in _NO_SCRIPT
    }


def _mixed(scripts: set[str]) -> bool:
    if len(scripts) <= 1:
        return False
    return not any(scripts <= group for group in _COMPATIBLE)


def clean_name(raw: str | None, *, required: bool = True) -> str:
    """A name as it will be printed: NFC, trimmed, single spaces; InputError if unusable."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", raw or "")).strip()
    if not text:
        if required:
            raise InputError(N_("Please write this name."))
        return ""
    if len(text) > MAX_NAME:
        raise InputError(N_("This name is too long. Please shorten it."))
    # The scripts of the letters alone: a separator counts only beside letters of its script.
    letters = scripts_in("".join(ch for ch in text if ch not in _SCRIPT_SEPARATORS))
    for ch in text:
        if ch in _JOINERS or _SCRIPT_SEPARATORS.get(ch, "") in letters:
            continue
        category = unicodedata.category(ch)
        if not (category.startswith("L") or category.startswith("M")):
            raise InputError(
                N_("Use only letters, spaces, hyphens (-) and apostrophes (') in a name.")
            )
    if _mixed(scripts_in(text)):
        raise InputError(
            N_("This name mixes letters from different alphabets. Write it in one alphabet.")
        )
    if not letters:
        raise InputError(N_("Please write this name."))
    return text


def clean_text(raw: str | None, *, max_length: int, required: bool = False) -> str:
    """Free text (an address, a contact): trimmed, no control characters, bounded length."""
    text = unicodedata.normalize("NFC", raw or "").strip()
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())
    if not text:
        if required:
            raise InputError(N_("Please fill in this field."))
        return ""
    if len(text) > max_length:
        raise InputError(N_("This is too long. Please shorten it."))
    if any(
        unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch not in _TEXT_FORMAT_CHARS
        for ch in text
    ):
        raise InputError(N_("This holds characters that cannot be printed. Please retype it."))
    return text


def read_number(text: str, max_digits: int) -> int | None:
    """A whole number written in digits of any script (Arabic-Indic and Persian digits too);
    None when it is not one, or has more than `max_digits` digits after its leading zeros.
    Bounded because int() refuses a string of over 4300 digits with a ValueError."""
    if not text.isdecimal():
        return None
    digits = list(itertools.dropwhile(lambda d: d == 0, map(unicodedata.decimal, text)))
    if len(digits) > max_digits:
        return None
    value = 0
    for digit in digits:
        value = value * 10 + digit
    return value


@dataclass(frozen=True, slots=True)
class DateParts:
    day: str
    month: str
    year: str


def parse_birth_date(parts: DateParts, today: date) -> date:
    """A birth date from day, month and year boxes; InputError for any impossible date."""
    raw = (parts.day.strip(), parts.month.strip(), parts.year.strip())
    if not all(raw):
        raise InputError(N_("Please write your date of birth: day, month and year."))
    # A day or a month has two digits at most (leading zeros aside); a year is written whole.
    day, month = read_number(raw[0], 2), read_number(raw[1], 2)
    year = read_number(raw[2], 4) if len(raw[2]) == 4 else None
    if day is None or month is None or year is None:
        raise InputError(N_("Write the date with numbers, for example 31 12 1990."))
    if not 1 <= month <= 12:
        raise InputError(N_("The month must be a number from 1 to 12."))
    # Before the calendar check: year 0 is no date at all, and the year is what is wrong.
    if year < MIN_BIRTH_YEAR:
        raise InputError(N_("Please check the year."))
    try:
        born = date(year, month, day)
    except ValueError:
        raise InputError(N_("This date does not exist. Please check the day and the month.")) from None
    if born > today:
        raise InputError(N_("This date is in the future. Please check the year."))
    return born
