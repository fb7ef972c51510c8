"""What the terminal takes from the outside world before it verifies anything.

`scanned_qr_text`: a keyboard-wedge QR scanner types the code's text followed by Enter, which
arrives as one CR, LF or CR LF. The terminal's input layer (`POST /verify` with a QR text,
`citycard-reader verify --qr`) removes exactly that one line ending and nothing else;
`cardio.credential.from_qr` then takes the text exactly as written (docs/credential.md 1.2).

`credential_bytes`: credential bytes given without a chip (`citycard-reader verify FILE`, the
bytes of `POST /verify`) are the COSE_Sign1 itself or, as the kiosk demo writes `chip.ndef`, the
NDEF message read from a chip, holding one `application/vnd.citycard+cwt` record. Told apart by
content: the one accepted COSE_Sign1 encoding starts `d2 84`; an NDEF record never does (its
second byte is the type length, 28 for the citycard type).

`file_qr_text`: a file given to `citycard-reader verify FILE` may also hold the text of a
printed QR code, as the kiosk demo writes `qr.txt` (and as `citycard-kiosk demo --renew` takes
it): text starting `CC1:`, checked as `--qr` would check it. One leading UTF-8 byte order mark
(EF BB BF, which Windows editors put at the start of a text file) is not part of the text; it
is dropped for a file only, never for `--qr` or a JSON `POST /verify`, which get the code's own
text. The same holds for a file of a wallet's text (an SD-JWT, a phone's answer `CCS1:`,
`CCM1:`, `CCP1:`): `file_wallet_text`.

`bytes_verdict`: the one reading of given bytes, shared by `citycard-reader verify FILE` and the
bytes of `POST /verify` (application/cbor, application/octet-stream): a printed QR code's text
(`file_qr_text`), a wallet credential or presentation (`cardio.presentation.wallet_verdict`:
SD-JWT VC, mdoc), else a credential or a chip's NDEF message (`credential_bytes`), checked
without its chip.
"""

from __future__ import annotations

from cardio.credential import QR_PREFIX
from cardio.errors import CitycardError
from cardio.presentation import MDOC_PREFIX, PART_PREFIX, SDJWT_PREFIX, wallet_verdict
from cardio.type4 import credential_from_ndef
from cardio.verdict import VerificationResult
from cardio.verify import Verifier

_COSE_SIGN1_START = b"\xd2\x84"  # tag 18, array of 4 (docs/credential.md 1.4)

_SCANNER_ENDINGS = ("\r\n", "\n", "\r")  # CR LF first: it is one ending, not two

_QR_START = QR_PREFIX.encode("ascii")

_UTF8_BOM = b"\xef\xbb\xbf"

_WALLET_TEXT_STARTS = tuple(t.encode("ascii") for t in ("ey", SDJWT_PREFIX, MDOC_PREFIX, PART_PREFIX))


def scanned_qr_text(text: str) -> str:
    """`text` without the one line ending a scanner appended (if any)."""
    for ending in _SCANNER_ENDINGS:
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def credential_bytes(data: bytes) -> bytes:
    """The credential in `data`: the bytes themselves, or the citycard record of an NDEF message.

    Anything that is neither is returned unchanged, for the verifier to call MALFORMED.
    """
    if data.startswith(_COSE_SIGN1_START):
        return data
    try:
        return credential_from_ndef(data)
    except CitycardError:
        return data


def file_qr_text(data: bytes) -> str | None:
    """The printed QR code's text a file holds (one leading byte order mark and one trailing
    line ending, as an editor or a scanner leaves them, are not part of it), or None when
    `data` does not start as that text."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    if not data.startswith(_QR_START):
        return None  # a COSE_Sign1 or an NDEF message never starts with these ASCII bytes
    try:
        return scanned_qr_text(data.decode("ascii"))
    except UnicodeDecodeError:
        return None  # not QR text after all: the verifier calls the bytes MALFORMED


def file_wallet_text(data: bytes) -> bytes:
    """`data` without the one leading byte order mark an editor may put before a wallet's
    text; any other bytes as they are (a BOM before CBOR is not dropped: that is no text)."""
    if data.startswith(_UTF8_BOM) and data[len(_UTF8_BOM) :].lstrip().startswith(_WALLET_TEXT_STARTS):
        return data[len(_UTF8_BOM) :]
    return data


def bytes_verdict(
    verifier: Verifier, data: bytes, request_qr: str | None = None, now: float | None = None
) -> VerificationResult:
    """The verdict on bytes given to the terminal (a file, a venue system's request body).
    `request_qr`: the venue request (CCQ1:) a wallet presentation answers; MalformedError when
    it is not one."""
    qr = file_qr_text(data)  # the kiosk demo's qr.txt (a leading BOM dropped)
    if qr is not None:  # read as `--qr` reads it: `request_qr` checked all the same
        return wallet_verdict(verifier, qr, request_qr, now) or verifier.verify_qr(qr, now)
    data = file_wallet_text(data)
    return wallet_verdict(verifier, data, request_qr, now) or verifier.verify_without_chip(
        credential_bytes(data), now
    )
