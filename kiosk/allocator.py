"""Where a kiosk gets document numbers from, and how it signs: two small interfaces.

`Allocator` is the registry seen from a kiosk, shaped after the issuer API's kiosk endpoints
(api/issuer/routes_kiosk.py):

    allocate(request_id)                     POST /api/v1/kiosk/allocations {"request_id"}
    report_issued(number, iat, exp)          POST /api/v1/kiosk/cards/<number>/issued
    void(number)                             POST /api/v1/kiosk/cards/<number>/void

`allocate` is idempotent per request id: asking again with the same id returns the same
document number and status slot (with a fresh one-time revocation code for the receipt). A
request id whose card was already reported issued or voided is refused (`AllocationError`);
the job therefore allocates with one id per attempt (`<request id>.<attempt>`, see kiosk.job).

`IssuerAllocator` is the in-process allocator of the demo and the tests: it calls an
`api.issuer.service.Issuer` in the same process (the kiosk account must exist: `ensure_kiosk`). An HTTP
allocator (signed kiosk requests, cardio.kiosk_auth) implements the same three methods.

`CredentialSigner` signs the two credentials of a card with the kiosk's own key;
`KioskKeySigner` does it with any `cardio.keys.Signer` (a file key, a PKCS#11 token).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol

from api.issuer.service import Issuer
from cardio.credential import ChipBinding, Credential, Holder, Variant, sign_credential
from cardio.errors import CitycardError
from cardio.keys import Signer


class AllocationError(CitycardError):
    """The registry did not hand out (or take back) a number; the message says why."""


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
        """The print credential (no photo, no binding) and, with a binding, the chip one."""
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
        if binding is not None:
            chip = replace(base, holder=holder, variant=Variant.CHIP, binding=binding)
            chip_cose = sign_credential(self.signer, chip)
        return SignedCard(base, print_cose, chip_cose)


class IssuerAllocator:
    """An `Allocator` over an `api.issuer.service.Issuer` in this process (demo, tests, bench)."""

    def __init__(self, issuer: Issuer, kiosk_id: str) -> None:
        self.issuer = issuer
        self.kiosk_id = kiosk_id

    @classmethod
    def ensure_kiosk(cls, issuer: Issuer, kiosk_id: str = "kiosk-1") -> IssuerAllocator:
        """The allocator for `kiosk_id`, registering the kiosk (with the issuer's own key of
        that label as its signing key) when it is not known yet."""
        if issuer.kiosk(kiosk_id) is None:
            issuer.add_kiosk(kiosk_id)  # the API credential it returns is not needed in-process
        return cls(issuer, kiosk_id)

    def kiosk_signer(self) -> KioskKeySigner:
        """The kiosk's signer: its key in the issuer's key store (development only)."""
        return KioskKeySigner(
            self.issuer.keystore.signer(self.kiosk_id), str(self.issuer.config["issuer"])
        )

    def allocate(self, request_id: str) -> Allocation:
        try:
            got = self.issuer.allocate(self.kiosk_id, request_id, int(time.time()))
        except CitycardError as exc:
            raise AllocationError(str(exc)) from exc
        return Allocation(
            request_id=got.request_id,
            document_number=got.document_number,
            status_list=got.status_list,
            status_uri=got.status_uri,
            status_index=got.status_index,
            kid=got.kid,
            revocation_code=got.revocation_code,
            replayed=got.replayed,
        )

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        try:
            self.issuer.report_issued(self.kiosk_id, document_number, issued_at, expires_at)
        except CitycardError as exc:
            raise AllocationError(str(exc)) from exc

    def void(self, document_number: str) -> None:
        try:
            card, changed = self.issuer.void(self.kiosk_id, document_number)
            if changed:  # what the API route does: readers learn of it at the next sync
                self.issuer.publish_status([card.status_list])
        except CitycardError as exc:
            raise AllocationError(str(exc)) from exc
