"""The paper card: a temporary card printed on the receipt printer.

A layout for a temporary card on the receipt roll (the kiosk does not print it;
docs/architecture.md says why): the photo (dithered to 1 bit), names, birth date, document
number, dates, the print credential's QR code (the printer's
own QR command when its profile has one, else a drawn QR image) and the "not a residence
permit" line. Names in any script are drawn when the printer's code pages cannot print them.

Names and the birth date are personal data: they are never in a repr or a log, and nothing here
writes them to disk. The caller drops the `PaperCard` once it is printed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from PIL import Image

from cardio.credential import Credential, local_day
from cardio.errors import MalformedError

from .document import Align, Block, Document, Picture, Qr, Rule, Style, Text
from .paper import PAPER_80MM, PaperProfile

__all__ = [
    "PaperCard",
    "PaperCardContent",
    "PaperCardText",
    "build_paper_card",
]

FSI, LRI, PDI = "\u2068", "\u2066", "\u2069"


@dataclass(frozen=True)
class PaperCardText:
    """The paper card's own words in one language (the kiosk makes them from its catalogues:
    `kiosk.printing.paper_card_text`)."""

    title: str
    family_name: str
    given_name: str
    birth_date: str
    document_number: str
    valid: str  # "Valid" (followed by "from – until" dates)
    not_a_permit: str
    temporary: str  # says the paper card is temporary


@dataclass(frozen=True)
class PaperCardContent:
    """Everything on one paper card. Personal fields never appear in a repr."""

    programme_name: str
    family_name: str = field(repr=False)
    given_name: str = field(repr=False)
    birth_date: date = field(repr=False)
    document_number: str
    issued: date
    expires: date
    qr_text: str = field(repr=False)
    photo: bytes | None = field(repr=False)
    language: str
    text: PaperCardText

    @classmethod
    def from_credential(
        cls,
        credential: Credential,
        qr_text: str,
        *,
        programme_name: str,
        text: PaperCardText,
        language: str,
        photo: bytes | None = None,
    ) -> PaperCardContent:
        """The paper card of an issued card: its print credential's QR and its claims."""
        holder = credential.holder
        return cls(
            programme_name=programme_name,
            family_name=holder.family_name,
            given_name=holder.given_name,
            birth_date=holder.birth_date,
            document_number=credential.document_number,
            issued=local_day(credential.issued_at),
            expires=credential.expiry_date,
            qr_text=qr_text,
            photo=photo if photo is not None else holder.photo,
            language=language,
            text=text,
        )


@dataclass(frozen=True)
class PaperCard:
    """A laid-out paper card, ready for `ReceiptPrinter.print_paper_card`."""

    document: Document = field(repr=False)
    language: str
    profile: PaperProfile


def _photo(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, ValueError) as exc:
        raise MalformedError("The photo is not a JPEG or PNG image: take the photo again.") from exc
    return img


def build_paper_card(
    content: PaperCardContent, profile: PaperProfile = PAPER_80MM, *, force_raster: bool = False
) -> PaperCard:
    """Lay out the paper card for the paper width of `profile`."""
    t = content.text
    body: list[Block] = [
        Text(content.programme_name, Style.HEADING, Align.CENTER),
        Text(t.title, Style.TITLE, Align.CENTER),
        Rule(),
    ]
    if content.photo is not None:
        body.append(Picture(_photo(content.photo), width=profile.dots // 3))
    body += [
        Text(t.family_name, Style.SMALL),
        Text(f"{FSI}{content.family_name}{PDI}", Style.VALUE),
        Text(t.given_name, Style.SMALL),
        Text(f"{FSI}{content.given_name}{PDI}", Style.VALUE),
        Text(t.birth_date, Style.SMALL),
        Text(f"{LRI}{content.birth_date.isoformat()}{PDI}", Style.VALUE),
        Text(t.document_number, Style.SMALL),
        Text(f"{LRI}{content.document_number}{PDI}", Style.VALUE),
        Text(t.valid, Style.SMALL),
        Text(
            f"{LRI}{content.issued.isoformat()} - {content.expires.isoformat()}{PDI}", Style.VALUE
        ),
        Qr(content.qr_text),
        Text(t.not_a_permit, Style.TITLE, Align.CENTER),
        Text(t.temporary, Style.SMALL, Align.CENTER),
    ]
    document = Document(tuple(body), content.language, force_raster=force_raster)
    return PaperCard(document, content.language, profile)

