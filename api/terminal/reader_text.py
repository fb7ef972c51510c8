"""The reader's status and problem sentences, made translatable for the staff screen.

The card stack (`cardio.pcsc`, `cardio.nfc_backend`) says what is wrong with a reader in one
English sentence with the details filled in: the reader's name, a device path, the readers that
are attached. The staff screen shows it in its own language, so the terminal recognises each of
these sentences by its template (below, extracted into the terminal's catalogues) and keeps it
as a `FilledSentence`: the screen translates the template and fills in the details after. A
sentence no template matches (a driver's own words) is logged, and the status line says
`UNEXPECTED` with the error's kind; a tap that failed for a reason the terminal has no sentence
for says `CARD_NOT_READ` (`problem_sentence`).

`tests/test_terminal_i18n.py` checks that each template still matches what the card stack says.
"""

from __future__ import annotations

import re

from cardio.sentences import FilledSentence

from .i18n import N_

READER_SENTENCES = (
    N_(
        "The PC/SC service (pcscd) is not running; start it with `sudo systemctl start "
        "pcscd.socket` (or `sudo pcscd` where there is no systemd), then try again."
    ),
    N_(
        "No card reader matches %(name)s: no reader is attached; connect the reader (or check "
        "that its driver is installed) and try again."
    ),
    N_(
        "No card reader matches %(name)s; the attached readers are %(readers)s. Pass one of "
        "these names (or a part of one)."
    ),
    N_(
        "No card reader was attached within %(seconds)s s; connect a reader (or check that its "
        "driver is installed) and try again."
    ),
    N_(
        "No NFC reader at %(path)s (%(why)s); check the cable and the path, or run "
        "'citycard-provision doctor'."
    ),
    N_(
        "Permission denied opening the NFC reader at %(path)s; add this user to the 'dialout' "
        "(serial) or 'plugdev' (USB) group, or fix the udev rule, then try again."
    ),
    N_(
        "The NFC reader at %(path)s is in use by another program (pcscd with a PN53x driver, or "
        "a second citycard process); stop it and try again."
    ),
    N_(
        "The NFC reader at %(path)s stopped answering (%(error)s); check the cable, unplug and "
        "plug it in again, and retry."
    ),
)
UNEXPECTED = N_("The reader failed unexpectedly (%(error)s); retrying.")
NO_TRUST_LIST = N_(
    "This reader has no trust list yet; connect it to the city API (or copy the published "
    "lists into its trust directory) and try again."
)
CARD_NOT_READ = N_("The card could not be read; hold it flat on the reader again.")
"""A tap's problem the terminal has no sentence of its own for (the card stack's detail is
logged, not shown: staff could not act on it, and it would be English on any screen)."""
KNOWN = frozenset({NO_TRUST_LIST})
"""The terminal's own plain problem sentences (in its catalogues, shown as they are)."""

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)  # text, name, text, name, ..., text
    return re.compile(
        "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)),
        re.S,
    )


_PATTERNS = tuple((template, _pattern(template)) for template in READER_SENTENCES)


def reader_sentence(text: str) -> str:
    """`text` as a FilledSentence of the template it was made from, or as it is."""
    for template, pattern in _PATTERNS:
        found = pattern.fullmatch(text)
        if found is not None:
            return FilledSentence(template, found.groupdict())
    return text


def problem_sentence(text: str) -> str:
    """What the screen says about a tap that gave no verdict: a reader sentence (translated
    by its template), one of the terminal's own (`KNOWN`), else `CARD_NOT_READ`."""
    sentence = reader_sentence(text)
    if isinstance(sentence, FilledSentence) or sentence in KNOWN:
        return sentence
    return CARD_NOT_READ


def unexpected(exc: BaseException) -> str:
    return FilledSentence(UNEXPECTED, {"error": type(exc).__name__})
