"""Why a card was not made: one `JobError` per cause, each with one sentence for the
attendant, a code for the UI and whether a retry may work; `step_error` maps a device's or the
registry's error to it."""

from __future__ import annotations

from typing import ClassVar

from cardio.apdu import ApduError
from cardio.chip import PersonalisationError
from cardio.errors import (
    CardConnectionError,
    CardLockedError,
    CardRemovedError,
    CardTooSmallError,
    CitycardError,
    MalformedError,
    NoCardError,
    NotType4Error,
    ReaderNotFoundError,
)
from printer.card_design import CardLayoutError
from printer.errors import PrinterError

from ..allocator import AllocationError, SuccessorRefusedError
from ..journal import JournalError
from .model import JobStep


class JobError(CitycardError):
    """The card was not (fully) made. `str()` is for the attendant; `code` for the UI.

    `voided` is the document number cancelled because of this failure (None when nothing was
    allocated, or for a receipt failure); `card_made` is True when only the receipt failed;
    `retry` says that running the job again (same request id) may succeed.
    """

    code: ClassVar[str] = "failed"
    retry: ClassVar[bool] = True
    default: ClassVar[str] = "The card could not be made; press Retry, or call technical support."

    def __init__(
        self,
        message: str | None = None,
        *,
        step: JobStep | None = None,
        voided: str | None = None,
        void_pending: str | None = None,
        card_made: bool = False,
    ) -> None:
        self.base_message = message or self.default
        self.step = step
        self.voided = voided
        self.void_pending = void_pending
        self.card_made = card_made
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = self.base_message
        if self.voided:
            text += f" The number {self.voided} given to that card has been cancelled."
        elif self.void_pending:
            text += (
                f" The number {self.void_pending} given to that card could not be cancelled yet;"
                " the kiosk will cancel it when the registry answers."
            )
        return text

    def with_void(self, voided: str | None, pending: str | None) -> JobError:
        self.voided, self.void_pending = voided, pending
        self.args = (self._compose(),)
        return self

    def with_note(self, sentence: str) -> JobError:
        """Add a sentence for the attendant (what to do with a torn receipt)."""
        self.base_message = f"{self.base_message} {sentence}"
        self.args = (self._compose(),)
        return self


class NoBlankCardError(JobError):
    code = "no_card"
    default = "There is no card on the card writer; put a blank card on it and press Retry."


class WriterFailedError(JobError):
    code = "writer_failed"
    default = (
        "The card writer is not answering; check that it is plugged in, then press Retry. "
        "If it keeps failing, call technical support."
    )


class CardPulledError(JobError):
    code = "card_removed"
    default = (
        "The card was taken off the writer before it was finished; put the same card back on "
        "the writer and press Retry."
    )


class CardTooSmallForCredentialError(JobError):
    code = "card_too_small"
    default = (
        "This card's chip has too little memory for this programme's card; put it aside, take "
        "a card with more memory (a 4 KB or larger chip) and press Retry."
    )


class ProfileTooSmallError(JobError):
    """Found before a card is taken or a number allocated: nothing is voided."""

    code = "profile_too_small"
    retry = False
    default = (
        "This programme's card does not fit the chip of its card profile; no card was used and "
        "no number given. Call technical support to change the programme's card profile."
    )


class CardTextTooLongError(JobError):
    """Found before a card is taken or a number allocated (printer.card_fit): nothing is
    voided; the message names the field to shorten and to how many characters."""

    code = "card_text_too_long"
    retry = False
    default = (
        "The details do not all fit on the card; no card was used and no number given. "
        "Shorten the longest and start the card again."
    )


class CardAlreadyUsedError(JobError):
    code = "card_locked"
    default = (
        "This card is already used (its chip is locked); put it in the reject tray, take a new "
        "blank card and press Retry."
    )


class NotBlankCardError(JobError):
    code = "not_blank_card"
    default = (
        "This is not a blank resident card (its chip is not the right kind); put it aside, take "
        "a blank card from the resident-card stock and press Retry."
    )


class ChipWriteFailedError(JobError):
    code = "chip_failed"
    default = (
        "The chip did not keep what was written; put this card in the reject tray, take a new "
        "blank card and press Retry."
    )


class AllocationFailedError(JobError):
    code = "allocation_failed"
    default = (
        "The city registry did not give a card number; check the kiosk's network connection, "
        "then press Retry."
    )


class SuccessorRefusedJobError(JobError):
    """The registry will not renew or replace this number's card (its sentence says why)."""

    code = "successor_refused"
    retry = False
    default = (
        "The city registry will not renew or replace this card; the holder should contact the "
        "city card office."
    )


class SigningFailedError(JobError):
    code = "signing_failed"
    retry = False
    default = (
        "The kiosk could not sign the card (its key is not available); call technical support."
    )


class CardLayoutFailedError(JobError):
    code = "card_layout"
    retry = False
    default = "The card cannot be laid out with these details; check the name and photo."


class CardPrinterFailedError(JobError):
    code = "card_printer"
    default = "The card printer did not print the card; check it, then press Retry."


class ReceiptPrinterFailedError(JobError):
    code = "receipt_printer"
    default = "The receipt printer did not print; check it, then press Retry."


class JobClosedError(JobError):
    code = "closed"
    retry = False
    default = "This enrolment was already closed (forgotten); start a new enrolment."


class JournalFailedError(JobError):
    code = "journal_failed"
    retry = False


def step_error(step: JobStep, exc: BaseException) -> JobError:
    """The JobError for a failure in `step` (the cause's own sentence where it is apt)."""
    if isinstance(exc, JobError):
        return exc
    if isinstance(exc, JournalError):
        return JournalFailedError(str(exc), step=step)
    if isinstance(exc, SuccessorRefusedError):
        return SuccessorRefusedJobError(str(exc), step=step)
    if step is JobStep.ALLOCATE:
        return AllocationFailedError(
            f"The city registry did not give a card number ({exc}); check the kiosk's network "
            "connection, then press Retry."
            if isinstance(exc, AllocationError)
            else None,
            step=step,
        )
    if step is JobStep.PRINT_CARD:
        if isinstance(exc, PrinterError):
            return CardPrinterFailedError(
                f"{exc} Put any card left in the printer in the reject tray.", step=step
            )
        return CardPrinterFailedError(step=step)
    if step is JobStep.PRINT_RECEIPT:
        msg = str(exc) if isinstance(exc, PrinterError) else None
        return ReceiptPrinterFailedError(msg, step=step, card_made=True)
    if isinstance(exc, CardLayoutError):
        return CardLayoutFailedError(str(exc), step=step)
    if isinstance(exc, NoCardError):
        return NoBlankCardError(step=step)
    if isinstance(exc, CardRemovedError):
        return CardPulledError(step=step)
    if isinstance(exc, ReaderNotFoundError):
        return WriterFailedError(
            f"The card writer is not connected ({exc}); plug it in, then press Retry.", step=step
        )
    if isinstance(exc, CardTooSmallError):
        return CardTooSmallForCredentialError(step=step)
    if isinstance(exc, CardLockedError):
        return CardAlreadyUsedError(step=step)
    if isinstance(exc, NotType4Error | MalformedError):
        return NotBlankCardError(step=step)
    if isinstance(exc, PersonalisationError | ApduError):
        return ChipWriteFailedError(step=step)
    if isinstance(exc, CardConnectionError):
        return WriterFailedError(step=step)
    if step is JobStep.SIGN:
        return SigningFailedError(step=step)
    return JobError(step=step)

