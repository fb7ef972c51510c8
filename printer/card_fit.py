"""Will the card fit? Asked before a document number is allocated, so nothing is voided late.

`check_fit(design, data)` lays the card out exactly as `printer.card_layout.render_card` does
(the same code, fonts and boxes: it is a render whose images are dropped) and returns what
does not fit, one `FitProblem` per field, each with the longest text of that field that fits.
The layout depends on the signed card only through the QR code's width, and only two ways
(the back's right column starts beside a QR code up to `printer.card_layout.QR_NARROW_PX`
wide, or beside a wider one): the check lays the card out both ways, with QR texts that give
each width, and a card that fits both ways fits whatever its QR code. The document number is taken as wide as one
can be (`placeholder_number()`), so card data made before allocation fits when the signed
card's data does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from .card_design import CardData, CardDesign, CardLayoutError, FieldTooLongError
from .card_layout import render_card

__all__ = [
    "PLACEHOLDER_QR",
    "WIDE_QR",
    "FitProblem",
    "check_fit",
    "draft_data",
    "placeholder_number",
]

_BASE45 = "6BFOXN*TS0BI$ZDFRH%PQ 4FMVEJ$4ANBEO/6MD9BJ9/ZDCQ1F6ALT3A+HH9D:D"
# QR texts (not credentials) whose codes are QR_NARROW_PX wide (version 11, 5 px modules) and
# wider (version 6, 10 px modules): the two places of the back's right column.
PLACEHOLDER_QR = "CC1:" + _BASE45 * 5
WIDE_QR = "CC1:" + _BASE45[:40]
_MAX_NUMBER = 24  # cardio.credential: a document number has 4 to 24 characters
_NAME_FIELDS = ("family_name", "given_name")
_MAX_ROUNDS = 12  # fields cut in turn before the check gives up (each round cuts one)


def placeholder_number() -> str:
    """A document number as wide as a real one can be, for a layout made before allocation."""
    return "0" * _MAX_NUMBER


def draft_data(
    family_name: str,
    given_name: str,
    birth_date: date,
    today: date,
    *,
    photo: bytes | None = None,
    sex: str | None = None,
    signature: bytes | None = None,
    entitlements: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
    extra_fields: tuple[tuple[str, str], ...] = (),
) -> CardData:
    """A resident's card data before a number is allocated or a credential signed: the widest
    document number and `PLACEHOLDER_QR` stand in for them (for `check_fit`)."""
    return CardData(
        family_name=family_name,
        given_name=given_name,
        birth_date=birth_date,
        document_number=placeholder_number(),
        issued=today,
        expires=today,
        qr_text=PLACEHOLDER_QR,
        photo=photo,
        sex=sex,
        signature=signature,
        entitlements=entitlements,
        languages=languages,
        extra_fields=tuple(extra_fields),
    )


@dataclass(frozen=True)
class FitProblem:
    """What does not fit the card.

    `field` is the resident's field to shorten (a field code, as in `CardData.extra_fields`,
    or "family_name" / "given_name"), None when it is not the resident's (the programme's
    design, a photo); `max_chars` the most characters of it that fit (0: it does not fit even
    empty, other fields take its room); `message` the layout's own sentence.
    """

    field: str | None
    max_chars: int
    message: str


def _value(data: CardData, field: str) -> str | None:
    if field in _NAME_FIELDS:
        return str(getattr(data, field))
    for key, value in data.extra_fields:
        if key == field:
            return value
    return None


def _with_value(data: CardData, field: str, value: str) -> CardData:
    if field == "family_name":
        return replace(data, family_name=value)
    if field == "given_name":
        return replace(data, given_name=value)
    extra = tuple((k, value if k == field else v) for k, v in data.extra_fields)
    return replace(data, extra_fields=extra)


def _trouble(design: CardDesign, data: CardData) -> CardLayoutError | None:
    """Why the card cannot be drawn beside a QR code of either width (None: it can)."""
    for qr_text in (data.qr_text, WIDE_QR if data.qr_text == PLACEHOLDER_QR else None):
        if qr_text is None:
            continue
        try:
            render_card(design, replace(data, qr_text=qr_text), layout_only=True)
        except CardLayoutError as exc:
            return exc
    return None


def _longest_fitting(
    design: CardDesign, data: CardData, field: str, value: str, crowded: bool
) -> int:
    """The most characters of `value` (cut at its end) with which `field` fits (and, when the
    back was `crowded`, with which the back has room): a bisection (a shorter text never
    needs more room)."""
    fits, too_long = 0, len(value)
    while too_long - fits > 1:
        mid = (fits + too_long) // 2
        exc = _trouble(design, _with_value(data, field, value[:mid].rstrip()))
        if isinstance(exc, FieldTooLongError) and (
            exc.field == field or (crowded and exc.crowded)
        ):
            too_long = mid
        else:
            fits = mid
    return fits


def check_fit(design: CardDesign, data: CardData) -> list[FitProblem]:
    """What of `data` does not fit the card of `design` (empty: `render_card` draws it).

    With `PLACEHOLDER_QR` as its QR text (before the credential is signed), the card is laid
    out beside a narrow and a wide QR code: empty then means it is drawn whatever the code.
    When fields share the back, cutting one may leave another too long: each is cut in turn
    (one may be named twice, then with its shorter length) until the card is drawn.
    """
    problems: dict[str | None, FitProblem] = {}
    for _ in range(_MAX_ROUNDS):
        exc = _trouble(design, data)
        if exc is None:
            return list(problems.values())
        value = _value(data, exc.field) if isinstance(exc, FieldTooLongError) else None
        if not isinstance(exc, FieldTooLongError) or value is None:
            break
        n = _longest_fitting(design, data, exc.field, value, exc.crowded)
        problems[exc.field] = FitProblem(exc.field, n, str(exc))
        # Go on with that field cut to fit, to find the next field that does not fit.
        data = _with_value(data, exc.field, value[:n].rstrip())
    else:
        exc = _trouble(design, data)
        if exc is None:
            return list(problems.values())
    problems[None] = FitProblem(None, 0, str(exc))
    return list(problems.values())
