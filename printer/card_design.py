"""What a card is drawn from: the programme's design and one resident's card data.

`CardDesign` is what a programme's profile says about its card (display name, colours, arms or
logo, the "not a residence permit" line, which optional fields it prints, labels); `CardData`
is one resident's card. The geometry (ISO/IEC 7810 ID-1: 85.60 x 53.98 mm, 1011 x 638 px at
300 dpi, a 3 mm safe margin, 1 mm bleed) is here too; `printer.card_layout` draws the card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cardio.credential import Credential, local_day
from cardio.errors import CitycardError

from .fonts import han_language

__all__ = [
    "BLEED_MM",
    "CARD_HEIGHT_MM",
    "CARD_WIDTH_MM",
    "DPI",
    "OPTIONAL_FIELDS",
    "SAFE_MARGIN_MM",
    "CardData",
    "CardDesign",
    "CardLabels",
    "CardLayoutError",
    "Color",
    "FieldTooLongError",
    "card_size_px",
    "mm_to_px",
    "parse_color",
]

CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98
DPI = 300
SAFE_MARGIN_MM = 3.0
BLEED_MM = 1.0
OPTIONAL_FIELDS = frozenset({"sex", "signature", "entitlements", "languages"})

Color = tuple[int, int, int]

class CardLayoutError(CitycardError):
    """The card cannot be drawn as asked; the message says what to change."""


class FieldTooLongError(CardLayoutError):
    """One of the resident's fields does not fit the card even at its smallest size.

    `field` is the field's code ("family_name", "address", ...: what the resident shortens),
    `what` the words naming it in the message; `crowded` says the field fits by itself but
    the back has no room left for it beside the others (the longest is named).
    """

    def __init__(self, field: str, what: str, *, crowded: bool = False) -> None:
        self.field = field
        self.what = what
        self.crowded = crowded
        if crowded:
            message = (
                "The card's printed fields do not all fit on the back of the card; shorten "
                f"the longest, the {what}."
            )
        else:
            message = f"The {what} is too long to fit on the card; shorten it and try again."
        super().__init__(message)


def mm_to_px(mm: float, dpi: int = DPI) -> int:
    return round(mm / 25.4 * dpi)


def card_size_px(bleed: bool = False, dpi: int = DPI) -> tuple[int, int]:
    """(width, height) of one side in pixels: 1011 x 638 at 300 dpi, 1035 x 662 with bleed."""
    extra = 2 * mm_to_px(BLEED_MM, dpi) if bleed else 0
    return mm_to_px(CARD_WIDTH_MM, dpi) + extra, mm_to_px(CARD_HEIGHT_MM, dpi) + extra


def parse_color(value: str | Color, what: str) -> Color:
    """An (r, g, b) colour from "#RRGGBB" or a tuple; `what` names it in the error."""
    if isinstance(value, tuple):
        if len(value) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in value):
            return value
    elif isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
    raise CardLayoutError(f"The {what} colour {value!r} is not a colour such as '#1F4E79'.")


@dataclass(frozen=True)
class CardLabels:
    """The words printed next to the fields, already in the card's printed languages (the
    kiosk translates them: a card printing two languages gets "Name / Nom"). The English
    defaults serve callers that draw a card without a programme (tests, benchmarks)."""

    family_name: str = "Family name"
    given_name: str = "Given names"
    birth_date: str = "Date of birth"
    sex: str = "Sex"
    document_number: str = "Document no."
    issued: str = "Issued"
    expires: str = "Expires"
    entitlements: str = "Entitlements"
    languages: str = "Languages"
    signature: str = "Holder's signature"
    no_photo: str = "No photo"


@dataclass(frozen=True)
class CardDesign:
    """What a programme's profile says about its card, in the words printed on it.

    `display_name` is the card's title, the programme's own name for its card in each printed
    language ("Züri City Card / Zurich City Card"); `issuer_name` the issuing authority
    printed under it. `language_names` gives the name printed for a language code (in the
    language itself: "Español" for es); a code it lacks is refused rather than printed raw.
    `full_width_fields` are the extra fields (`CardData.extra_fields`) that always get a row
    of their own at the column's full width (an address), before the short ones.
    `languages` are the printed languages, in order: the first Chinese, Japanese or Korean one
    gives the Han characters of the design's words their shapes (`words_language`).
    """

    display_name: str
    primary: str | Color
    secondary: str | Color
    disclaimer: str = "Not a residence permit. Not a travel document."
    arms: Path | None = None
    fields: frozenset[str] = frozenset({"sex", "entitlements", "languages"})
    labels: CardLabels = field(default_factory=CardLabels)
    entitlement_names: Mapping[str, str] = field(default_factory=dict)
    back_note: str | None = None
    # Labels of the extra printed fields (CardData.extra_fields), by field code, in the card's
    # language; a key not found here is printed as its own label.
    field_labels: Mapping[str, str] = field(default_factory=dict)
    issuer_name: str | None = None
    language_names: Mapping[str, str] | None = None
    full_width_fields: frozenset[str] = frozenset({"address"})
    languages: tuple[str, ...] = ()

    @property
    def words_language(self) -> str | None:
        """The language whose shapes the Han characters of the title, labels and disclaimer
        take (Traditional Chinese on a card printing zh-Hant), None when none prints Han."""
        return han_language(self.languages)

    def language_name(self, code: str) -> str:
        """The printed name of a language code; without `language_names` the code itself."""
        if self.language_names is None:
            return code
        name = self.language_names.get(code)
        if not name:
            raise CardLayoutError(
                f"The card has no printed name for the language {code!r}; add it to the "
                "design's language names."
            )
        return name

    def field_label(self, key: str) -> str:
        """The printed label of an extra field (`key` is a field code or a label already)."""
        label = self.field_labels.get(key)
        if label:
            return label
        if re.fullmatch(r"[a-z][a-z0-9_]*", key):
            return key.replace("_", " ").capitalize()
        return key

    def __post_init__(self) -> None:
        if not self.display_name.strip():
            raise CardLayoutError("The programme's display name is empty; set it in the profile.")
        if not self.disclaimer.strip():
            raise CardLayoutError(
                "The disclaimer line is empty; every card must say it is not a residence permit."
            )
        unknown = set(self.fields) - OPTIONAL_FIELDS
        if unknown:
            raise CardLayoutError(
                f"Unknown optional card field(s) {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(sorted(OPTIONAL_FIELDS))}."
            )
        parse_color(self.primary, "primary")
        parse_color(self.secondary, "secondary")

    @property
    def primary_rgb(self) -> Color:
        return parse_color(self.primary, "primary")

    @property
    def secondary_rgb(self) -> Color:
        return parse_color(self.secondary, "secondary")


@dataclass(frozen=True)
class CardData:
    """One resident's card. Personal fields are kept out of repr() so they never reach a log."""

    family_name: str = field(repr=False)
    given_name: str = field(repr=False)
    birth_date: date = field(repr=False)
    document_number: str
    issued: date
    expires: date
    qr_text: str = field(repr=False)
    photo: bytes | None = field(default=None, repr=False)  # JPEG
    sex: str | None = field(default=None, repr=False)
    signature: bytes | None = field(default=None, repr=False)  # PNG, transparent background
    entitlements: tuple[str, ...] = field(default=(), repr=False)
    languages: tuple[str, ...] = field(default=(), repr=False)
    # (field code or label, value) printed on the card only: never in the credential.
    extra_fields: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def from_credential(
        cls,
        credential: Credential,
        qr_text: str,
        photo: bytes | None = None,
        signature: bytes | None = None,
        extra_fields: tuple[tuple[str, str], ...] = (),
    ) -> CardData:
        """The card data of an issued credential (the print QR text is passed as it is), with
        the printed-only `extra_fields`."""
        h = credential.holder
        return cls(
            family_name=h.family_name,
            given_name=h.given_name,
            birth_date=h.birth_date,
            document_number=credential.document_number,
            issued=local_day(credential.issued_at),  # the station's day (its time zone)
            expires=credential.expiry_date,
            qr_text=qr_text,
            photo=photo if photo is not None else h.photo,
            sex=h.sex,
            signature=signature,
            entitlements=h.entitlements,
            languages=h.languages,
            extra_fields=tuple(extra_fields),
        )
