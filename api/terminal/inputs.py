"""What the terminal takes from the outside world before it verifies anything.

`scanned_qr_text`: a keyboard-wedge QR scanner types the code's text followed by Enter, which
arrives as one CR, LF or CR LF. The terminal's input layer (`POST /verify` with a QR text,
`citycard-reader verify --qr`) removes exactly that one line ending and nothing else;
`cardio.credential.from_qr` then takes the text exactly as written (docs/credential.md 1.2).
"""

from __future__ import annotations

_SCANNER_ENDINGS = ("\r\n", "\n", "\r")  # CR LF first: it is one ending, not two


def scanned_qr_text(text: str) -> str:
    """`text` without the one line ending a scanner appended (if any)."""
    for ending in _SCANNER_ENDINGS:
        if text.endswith(ending):
            return text[: -len(ending)]
    return text
