"""The claims of the wallet credentials (SD-JWT VC and mdoc): the chip's, and no more.

A wallet credential carries what the chip credential carries about the holder — programme,
names, birth date, sex, photo, languages, entitlements, document number — each as its own
disclosable item, plus three items derived from them at issue time (`age_over_18`,
`age_over_65`, `resident_of`: the programme's city). Issuer, validity, status reference and
the holder's key are always visible: a venue needs them to check the credential at all.

An *item* is what a venue can ask for and a holder can disclose: a claim name, or
`entitlement:<code>` for one entitlement.
"""

from __future__ import annotations

import base64
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .credential import ENTITLEMENT_CODE, Credential, Variant
from .errors import MalformedError
from .fastpath import iso_day

PERSONAL = (
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "photo",
    "languages",
    "program",
    "document_number",
)
"""The chip's claims about the holder, each disclosable on its own."""
DERIVED = ("age_over_18", "age_over_65", "resident_of")
"""Items computed from the chip's claims when the credential is issued."""
ITEMS = PERSONAL + DERIVED
ENTITLEMENT_PREFIX = "entitlement:"
AGES = (18, 65)


def entitlement_item(code: str) -> str:
    return ENTITLEMENT_PREFIX + code


def check_item(item: object) -> str:
    """`item` when a venue may ask for it; MalformedError otherwise."""
    # an entitlement by its code, as a card holds them: any other text after the prefix could
    # never be on a card, and a wallet would show it to the holder as words of the venue's
    if isinstance(item, str) and (
        item in ITEMS
        or (
            item.startswith(ENTITLEMENT_PREFIX)
            and ENTITLEMENT_CODE.match(item[len(ENTITLEMENT_PREFIX) :]) is not None
        )
    ):
        return item
    raise MalformedError(f"{item!r} is not something a citycard wallet can disclose.")


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def personal_values(credential: Credential) -> dict[str, Any]:
    """Each disclosable item's value (entitlements apart), JSON-ready; sex only when printed.

    Ages are as of the issue day: a wallet credential is issued again, as the card is, when
    an age item should change.
    """
    if credential.variant is Variant.COMPACT:
        raise MalformedError(
            "A compact credential does not carry the holder's details; issue the wallet "
            "credential from the chip or print credential."
        )
    h = credential.holder
    issued = date.fromordinal(date(1970, 1, 1).toordinal() + credential.issued_at // 86400)
    values: dict[str, Any] = {
        "family_name": h.family_name,
        "given_name": h.given_name,
        "birth_date": h.birth_date.isoformat(),
        "sex": h.sex,
        "photo": None if h.photo is None else base64.b64encode(h.photo).decode("ascii"),
        "languages": list(h.languages) or None,
        "program": h.program,
        "document_number": credential.document_number,
        "age_over_18": age_on(h.birth_date, issued) >= 18,
        "age_over_65": age_on(h.birth_date, issued) >= 65,
        "resident_of": h.program,
    }
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class WalletClaims:
    """A verified wallet credential: what is always visible, and what the holder disclosed.

    `disclosed` maps items to values as a venue shows them (`photo` as base64 text); the
    entitlements disclosed are in `entitlements`.
    """

    format: str
    issuer: str
    issued_at: int
    expires_at: int
    status_index: int
    status_uri: str
    kid: bytes
    disclosed: dict[str, Any] = field(default_factory=dict)
    entitlements: tuple[str, ...] = ()

    def items(self) -> set[str]:
        return set(self.disclosed) | {entitlement_item(e) for e in self.entitlements}

    def display(self, only: Collection[str] | None = None) -> dict[str, Any]:
        """What a reader may show: the disclosed items (those in `only`, when given), the
        validity, and nothing the holder kept back."""
        out: dict[str, Any] = {
            "format": self.format,
            "issued": iso_day(self.issued_at // 86400),
            "expires": iso_day((self.expires_at - 1) // 86400),
        }
        for name, value in self.disclosed.items():
            if only is not None and name not in only:
                continue
            out["photo_base64" if name == "photo" else name] = value
        out["entitlements"] = [
            e for e in self.entitlements if only is None or entitlement_item(e) in only
        ]
        return out
