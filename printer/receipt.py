"""The enrolment receipt: programme, document number, expiry, the one-time revocation code
with a QR code that opens the issuer's lost-card page, what the card is and is not, and
contacts (the programme's office, phone, web address), in the resident's language.

This module holds no words of its own: content arrives translated (`ReceiptText`, made by the
kiosk from its gettext catalogues with `kiosk.printing.receipt_text`, and the programme's own
strings). Farsi, Tigrinya, Arabic and Chinese are drawn as images; Turkish and Ukrainian too,
unless the printer has a code page for them (CP857 or CP1254, CP1251; see `printer.paper`).
`build_receipt` lays the receipt out for a paper profile as a `ReceiptLayout`;
`printer.escpos_printer.ReceiptPrinter.print_receipt` prints it.

Revocation code: 10 characters from Crockford's base-32 alphabet (no I, L, O, U; 50 bits),
shown as two groups of five. It is printed once, on this receipt, and only its hash goes to
the registry: scrypt (N=2^15, r=8, p=1, 16-byte random salt, 32-byte output; `cardio.codes`) in a
self-describing string. A salted SHA-256 would not do: 2^50 guesses of SHA-256 take about a
day on one GPU, so a leaked registry would give away every code (and with it the power to
revoke anyone's card); scrypt costs ~0.1 s and 32 MiB per guess, which puts 2^50 guesses out
of reach, while the kiosk and registry pay it once per card and once per report. The code
never appears in a repr, a log or on disk; if printing fails after the job was sent, make a
new code (and store its hash instead) rather than reprinting the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cardio import codes
from cardio.errors import CitycardError

from .document import Align, Block, Document, Qr, Rule, Style, Text
from .paper import PAPER_80MM, PaperProfile

__all__ = [
    "CODE_ALPHABET",
    "Contact",
    "ReceiptContent",
    "ReceiptLayout",
    "ReceiptText",
    "RevocationCode",
    "RevocationCodeError",
    "build_receipt",
    "verify_revocation_code",
]

# The code's format and its hash belong to the issuer (cardio.codes); the receipt only prints it.
CODE_ALPHABET = codes.CROCKFORD
CODE_LENGTH = codes.CODE_LENGTH
_READ_AS = {"O": "0", "I": "1", "L": "1", "U": "V"}  # what people type for look-alikes
LRI, PDI = "\u2066", "\u2069"  # keep numbers, codes and URLs left-to-right in RTL text


class RevocationCodeError(CitycardError):
    """A stored revocation hash that citycard did not write."""


def normalise_code(entered: str) -> str:
    """The canonical form of a typed code: capitals, no spaces or dashes, look-alikes mapped."""
    out = []
    for ch in entered.upper():
        if ch in " -\t":
            continue
        out.append(_READ_AS.get(ch, ch))
    return "".join(out)


@dataclass(frozen=True)
class RevocationCode:
    """A one-time code to print once; `digest` is what the registry stores.

    `str()` and `repr()` never show the code: only `printable` does, for the receipt.
    """

    _value: str = field(repr=False)
    digest: str = field(repr=False)

    @classmethod
    def generate(cls) -> RevocationCode:
        printed = codes.new_revocation_code()
        return cls(normalise_code(printed), codes.hash_code(printed))

    @property
    def printable(self) -> str:
        """The code as printed: two groups of five, e.g. '7KQ2M-XR4PD'."""
        return f"{self._value[:5]}-{self._value[5:]}"

    def __str__(self) -> str:
        return "<revocation code>"


def verify_revocation_code(entered: str, digest: str) -> bool:
    """True when `entered` (as a person types it) is the code whose hash is `digest`."""
    if codes.parse_digest(digest) is None:
        raise RevocationCodeError(
            "This revocation hash was not written by citycard or is damaged: ask city IT to "
            "check the registry."
        )
    return codes.check_code(entered, digest)


@dataclass(frozen=True)
class Contact:
    """One way to reach the programme: a translated label and a value (phone, web, office)."""

    label: str
    value: str


@dataclass(frozen=True)
class ReceiptText:
    """The receipt's own words, translated into one language."""

    title: str
    document_number: str
    valid_until: str
    lost_heading: str
    lost_text: str
    about_heading: str
    contacts_heading: str
    separator: str = ": "  # between a contact label and its value


@dataclass(frozen=True)
class ReceiptContent:
    """Everything printed on one receipt. Nothing here names the resident."""

    programme_name: str
    document_number: str
    expires: date
    revocation_code: RevocationCode
    card_is_and_is_not: str
    contacts: tuple[Contact, ...]
    language: str
    text: ReceiptText
    # Printed under the contact heading when there are no contacts, so it is never empty.
    contact_note: str = ""
    # The address a QR code under the revocation code opens (the issuer's lost-card page for
    # this document number), and the line above it saying what scanning it does.
    lost_qr: str | None = field(default=None, repr=False)
    lost_qr_caption: str = ""


@dataclass(frozen=True)
class ReceiptLayout:
    """A laid-out receipt, ready for `ReceiptPrinter.print_receipt`; holds the code to print."""

    document: Document = field(repr=False)
    revocation_hash: str = field(repr=False)
    language: str
    profile: PaperProfile


def _ltr(value: str) -> str:
    return f"{LRI}{value}{PDI}"


def build_receipt(
    content: ReceiptContent, profile: PaperProfile = PAPER_80MM, *, force_raster: bool = False
) -> ReceiptLayout:
    """Lay out the receipt for the paper width of `profile`.

    Blocks whose characters the printer's code pages hold are printed as text, the others are
    drawn (see `printer.document`); `force_raster` draws everything (for comparisons).
    """
    t = content.text
    body: list[Block] = [
        Text(content.programme_name, Style.HEADING, Align.CENTER),
        Text(t.title, Style.TITLE, Align.CENTER),
        Rule(),
        Text(t.document_number, Style.TITLE),
        Text(_ltr(content.document_number), Style.VALUE),
        Text(t.valid_until, Style.TITLE),
        Text(_ltr(content.expires.isoformat()), Style.VALUE),
        Rule(),
        Text(t.lost_heading, Style.TITLE),
        Text(t.lost_text, Style.BODY),
        Text(content.revocation_code.printable, Style.CODE, Align.CENTER),
    ]
    if content.lost_qr:
        if content.lost_qr_caption:
            body.append(Text(content.lost_qr_caption, Style.SMALL, Align.CENTER))
        body.append(Qr(content.lost_qr))
    body += [
        Rule(),
        Text(t.about_heading, Style.TITLE),
        Text(content.card_is_and_is_not, Style.BODY),
        Rule(),
        Text(t.contacts_heading, Style.TITLE),
    ]
    body.extend(
        Text(f"{c.label}{t.separator}{_ltr(c.value)}", Style.SMALL) for c in content.contacts
    )
    if not content.contacts and content.contact_note:
        body.append(Text(content.contact_note, Style.SMALL))
    document = Document(tuple(body), content.language, force_raster=force_raster)
    return ReceiptLayout(document, content.revocation_code.digest, content.language, profile)

