"""A new revocation code for a receipt that failed mid-print.

A receipt that stopped after the printer took it (paper out, cover opened: the printer error's
`during_job`) may already show its one-time revocation code, and the torn part stays in or under
the printer: whoever takes it could revoke the resident's card. So the receipt printed again
carries a new code (`printer.receipt.RevocationCode`), and the registry is told its digest in
place of the old one (the issuer API's `POST /api/v1/kiosk/cards/<number>/revocation-code`,
docs/api.md) before it is printed: from then on the torn code no longer works.

When the registry refuses (or the kiosk's allocator cannot tell it), the old code stays the one
the registry knows, and the attendant is told to destroy the torn receipt. A new code whose
digest was sent but not confirmed (the answer was lost) is sent again before the retry prints:
the registry may hold either code, so nothing is printed (the retry fails again, telling the
attendant to press Retry when the registry answers) until the registry confirms the new code,
or refuses it (then the old code is the registry's and the receipt prints it).

When no receipt will be printed after all (the attendant ended the visit, or the kiosk stopped)
while the torn code may still work (`code_kept`, `code_unconfirmed`), the code is given up:
`settle_torn_codes` sends the registry the digest of a new code that nobody keeps, after the
next card whose report got through and at the next start (recovery), and journals
`code_settled`.

Zero retention: the new code and its digest live only in the job's memory (dropped when the job
forgets the resident); the journal records only the outcome, as a `receipt_failed` record:
`code_renewed`, `code_kept` (refused, or not sent) or `code_unconfirmed` (the answer lost). The
last of these (`JobHistory.code_outcome`) says whether the torn code may still work, which
recovery tells the attendant after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cardio import codes
from cardio.errors import CitycardError
from printer.errors import PrinterError

from ..allocator import AllocationError, Allocator, card_refused
from ..journal import (
    CODE_KEPT,
    CODE_RENEWED,
    CODE_SETTLED,
    CODE_UNCONFIRMED,
    JobHistory,
    Journal,
    JournalError,
)
from ..printing import Receipt

if TYPE_CHECKING:  # printer.receipt imports python-escpos: not before use_escpos_cache
    from printer.receipt import RevocationCode

log = logging.getLogger(__name__)



@runtime_checkable
class CodeReplacer(Protocol):
    """An allocator that can give a card's receipt a new revocation code."""

    def replace_revocation_code(self, document_number: str, code_hash: str) -> None:
        """From now on only the code whose digest is `code_hash` revokes the card (idempotent).
        AllocationError when the registry refused; another CitycardError when its answer is
        unknown (sending the same digest again is safe)."""
        ...


def maybe_printed(exc: BaseException) -> bool:
    """Whether a failed receipt may have come out in part (and so show its code)."""
    if isinstance(exc, PrinterError):
        return exc.during_job
    # Another CitycardError is not the printer's: laying the receipt out failed (no font, no
    # shaping) before any byte was sent (kiosk.printing.ReceiptSink raises PrinterError for the
    # printer's). A failure of unknown kind: assume the worst.
    return not isinstance(exc, CitycardError)


class CodeRenewal:
    """The new code of one job's receipt, kept until the registry confirms it."""

    def __init__(self) -> None:
        self._code: RevocationCode | None = None

    @property
    def pending(self) -> bool:
        """A new code was made but the registry has not confirmed it."""
        return self._code is not None

    def forget(self) -> None:
        self._code = None

    def renew(self, allocator: Allocator, receipt: Receipt) -> tuple[Receipt, str, str]:
        """Tell the registry the digest of a new code (the pending one, if any): the receipt
        to print next, the journal outcome and the sentence for the attendant. When the answer
        is lost (CODE_UNCONFIRMED), the code stays `pending`: the receipt must not be printed."""
        if not isinstance(allocator, CodeReplacer):
            return receipt, CODE_KEPT, _destroy("this kiosk cannot give a receipt a new code")
        resend = self._code is not None
        if self._code is None:
            from printer.receipt import RevocationCode

            self._code = RevocationCode.generate()
        number = receipt.document_number
        try:
            allocator.replace_revocation_code(number, self._code.digest)
        except AllocationError as exc:
            log.warning("new revocation code for %s refused: %s", number, type(exc).__name__)
            self._code = None  # refused: the old code is still the registry's
            return receipt, CODE_KEPT, _destroy("the city registry refused a new one", str(exc))
        except CitycardError as exc:
            # The answer is lost: the registry may hold the new digest or the old one.
            log.warning("new revocation code for %s not confirmed: %s", number, type(exc).__name__)
            if resend:
                return receipt, CODE_UNCONFIRMED, _unconfirmed(str(exc))
            return (
                receipt,
                CODE_UNCONFIRMED,
                _destroy("the city registry could not be told of a new one", str(exc)),
            )
        renewed = replace(receipt, revocation_code=self._code.printable)
        self._code = None
        return (
            renewed,
            CODE_RENEWED,
            "The receipt printed next has a new revocation code; the code on the torn receipt no "
            "longer works, so the torn receipt can be thrown away.",
        )


def settle_torn_codes(
    histories: Iterable[JobHistory],
    journal: Journal,
    allocator: Allocator,
    clock: Callable[[], float],
) -> None:
    """Give up the code of each finished job whose receipt tore mid-print and was never
    printed again (JobHistory.torn_code_owed): the torn part may show a code that still works,
    and no resident holds a receipt with the code that replaced it. The registry is given the
    digest of a new code that nobody keeps, so the torn code stops working. A refusal for what
    the card is settles it too (kiosk.allocator.card_refused: a voided or revoked card needs no
    code, and asking again would not change the answer); no answer, or another refusal: next
    time, and not the rest now. `histories`: those of the journal's jobs to settle (each gets
    its `code_settled` record added). The caller holds `journal.exclusive()`."""
    if not isinstance(allocator, CodeReplacer):
        return
    for history in histories:
        assert history.doc is not None
        try:
            # cardio.codes, not printer.receipt: recovery imports no python-escpos
            unknown = codes.hash_code(codes.new_revocation_code())
            allocator.replace_revocation_code(history.doc, unknown)
        except CitycardError as exc:
            log.warning("torn code of %s not given up: %s", history.doc, type(exc).__name__)
            if not card_refused(exc):
                return
            outcome = CODE_KEPT
        else:
            outcome = CODE_RENEWED
        try:
            history.add(
                journal.append_for(history, CODE_SETTLED, clock(), doc=history.doc, outcome=outcome)
            )
        except JournalError:  # asked again next time: a new unknown code does no harm
            log.error("journal: could not record the torn code of %s", history.doc)


def _destroy(reason: str, detail: str = "") -> str:
    return (
        f"The revocation code on the torn receipt still works, because {reason}: tear that "
        "receipt up before anyone can take it (its code can cancel the resident's card)."
        + _detail(detail)
    )


def _unconfirmed(detail: str) -> str:
    return (
        "The receipt was not printed again, because the city registry has not confirmed its new "
        "revocation code (the registry may hold either code): press Retry when the registry "
        "answers. The code on the torn receipt may still work: tear that receipt up before anyone "
        "can take it (its code can cancel the resident's card)." + _detail(detail)
    )


def _detail(detail: str) -> str:
    detail = detail.strip()
    if detail and detail[-1] not in ".!?":
        detail += "."
    return f" {detail}" if detail else ""
