"""The card registry's rules: document numbers and status slots, a card's lifecycle (allocated,
issued, voided) and status (valid, revoked, suspended, superseded), and the status lists they
make.

Cards reach the registry two ways: `issue` (the development path of `citycard-api issue`:
allocate and sign here, with a kiosk key in this issuer's key store) and the kiosk API
(`allocate` a number and index for a kiosk that signs with its own key, then `report_issued` or
`void`). A card is known by its document number and status slot only, never by anything
personal. The SQL is in api.issuer.registry.

**Renewal and replacement** keep the document number and give the new card a new slot
(`allocate_successor`). A renewal leaves the old card valid until the kiosk reports the new one
issued, and only then marks it superseded (status list value 3); a renewal that fails (voided)
leaves it as it was. A replacement (lost or stolen) revokes the old card at once, whatever
becomes of the new one. A number's *current* card is its newest issued card (before any was
issued, its newest): status changes by number act on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cardio import codes
from cardio.credential import (
    ChipBinding,
    Credential,
    Holder,
    Variant,
    expiry_timestamp,
    local_day,
    sign_credential,
)
from cardio.statuslist import SUPERSEDED as SUPERSEDED_VALUE
from cardio.statuslist import Status, StatusList

from .config import IssuerConfig
from .errors import CardStateError, IssuerError, UnknownCardError
from .keys import IssuerKeys
from .registry import (
    ACTIVE,
    ALLOCATED,
    DOCUMENT_COUNTER,
    ISSUED,
    REVOKED,
    SUSPENDED,
    VALID,
    VOIDED,
    CardRecord,
    Registry,
    RegistryError,
    queries,
)
from .registry.schema import SUPERSEDED
from .slots import SlotOrder, slot_key
from .successors import RENEWAL, REPLACEMENT, check_successor, supersede_earlier

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATUS_NAMES = {VALID: Status.VALID, REVOKED: Status.INVALID, SUSPENDED: Status.SUSPENDED}
"""The statuses a person may set (a card becomes superseded only by its renewal)."""
STATUS_VALUES = {**STATUS_NAMES, SUPERSEDED: int(SUPERSEDED_VALUE)}
"""Every status a card can have, with its status list value."""
_ALLOCATION_ATTEMPTS = 5


@dataclass(frozen=True)
class Issued:
    """What issuing one card produced: both credentials and where its status lives."""

    credential: Credential
    chip_cose: bytes | None
    print_cose: bytes
    status_list: str
    status_index: int


@dataclass(frozen=True)
class SlotAllocation:
    """A document number and status slot handed to a kiosk, with the receipt's one-time code.

    `revocation_code` is fresh on every response (the registry keeps only its hash): a kiosk
    that repeats a request prints the code from the last response it received.
    """

    document_number: str
    status_list: str
    status_uri: str
    status_index: int
    kid: str
    request_id: str
    revocation_code: str
    replayed: bool


@dataclass(frozen=True)
class CardInfo:
    """What the registry knows about a card (never anything personal)."""

    document_number: str
    status_list: str
    status_index: int
    kid: str
    iat: int | None
    exp: int | None
    status: str
    state: str
    generation: int = 0  # 0 the number's first card, one more per renewal or replacement

    @classmethod
    def of(cls, card: CardRecord) -> CardInfo:
        return cls(
            card.document_number,
            card.status_list,
            card.status_index,
            card.kid,
            card.iat,
            card.exp,
            card.status,
            card.state,
            card.generation or 0,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "document_number": self.document_number,
            "status_list": self.status_list,
            "status_index": self.status_index,
            "kid": self.kid,
            "issued_at": self.iat,
            "expires_at": self.exp,
            "status": self.status,
            "state": self.state,
        }


def luhn_digit(digits: str) -> str:
    """Check digit so that a mistyped document number is caught at the desk."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return str((10 - total % 10) % 10)


class CardRegistry:
    """Allocation, issue, lifecycle and status of cards, on the registry `registry()` opens."""

    def __init__(
        self,
        config: IssuerConfig,
        keys: IssuerKeys,
        registry: Callable[[], Registry],
        clock: Callable[[], int],
    ) -> None:
        self.config = config
        self.keys = keys
        self.registry = registry
        self.clock = clock
        # Per process: the list allocations use (the registry knows when it fills), and each
        # list's slot order.
        self._open_list: str | None = None
        self._orders: dict[str, SlotOrder] = {}

    def holds_cards(self) -> bool:
        with self.registry().read() as s:
            return queries.has_cards(s)

    # -- numbers and slots ----------------------------------------------------------------------

    def _allocate(self, s: Session, opened: list[str]) -> tuple[str, str, int]:
        """A new document number and the next slot (`_take_slot`)."""
        seq = queries.next_value(s, DOCUMENT_COUNTER)
        if seq is None:
            raise RegistryError(
                f"The registry has no {DOCUMENT_COUNTER!r} counter; it was not initialised."
            )
        digits = f"{seq:07d}"
        number = f"{self.config.data['doc_prefix']}{digits}{luhn_digit(digits)}"
        return (number, *self._take_slot(s, opened))

    def _take_slot(self, s: Session, opened: list[str]) -> tuple[str, int]:
        """The next slot, in the list's secret order, of the open status list; the next list
        is opened when the open one is 7/8 full (the publisher publishes it), and used when it
        is full. A handful of primary-key reads and writes whatever the registry's size:
        nothing here counts or searches cards."""
        list_id = self._open_list or self.config.data["status_lists"][-1]
        while True:
            size = self._list_size(s, list_id)
            if size is None and list_id != self.config.data["status_lists"][-1]:
                list_id = self.config.data["status_lists"][-1]  # opened by a rolled-back try
                continue
            if size is None:
                raise IssuerError(f"The registry has no status list {list_id!r}; publish first.")
            position = queries.take_slot_position(s, list_id)
            if position >= size:
                list_id = self._next_list(s, list_id, opened)
                continue
            if position == size - max(1, size // 8):
                # Open the next list ahead, so that readers hold the trust list naming it
                # before the first card on it reaches them.
                self._next_list(s, list_id, opened)
            idx = self._order(list_id, size).slot(position)
            # Only a card allocated before slot cursors existed can hold it: take the next one.
            if not queries.slot_taken(s, list_id, idx):
                self._open_list = list_id
                return list_id, idx

    def _list_size(self, s: Session, list_id: str) -> int | None:
        """A status list's size (fixed when it is opened: read once per process)."""
        order = self._orders.get(list_id)
        if order is not None:
            return order.size
        row = queries.status_list_row(s, list_id)
        return None if row is None else row.size

    def _order(self, list_id: str, size: int) -> SlotOrder:
        order = self._orders.get(list_id)
        if order is None or order.size != size:
            order = SlotOrder(slot_key(self.config.pepper(), list_id), size)
            self._orders[list_id] = order
        return order

    def _next_list(self, s: Session, list_id: str, opened: list[str]) -> str:
        """The list after `list_id`: opened here (registry row and slot cursor) unless
        another process already did. Named in issuer.json once the transaction has committed
        (`_name_new_lists`); the publisher publishes it."""
        nxt = next_list_id(list_id)
        if queries.status_list_row(s, nxt) is None:
            data = self.config.data
            queries.open_status_list(
                s, nxt, data["status_list_size"], data["status_bits"], self.clock()
            )
            opened.append(nxt)
        elif nxt not in self.config.data["status_lists"]:
            opened.append(nxt)
        return nxt

    def _name_new_lists(self, opened: list[str]) -> None:
        """After a commit that opened (or first used) a status list: name it in issuer.json.
        Nothing is signed here: the publisher (`Publisher.publish_owed`) publishes the trust
        list that names it, with its empty status list, well before its first card (opened
        at 7/8 full)."""
        for list_id in opened:
            self.config.add_status_list(list_id)

    def issue(
        self,
        holder: Holder,
        expires: date | None,
        chip_binding: ChipBinding | None,
        kiosk_label: str,
        now: int,
    ) -> Issued:
        """Allocate, then sign the print credential and (with a binding) the chip credential."""
        signer = self.keys.issuing_signer(kiosk_label)
        if expires is None:
            expires = local_day(now) + timedelta(days=self.config.data["default_validity_days"])
        expires_at = expiry_timestamp(expires)  # refused before a number is taken
        opened: list[str] = []
        with self.registry().write() as s:
            number, list_id, idx = self._allocate(s, opened)
            base = Credential(
                issuer=self.config.data["issuer"],
                document_number=number,
                issued_at=now,
                expires_at=expires_at,
                status_index=idx,
                status_uri=self.config.status_uri(list_id),
                holder=replace(holder, photo=None),
            )
            print_cose = sign_credential(signer, base)
            chip_cose = None
            if chip_binding is not None and chip_binding.compact:
                # a compact chip holds no name, birth date or photo (docs/card-profiles.md)
                chip = replace(base, variant=Variant.COMPACT, binding=chip_binding)
                chip_cose = sign_credential(signer, chip)
            elif chip_binding is not None:
                chip = replace(base, holder=holder, variant=Variant.CHIP, binding=chip_binding)
                chip_cose = sign_credential(signer, chip)
            queries.add_issued_card(
                s, number, list_id, idx, signer.kid.hex(), now, base.expires_at, now
            )
            queries.audit(s, now, "cli", "issue", document_number=number, detail=kiosk_label)
        self._name_new_lists(opened)
        return Issued(base, chip_cose, print_cose, list_id, idx)

    # -- status ---------------------------------------------------------------------------------

    def set_status(self, index: int, status: str, list_id: str | None = None) -> str:
        """Set the status of the card at `index`; returns its document number."""
        return self.set_status_at(index, status, list_id)[0]

    def set_status_at(
        self, index: int, status: str, list_id: str | None = None
    ) -> tuple[str, bool]:
        """Set the status of the card at `index`: its document number, and True when the
        status changed (False: it had that status already)."""
        if status not in STATUS_NAMES:
            raise IssuerError("The status must be one of valid, revoked or suspended.")
        list_id = list_id or self.config.data["status_lists"][-1]
        with self.registry().write() as s:
            card = queries.card_at(s, list_id, index)
            if card is None:
                raise IssuerError(
                    f"No card uses index {index} of status list {list_id}; check the index."
                )
            if card.status == SUPERSEDED:
                raise CardStateError(
                    f"The card at index {index} was renewed: card {card.document_number} has a "
                    "newer card; change that one by its document number."
                )
            changed = self._change_status(s, card, status, "cli", None)
            return card.document_number, changed

    def set_card_status(
        self, number: str, status: str, actor_type: str, actor_id: str | None
    ) -> tuple[CardInfo, bool]:
        """Revoke, suspend or reinstate (valid) the number's current card; True when it
        changed."""
        if status not in STATUS_NAMES:
            raise IssuerError("The status must be one of valid, revoked or suspended.")
        with self.registry().write() as s:
            card = queries.card(s, number)
            if card is None:
                raise UnknownCardError(f"There is no card {number}; check the document number.")
            if card.state == VOIDED and status != REVOKED:
                raise CardStateError(f"Card {number} was voided and cannot be reinstated.")
            changed = self._change_status(s, card, status, actor_type, actor_id)
            return CardInfo.of(card), changed

    def _change_status(
        self, s: Session, card: CardRecord, status: str, actor_type: str, actor_id: str | None
    ) -> bool:
        """Apply a status change to `card`; True when something changed."""
        if card.status == status:
            return False
        if card.status == REVOKED:
            raise CardStateError(
                f"Card {card.document_number} is revoked and cannot be reinstated; issue a new card."
            )
        now = self.clock()
        queries.set_status(card, status, now)
        queries.audit(
            s,
            now,
            actor_type,
            "status",
            actor_id,
            document_number=card.document_number,
            detail=status,
        )
        return True

    def self_revoke(self, number: str, code: str, now: int) -> CardInfo | None:
        """Revoke with the receipt's one-time code; None (and no hint why) when it does not match.

        The time taken does not depend on whether the number exists, nor on how its code was
        hashed: one scrypt and one HMAC either way (cardio.codes.check_code).
        """
        with self.registry().read() as s:
            card = queries.card(s, number)
            stored = (
                card.revocation_code_hash if card is not None and card.state == ISSUED else None
            )
        if not codes.check_code(code, stored, self.config.pepper()) or stored is None:
            return None
        with self.registry().write() as s:
            if not queries.revoke_if_code_hash(s, number, stored, now):
                return None
            queries.audit(s, now, "holder", "self-revoke", None, number, REVOKED)
            card = queries.card(s, number)
            assert card is not None
            return CardInfo.of(card)

    def status_list(self, list_id: str) -> StatusList:
        with self.registry().read() as s:
            row = queries.status_list_row(s, list_id)
            if row is None:
                raise IssuerError(f"There is no status list {list_id!r}.")
            lst = StatusList(row.size, row.bits)
            for idx, status in queries.non_valid_slots(s, list_id):
                lst.set(idx, STATUS_VALUES[status])
        return lst

    def card(self, number: str) -> CardInfo:
        with self.registry().read() as s:
            card = queries.card(s, number)
            if card is None:
                raise UnknownCardError(f"There is no card {number}.")
            return CardInfo.of(card)

    def history(self, number: str) -> list[CardInfo]:
        """Every card document number `number` has had, oldest first."""
        with self.registry().read() as s:
            cards = queries.cards_of(s, number)
            if not cards:
                raise UnknownCardError(f"There is no card {number}; check the document number.")
            return [CardInfo.of(card) for card in cards]

    # -- the kiosk API --------------------------------------------------------------------------

    def allocate(self, kiosk_id: str, request_id: str, now: int) -> SlotAllocation:
        """A document number and status slot for a kiosk; the same request id gets the same one."""
        code = codes.new_revocation_code()
        code_hash = codes.hash_code_keyed(code, self.config.pepper())  # microseconds: no KDF
        # A concurrent allocation may take the request id, or open the next list, first: again.
        opened: list[str] = []
        allocation = Registry.retrying(
            _ALLOCATION_ATTEMPTS,
            lambda: self._allocate_once(kiosk_id, request_id, code, code_hash, now, opened),
        )
        self._name_new_lists(opened)
        return allocation

    def _allocate_once(
        self,
        kiosk_id: str,
        request_id: str,
        code: str,
        code_hash: str,
        now: int,
        opened: list[str],
    ) -> SlotAllocation:
        opened.clear()  # a list opened by a rolled-back attempt was not opened
        with self.registry().write() as s:
            kiosk = queries.kiosk_state_and_kid(s, kiosk_id)
            if kiosk is None or kiosk[0] != ACTIVE:
                raise CardStateError(f"The kiosk {kiosk_id!r} may not allocate cards.")
            replayed = queries.request_taken(s, kiosk_id, request_id)
            if replayed:
                card = queries.card_for_request(s, kiosk_id, request_id)
                assert card is not None
                if card.state != ALLOCATED:
                    raise CardStateError(
                        f"Request {request_id} was already used for card {card.document_number}, which is {card.state}; allocate with a new request id."
                    )
                queries.set_code_hash(card, code_hash, now)
                queries.audit_now(s, now, "kiosk", "allocate-repeat", kiosk_id, card.document_number)
                number, list_id, idx, kid = (
                    card.document_number, card.status_list, card.status_index, card.kid,
                )  # fmt: skip
            else:
                number, list_id, idx = self._allocate(s, opened)
                kid = kiosk[1]
                queries.add_allocated_card(
                    s, number, list_id, idx, kid, kiosk_id, request_id, code_hash, now
                )
                queries.audit_now(s, now, "kiosk", "allocate", kiosk_id, number)
            return SlotAllocation(
                document_number=number,
                status_list=list_id,
                status_uri=self.config.status_uri(list_id),
                status_index=idx,
                kid=kid,
                request_id=request_id,
                revocation_code=code,
                replayed=replayed,
            )

    def allocate_successor(
        self, kiosk_id: str, request_id: str, number: str, kind: str, now: int
    ) -> tuple[SlotAllocation, CardInfo | None]:
        """A new status slot for document number `number`'s next card: a `RENEWAL` (the
        current card must be issued and valid; it is superseded when the new one is reported
        issued) or a `REPLACEMENT` (a lost or stolen card: the current card, issued, is
        revoked now, in the same transaction). Idempotent per request id like `allocate`.

        Returns the allocation and, when this call revoked the old card, that card (its list
        needs publishing). UnknownCardError for a number the registry does not know;
        CardStateError when the current card cannot be renewed or replaced, with what to do.
        """
        if kind not in (RENEWAL, REPLACEMENT):
            raise IssuerError("The kind of new card must be renewal or replacement.")
        code = codes.new_revocation_code()
        code_hash = codes.hash_code_keyed(code, self.config.pepper())
        opened: list[str] = []
        allocation, revoked = Registry.retrying(
            _ALLOCATION_ATTEMPTS,
            lambda: self._successor_once(
                kiosk_id, request_id, number, kind, code, code_hash, now, opened
            ),
        )
        self._name_new_lists(opened)
        return allocation, revoked

    def _successor_once(
        self,
        kiosk_id: str,
        request_id: str,
        number: str,
        kind: str,
        code: str,
        code_hash: str,
        now: int,
        opened: list[str],
    ) -> tuple[SlotAllocation, CardInfo | None]:
        opened.clear()
        with self.registry().write() as s:
            kiosk = queries.kiosk_state_and_kid(s, kiosk_id)
            if kiosk is None or kiosk[0] != ACTIVE:
                raise CardStateError(f"The kiosk {kiosk_id!r} may not allocate cards.")
            if queries.request_taken(s, kiosk_id, request_id):
                card = queries.card_for_request(s, kiosk_id, request_id)
                assert card is not None
                if card.document_number != number or card.state != ALLOCATED:
                    raise CardStateError(
                        f"Request {request_id} was already used for card {card.document_number}, which is {card.state}; allocate with a new request id."
                    )
                queries.set_code_hash(card, code_hash, now)
                queries.audit_now(s, now, "kiosk", f"{kind}-repeat", kiosk_id, number)
                return self._slot_allocation(card, request_id, code, True), None
            current = queries.card(s, number)
            if current is None:
                raise UnknownCardError(f"There is no card {number}; check the document number.")
            revoked_card = check_successor(s, current, kind, kiosk_id, now)
            revoked = None if revoked_card is None else CardInfo.of(revoked_card)
            list_id, idx = self._take_slot(s, opened)
            generation = queries.next_generation(s, number)
            queries.add_allocated_card(
                s, number, list_id, idx, kiosk[1], kiosk_id, request_id, code_hash, now,
                generation,
            )  # fmt: skip
            queries.audit_now(s, now, "kiosk", f"{kind}-allocate", kiosk_id, number)
            card = queries.card_at(s, list_id, idx)
            assert card is not None
            return self._slot_allocation(card, request_id, code, False), revoked

    def _slot_allocation(
        self, card: CardRecord, request_id: str, code: str, replayed: bool
    ) -> SlotAllocation:
        return SlotAllocation(
            document_number=card.document_number,
            status_list=card.status_list,
            status_uri=self.config.status_uri(card.status_list),
            status_index=card.status_index,
            kid=card.kid,
            request_id=request_id,
            revocation_code=code,
            replayed=replayed,
        )

    @staticmethod
    def _kiosk_card(s: Session, kiosk_id: str, number: str) -> CardRecord:
        """The newest card of `number` this kiosk allocated (a renewal's new card, while
        the kiosk makes it)."""
        card = queries.newest_card(s, number, kiosk_id)
        if card is None:
            raise UnknownCardError(
                f"This kiosk has not allocated a card {number}; check the document number."
            )
        return card

    def report_issued(
        self,
        kiosk_id: str,
        number: str,
        issued_at: int,
        expires_at: int,
        code_hash: str | None,
        now: int,
    ) -> CardInfo:
        """The kiosk signed and delivered the card: record its times (idempotent), and the
        digest of the revocation code it printed when it made its own (cardio.codes)."""
        if not 0 <= issued_at < expires_at < 2**40:
            raise IssuerError("expires_at must be after issued_at, both in unix seconds.")
        _check_digest(code_hash)
        with self.registry().write() as s:
            card = self._kiosk_card(s, kiosk_id, number)
            if card.state == ISSUED and (card.iat, card.exp) == (issued_at, expires_at):
                if code_hash is not None and card.status != REVOKED:
                    queries.set_code_hash(card, code_hash, now)
                return CardInfo.of(card)
            if card.state != ALLOCATED:
                raise CardStateError(
                    f"Card {number} is already {card.state}; it cannot be reported issued again."
                )
            queries.mark_issued(card, issued_at, expires_at, code_hash, now)
            queries.audit(s, now, "kiosk", "issued", kiosk_id, number)
            supersede_earlier(s, card, kiosk_id, now)
            return CardInfo.of(card)

    def replace_code_hash(self, kiosk_id: str, number: str, code_hash: str, now: int) -> CardInfo:
        """A new revocation code for a card (its receipt was printed again): only the new
        digest counts from now on."""
        _check_digest(code_hash)
        with self.registry().write() as s:
            card = self._kiosk_card(s, kiosk_id, number)
            if card.state == VOIDED or card.status == REVOKED:
                raise CardStateError(
                    f"Card {number} is {card.state} and {card.status}; it needs no code."
                )
            queries.set_code_hash(card, code_hash, now)
            queries.audit(s, now, "kiosk", "new-code", kiosk_id, number)
            return CardInfo.of(card)

    def void(
        self, kiosk_id: str, number: str, now: int, unfinished_only: bool = False
    ) -> tuple[CardInfo, bool]:
        """A card the kiosk could not finish: mark it INVALID for good. True when it changed.
        With `unfinished_only` (a retired kiosk), a card reported issued is refused
        (CardStateError): voiding is for a number whose card was never made."""
        with self.registry().write() as s:
            card = self._kiosk_card(s, kiosk_id, number)
            if card.state == VOIDED:
                return CardInfo.of(card), False
            if unfinished_only and card.state != ALLOCATED:
                raise CardStateError(
                    f"Card {number} was reported issued; a retired kiosk can void only the "
                    "numbers it could not finish (the desk revokes a card)."
                )
            queries.mark_voided(card, now)
            queries.audit(s, now, "kiosk", "void", kiosk_id, number)
            return CardInfo.of(card), True


def next_list_id(list_id: str) -> str:
    """The id of the status list opened after `list_id`: "1" -> "2", "north-9" -> "north-10"."""
    match = re.fullmatch(r"(.*?)(\d+)", list_id)
    if match is None:
        return f"{list_id}-2"
    return f"{match.group(1)}{int(match.group(2)) + 1}"


def _check_digest(code_hash: str | None) -> None:
    if code_hash is not None and codes.parse_digest(code_hash) is None:
        raise IssuerError(
            f"The revocation code hash must be 'scrypt${codes.LOG_N}${codes.R}${codes.P}$<salt>$<hash>' as printer.receipt makes it."
        )
