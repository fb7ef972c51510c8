"""What a job is given and what it gives back: the enrolment (in memory only), the steps
and progress it reports, its result and the notices for the attendant."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from cardio.chip import CardProfile
from cardio.credential import Holder

from ..allocator import Successor


def new_request_id() -> str:
    """A fresh request id for one enrolment (the UI makes one per resident session)."""
    return uuid.uuid4().hex


# -- progress ------------------------------------------------------------------------------------


class JobStep(StrEnum):
    """What the job is doing, for the UI (translate by value)."""

    WAIT_CARD = "wait_card"
    ALLOCATE = "allocate"
    SIGN = "sign"
    WRITE_CHIP = "write_chip"
    PRINT_CARD = "print_card"
    PRINT_RECEIPT = "print_receipt"
    FORGET = "forget"
    DONE = "done"


# (start, end) of each step on the 0..1 progress bar, roughly by the time real devices take.
STEP_SPANS = {
    JobStep.WAIT_CARD: (0.00, 0.02),
    JobStep.ALLOCATE: (0.02, 0.04),
    JobStep.SIGN: (0.04, 0.08),
    JobStep.WRITE_CHIP: (0.08, 0.15),
    JobStep.PRINT_CARD: (0.15, 0.90),
    JobStep.PRINT_RECEIPT: (0.90, 0.98),
    JobStep.FORGET: (0.98, 1.00),
    JobStep.DONE: (1.00, 1.00),
}


@dataclass(frozen=True)
class Progress:
    step: JobStep
    fraction: float  # of the whole job, 0.0 .. 1.0, never decreasing within a run


ProgressCallback = Callable[[Progress], None]


# -- inputs and outputs --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Enrolment:
    """One resident's card, in memory only. `repr()` shows nothing personal.

    `holder` carries what is printed (its `photo` is ignored: the chip photo is `chip_photo`,
    prepared with kiosk.photo to the profile's chip budget; `print_photo` is the larger one for
    the printed card). `expires` is the last valid day (the programme's validity), None for the
    station's default. `program` is the `kiosk.programs.Program` when there is one (its card
    design is used), `language` the resident's language for the receipt.

    `printed_fields` are the programme's other printed fields as (field code, value), e.g.
    ("address", "..."), ("height", "163 cm"): printed on the card only (labelled in the card's
    language by its design), never put in the chip or QR credential, never journaled or logged.

    `successor` makes the card a renewal or replacement of an existing document number (the
    card keeps it; kiosk.allocator.Successor); None for a first card with a new number.
    """

    holder: Holder
    profile: CardProfile
    chip_photo: bytes | None = None
    print_photo: bytes | None = None
    signature_png: bytes | None = None
    expires: date | None = None
    language: str = "en"
    program: object | None = None  # a kiosk.programs.Program; anything else is ignored
    programme_name: str | None = None
    printed_fields: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    successor: Successor | None = None

    def __repr__(self) -> str:
        kind = "first" if self.successor is None else self.successor.kind
        return f"Enrolment(profile={self.profile.value}, {kind}, <personal data not shown>)"


@dataclass(frozen=True)
class Notice:
    """Something the attendant must know about a card: what a restart (or a retry) found
    left over, or a card whose report the registry has not recorded."""

    kind: str  # one of NOTICE_KINDS
    message: str  # in English, for the console and the log; the kiosk's UI translates `kind`
    document_number: str | None
    job_id: str
    request_id: str
    torn_receipt: bool = False  # "kept": a torn receipt's code may still cancel the card


# "voided": the card number of a job cut short is cancelled; "kept": a card printed without its
# receipt; "pending": a number not yet known or not yet cancelled (the registry did not answer);
# "interrupted": cut short before any number; "report_pending" / "report_refused": a card made
# whose report the registry has not recorded yet / refuses for good.
NOTICE_KINDS = ("voided", "kept", "pending", "interrupted", "report_pending", "report_refused")


@dataclass(frozen=True)
class JobResult:
    """A card made. Nothing personal: the UI shows the number and the expiry date."""

    request_id: str
    job_id: str
    document_number: str
    status_list: str
    status_index: int
    expires: date | None
    profile: CardProfile | None
    receipt_printed: bool
    repeated: bool = False  # True: this request's card was made before; nothing was done now
    notices: tuple[Notice, ...] = ()

