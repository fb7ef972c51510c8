"""Where a kiosk gets document numbers from, and how it signs: two small interfaces.

`Allocator` is the registry seen from a kiosk, shaped after the issuer API's kiosk endpoints
(api/issuer/routes_kiosk.py):

    allocate(request_id)                     POST /api/v1/kiosk/allocations {"request_id"}
    report_issued(number, iat, exp)          POST /api/v1/kiosk/cards/<number>/issued
    void(number)                             POST /api/v1/kiosk/cards/<number>/void
    replace_revocation_code(number, hash)    POST /api/v1/kiosk/cards/<number>/revocation-code

`allocate` is idempotent per request id: asking again with the same id returns the same
document number and status slot (with a fresh one-time revocation code for the receipt). A
request id whose card was already reported issued or voided is refused (`AllocationError`);
the job therefore allocates with one id per attempt (`<request id>.<attempt>`, see kiosk.job).

The production allocator is `kiosk.http_allocator.HttpAllocator` (signed kiosk requests,
cardio.kiosk_auth). Demos, tests and `--simulate` use `hardware.local_issuer.IssuerAllocator`,
which calls an issuer in the same process: the kiosk package never imports the issuer.

A renewal or replacement keeps the old card's document number: `SuccessorAllocator` (both
allocators above) asks for a new slot for that number,

    allocate_successor(request_id, successor)  POST /api/v1/kiosk/allocations
                                               {"request_id", "kind", "document_number"}

and `allocate_for` is what the job calls: a first card or a successor. The registry supersedes a
renewed card when the new one is reported issued, and revokes a replaced one at once.

`CredentialSigner` signs the two credentials of a card with the kiosk's own key;
`KioskKeySigner` does it with any `cardio.keys.Signer` (a file key, a PKCS#11 token). For a
`compact` card (a 256-byte chip) the chip credential is the compact one, without name, birth
date or photo (docs/credential.md); `room_problem` says beforehand when a programme's card
cannot fit the profile's chip, so that no number is allocated for a card that cannot be made.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from cardio.chip import CardProfile, compact_room_problem
from cardio.credential import ChipBinding, Credential, Holder, Variant, sign_credential
from cardio.errors import CitycardError
from cardio.keys import Signer


class AllocationError(CitycardError):
    """The registry did not hand out (or take back) a number; the message says why.

    `status` is the HTTP status of a refusal by the issuer API (0 otherwise) and `reason` the
    registry's own sentence."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


def card_refused(exc: BaseException) -> bool:
    """The registry refused because of what this card is (not ours: 404; voided, revoked or
    recorded otherwise: 409): asking again about it will not change the answer. Any other
    refusal (a clock too far off, a kiosk not allowed now) may pass."""
    return isinstance(exc, AllocationError) and exc.status in (404, 409)


class SuccessorRefusedError(AllocationError):
    """The registry refused a renewal or replacement for what the number's card is (unknown,
    suspended, revoked, already being renewed); the message says why. Retrying does not help."""


RENEWAL, REPLACEMENT = "renewal", "replacement"


@dataclass(frozen=True)
class Successor:
    """A new card for an existing document number: a `renewal` (the old card is superseded
    once the new one is made) or a `replacement` (the lost card is revoked at once)."""

    kind: str
    document_number: str

    def __post_init__(self) -> None:
        if self.kind not in (RENEWAL, REPLACEMENT):
            raise ValueError(f"a successor is a renewal or a replacement, not {self.kind!r}")


@dataclass(frozen=True)
class Allocation:
    """A document number and status slot for one card. Nothing personal; the revocation code
    is a secret for the receipt only (never logged, never journalled)."""

    request_id: str
    document_number: str
    status_list: str
    status_uri: str
    status_index: int
    kid: str = ""
    revocation_code: str | None = field(default=None, repr=False)
    replayed: bool = False


class Allocator(Protocol):
    def allocate(self, request_id: str) -> Allocation:
        """A number and status slot for `request_id` (the same ones when asked again)."""
        ...

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        """The card was made: record its times (idempotent)."""
        ...

    def void(self, document_number: str) -> None:
        """The card could not be finished: its status becomes INVALID for good (idempotent)."""
        ...


@runtime_checkable
class SuccessorAllocator(Protocol):
    """An allocator that can also give an existing number a new card."""

    def allocate_successor(self, request_id: str, successor: Successor) -> Allocation:
        """A new slot for `successor.document_number` (the same one when asked again);
        SuccessorRefusedError when the number's card cannot be renewed or replaced."""
        ...


def allocate_for(allocator: Allocator, request_id: str, successor: Successor | None) -> Allocation:
    """The allocation for one attempt: a new number, or a new slot for a successor's number."""
    if successor is None:
        return allocator.allocate(request_id)
    if not isinstance(allocator, SuccessorAllocator):
        raise SuccessorRefusedError(
            "This kiosk's connection to the city registry cannot renew or replace cards; "
            "call technical support."
        )
    allocation = allocator.allocate_successor(request_id, successor)
    if allocation.document_number != successor.document_number:
        raise AllocationError(
            f"The city registry answered with number {allocation.document_number} for "
            f"{successor.document_number}; call technical support."
        )
    return allocation


@dataclass(frozen=True)
class SignedCard:
    """The credentials of one card, in memory only (they hold the resident's data)."""

    credential: Credential = field(repr=False)  # the print variant's claims
    print_cose: bytes = field(repr=False)
    chip_cose: bytes | None = field(default=None, repr=False)


class CredentialSigner(Protocol):
    def sign(
        self,
        allocation: Allocation,
        holder: Holder,
        binding: ChipBinding | None,
        issued_at: int,
        expires_at: int,
    ) -> SignedCard:
        """The print credential (no photo, no binding) and, with a binding, the chip one (the
        compact chip credential when the binding says the chip is a compact one)."""
        ...


@runtime_checkable
class ChipRoomCheck(Protocol):
    """A signer that can tell beforehand whether a programme's card fits its profile's chip
    (the job asks it before it takes a card or a number)."""

    def room_problem(
        self, program: str, entitlements: tuple[str, ...], profile: CardProfile
    ) -> str | None:
        """Why a card of `program` holding all of `entitlements` cannot be made for `profile`
        (its chip cannot hold the credential), as a sentence; None when it can."""
        ...


class KioskKeySigner:
    """Signs with the kiosk's key (`cardio.keys.Signer`) for the issuer `issuer_id`."""

    def __init__(self, signer: Signer, issuer_id: str) -> None:
        self.signer = signer
        self.issuer_id = issuer_id

    def sign(
        self,
        allocation: Allocation,
        holder: Holder,
        binding: ChipBinding | None,
        issued_at: int,
        expires_at: int,
    ) -> SignedCard:
        base = Credential(
            issuer=self.issuer_id,
            document_number=allocation.document_number,
            issued_at=issued_at,
            expires_at=expires_at,
            status_index=allocation.status_index,
            status_uri=allocation.status_uri,
            holder=replace(holder, photo=None),
        )
        print_cose = sign_credential(self.signer, base)
        chip_cose = None
        if binding is not None and binding.compact:
            chip = replace(base, variant=Variant.COMPACT, binding=binding)
            chip_cose = sign_credential(self.signer, chip)
        elif binding is not None:
            chip = replace(base, holder=holder, variant=Variant.CHIP, binding=binding)
            chip_cose = sign_credential(self.signer, chip)
        return SignedCard(base, print_cose, chip_cose)

    def room_problem(
        self, program: str, entitlements: tuple[str, ...], profile: CardProfile
    ) -> str | None:
        if profile is not CardProfile.COMPACT:
            return None  # the other chips hold 4 KB or more; the print profile has no chip
        return compact_room_problem(self.issuer_id, program, entitlements)
