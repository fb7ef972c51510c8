"""The PC/SC backend (pyscard): readers, waiting for a card, exclusive connections.

    from cardio.pcsc import PcscConnection, list_readers

    with PcscConnection.wait("ACR122", timeout=10) as conn:
        conn.uid                      # GET DATA FF CA 00 00 00, cached per presented card
        conn.transmit(bytes.fromhex("00A4040007D276000085010100"))

Reader names match case-insensitively: an exact name first, else every reader whose name starts
with the text, else every reader whose name contains it (the first of them with a card wins).

Errors are the typed errors of `cardio.errors`, each with a sentence a person can act on: no
PC/SC service (`CardConnectionError`), no such reader (`ReaderNotFoundError`), no card before
the timeout (`NoCardError`), the card left during an exchange (`CardRemovedError`; present it
again and call `reconnect()`).

Command and response data are personal data: nothing here logs them. DEBUG logs lengths and
status words only.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any

from smartcard import scard

from cardio.connection import Connection
from cardio.errors import CardConnectionError, CardRemovedError, NoCardError, ReaderNotFoundError

log = logging.getLogger(__name__)

GET_UID = bytes.fromhex("FFCA000000")
"""PC/SC part 3 GET DATA: the UID (NFCID1) of the contactless card in the field."""


def scard_ctl_code(code: int) -> int:
    """SCARD_CTL_CODE(code) of the platform's PC/SC (pcsc-lite: 0x42000000 + code)."""
    if sys.platform == "win32":
        return 0x00310000 | (code << 2)
    return 0x42000000 + code


IOCTL_CCID_ESCAPE = scard_ctl_code(3500)
"""The reader escape control code of CCID readers (ACR122U, Omnikey): SCARD_CTL_CODE(3500)."""

NOT_RUNNING = (
    "The PC/SC service (pcscd) is not running; start it with `sudo systemctl start pcscd.socket` "
    "(or `sudo pcscd` where there is no systemd), then try again."
)


def _u32(value: Any) -> int:
    return int(value) & 0xFFFFFFFF


S_OK = 0
E_TIMEOUT = _u32(scard.SCARD_E_TIMEOUT)
E_NO_SERVICE = _u32(scard.SCARD_E_NO_SERVICE)
E_SERVICE_STOPPED = _u32(scard.SCARD_E_SERVICE_STOPPED)
E_NO_READERS = _u32(scard.SCARD_E_NO_READERS_AVAILABLE)
E_UNKNOWN_READER = _u32(scard.SCARD_E_UNKNOWN_READER)
E_READER_UNAVAILABLE = _u32(scard.SCARD_E_READER_UNAVAILABLE)
E_SHARING = _u32(scard.SCARD_E_SHARING_VIOLATION)
E_PROTO_MISMATCH = _u32(scard.SCARD_E_PROTO_MISMATCH)
E_NO_SMARTCARD = _u32(scard.SCARD_E_NO_SMARTCARD)
W_REMOVED = _u32(scard.SCARD_W_REMOVED_CARD)
W_RESET = _u32(scard.SCARD_W_RESET_CARD)
W_UNPOWERED = _u32(scard.SCARD_W_UNPOWERED_CARD)
W_UNRESPONSIVE = _u32(scard.SCARD_W_UNRESPONSIVE_CARD)
E_NOT_TRANSACTED = _u32(scard.SCARD_E_NOT_TRANSACTED)
F_COMM_ERROR = _u32(scard.SCARD_F_COMM_ERROR)
E_COMM_DATA_LOST = _u32(getattr(scard, "SCARD_E_COMM_DATA_LOST", 0x8010002F))
E_INVALID_HANDLE = _u32(scard.SCARD_E_INVALID_HANDLE)

_SERVICE_GONE = {E_NO_SERVICE, E_SERVICE_STOPPED}
_CARD_GONE = {W_REMOVED, E_NO_SMARTCARD, W_RESET}
_CARD_NOT_READY = {E_NO_SMARTCARD, W_REMOVED, W_UNPOWERED, W_UNRESPONSIVE, W_RESET}
# Failures that a card leaving the field mid-exchange causes on many readers (and on vpcd).
_MAYBE_GONE = {E_NOT_TRANSACTED, F_COMM_ERROR, E_COMM_DATA_LOST, W_UNRESPONSIVE, W_UNPOWERED}

_STATE_PRESENT = _u32(scard.SCARD_STATE_PRESENT)
_STATE_MUTE = _u32(scard.SCARD_STATE_MUTE)
_STATE_EXCLUSIVE = _u32(scard.SCARD_STATE_EXCLUSIVE)
_STATE_CHANGED = _u32(scard.SCARD_STATE_CHANGED)
_STATE_UNKNOWN = _u32(scard.SCARD_STATE_UNKNOWN)
_STATE_UNAVAILABLE = _u32(scard.SCARD_STATE_UNAVAILABLE)

_POLL = 0.5  # seconds per status wait, so new readers and the deadline are noticed
_GONE_GRACE = 1.5  # seconds to let the reader notice a card that left mid-exchange


def _reason(hresult: int) -> str:
    try:
        message = str(scard.SCardGetErrorMessage(hresult)).strip().rstrip(".")
    except Exception:  # pyscard without a message for this code
        message = "PC/SC error"
    return f"{message}, 0x{hresult:08X}"


def _establish() -> int:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hresult = _u32(hresult)
    if hresult in _SERVICE_GONE:
        raise CardConnectionError(NOT_RUNNING)
    if hresult != S_OK:
        raise CardConnectionError(
            f"The PC/SC service (pcscd) refused a connection ({_reason(hresult)}); "
            "check that pcscd runs and that this user may use it."
        )
    return int(context)


def _release(context: int) -> None:
    # Already released or the service is gone: nothing left to free
    with contextlib.suppress(Exception):
        scard.SCardReleaseContext(context)


def _readers(context: int) -> list[str]:
    hresult, readers = scard.SCardListReaders(context, [])
    hresult = _u32(hresult)
    if hresult == E_NO_READERS:
        return []
    if hresult in _SERVICE_GONE:
        raise CardConnectionError(NOT_RUNNING)
    if hresult != S_OK:
        raise CardConnectionError(
            f"Listing the card readers failed ({_reason(hresult)}); restart pcscd and try again."
        )
    return [str(r) for r in readers or []]


def list_readers() -> list[str]:
    """Names of the readers pcscd knows (empty when none is attached).

    Raises CardConnectionError when the PC/SC service is not reachable.
    """
    context = _establish()
    try:
        return _readers(context)
    finally:
        _release(context)


def match_readers(name: str, readers: list[str]) -> list[str]:
    """The readers `name` designates: exact (case-insensitive), else by prefix, else substring."""
    wanted = name.strip().casefold()
    for test in (
        lambda r: r.casefold() == wanted,
        lambda r: r.casefold().startswith(wanted),
        lambda r: wanted in r.casefold(),
    ):
        found = [r for r in readers if test(r)]
        if found:
            return found
    return []


def _not_found(name: str, readers: list[str]) -> ReaderNotFoundError:
    if not readers:
        return ReaderNotFoundError(
            f"No card reader matches {name!r}: no reader is attached; connect the reader "
            "(or check that its driver is installed) and try again."
        )
    listed = ", ".join(repr(r) for r in readers)
    return ReaderNotFoundError(
        f"No card reader matches {name!r}; the attached readers are {listed}. "
        "Pass one of these names (or a part of one)."
    )


def _describe(readers: list[str]) -> str:
    if len(readers) == 1:
        return f"the reader {readers[0]!r}"
    return "any of the readers " + ", ".join(repr(r) for r in readers)


def _status(
    context: int, readers: list[str], timeout: float, known: dict[str, int]
) -> dict[str, int]:
    """Reader event states, waiting up to `timeout` s for a change from `known` (0 = unaware)."""
    query = [(r, known.get(r, 0) & ~_STATE_CHANGED) for r in readers]
    hresult, states = scard.SCardGetStatusChange(context, max(0, int(timeout * 1000)), query)
    hresult = _u32(hresult)
    if hresult == E_TIMEOUT:
        return dict(known)
    if hresult in _SERVICE_GONE:
        raise CardConnectionError(NOT_RUNNING)
    if hresult in (E_UNKNOWN_READER, E_READER_UNAVAILABLE, E_NO_READERS):
        return {}  # a reader went away while we waited: list them again
    if hresult != S_OK:
        raise CardConnectionError(
            f"Waiting for a card failed ({_reason(hresult)}); restart pcscd and try again."
        )
    return {str(state[0]): _u32(state[1]) for state in states}


def _usable(state: int) -> bool:
    return bool(state & _STATE_PRESENT) and not state & (
        _STATE_MUTE | _STATE_UNKNOWN | _STATE_UNAVAILABLE
    )


class _InUseError(CardConnectionError):
    """Another program holds the card (raised only when no other reader has a free card)."""


def _connect(context: int, reader: str) -> tuple[int, int] | None:
    """Exclusive connection (T=1, else T=0 or T=1): (card handle, protocol); None if no card."""
    for protocols in (scard.SCARD_PROTOCOL_T1, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1):
        hresult, card, protocol = scard.SCardConnect(
            context, reader, scard.SCARD_SHARE_EXCLUSIVE, protocols
        )
        hresult = _u32(hresult)
        if hresult == S_OK:
            return int(card), int(protocol)
        if hresult == E_PROTO_MISMATCH:
            continue
        if hresult in _CARD_NOT_READY:
            return None  # the card left (or is not powered yet): keep waiting
        if hresult == E_SHARING:
            raise _InUseError(
                f"The card in {reader!r} is in use by another program; close that program "
                "(or wait until it lets go of the card) and try again."
            )
        if hresult in _SERVICE_GONE:
            raise CardConnectionError(NOT_RUNNING)
        raise CardConnectionError(
            f"Connecting to the card in {reader!r} failed ({_reason(hresult)}); present the "
            "card again and retry."
        )
    raise CardConnectionError(
        f"The card in {reader!r} speaks neither T=0 nor T=1; it cannot be used with this reader."
    )


def _wait_and_connect(context: int, name: str | None, timeout: float) -> tuple[str, int, int]:
    """Wait for a card in the readers `name` designates (any reader for None) and connect."""
    deadline = time.monotonic() + max(0.0, timeout)
    known: dict[str, int] = {}
    candidates: list[str] = []
    first = True
    while True:
        readers = _readers(context)
        candidates = readers if name is None else match_readers(name, readers)
        if name is not None and not candidates:
            raise _not_found(name, readers)
        known = {r: s for r, s in known.items() if r in candidates}
        remaining = deadline - time.monotonic()
        if candidates:
            wait = 0.0 if first else max(0.0, min(remaining, _POLL))
            known = _status(context, candidates, wait, known)
            first = False
            in_use: _InUseError | None = None
            for reader in candidates:
                if _usable(known.get(reader, 0)):
                    try:
                        connected = _connect(context, reader)
                    except _InUseError as exc:
                        in_use = in_use or exc
                        continue
                    if connected is not None:
                        return reader, connected[0], connected[1]
            if in_use is not None:
                raise CardConnectionError(str(in_use))
        elif remaining > 0:
            time.sleep(min(remaining, _POLL))
        if time.monotonic() >= deadline:
            break
    if not candidates:
        raise ReaderNotFoundError(
            f"No card reader was attached within {timeout:g} s; connect a reader (or check "
            "that its driver is installed) and try again."
        )
    raise NoCardError(
        f"No card was presented to {_describe(candidates)} within {timeout:g} s; place the card "
        "on the reader and try again."
    )


class PcscConnection(Connection):
    """An exclusive PC/SC connection to the card in one reader. Make one with `wait()`."""

    def __init__(
        self,
        context: int,
        reader: str,
        card: int,
        protocol: int,
        *,
        extended_length: bool = False,
    ) -> None:
        self._context: int | None = context
        self._reader = reader
        self._card: int | None = card
        self._protocol = protocol
        self._extended = extended_length
        self._uid: bytes | None = None
        self._atr = self._read_atr()

    @classmethod
    def wait(
        cls,
        reader: str | None = None,
        timeout: float = 10.0,
        *,
        extended_length: bool = False,
    ) -> PcscConnection:
        """Wait up to `timeout` seconds for a card and connect to it exclusively.

        `reader` picks the reader by name (exact, prefix or substring, case-insensitive);
        None takes the first reader with a card. `extended_length` says the reader passes
        extended APDUs (PC/SC cannot ask a reader that; vpcd does when the card model does).

        Raises ReaderNotFoundError (no reader matches; lists the attached ones), NoCardError
        (no card before the timeout) or CardConnectionError (no PC/SC service, card in use).
        """
        context = _establish()
        try:
            name, card, protocol = _wait_and_connect(context, reader, timeout)
            conn = cls(context, name, card, protocol, extended_length=extended_length)
        except BaseException:
            _release(context)
            raise
        log.debug("connected to the card in %r (T=%d)", name, 1 if protocol & 2 else 0)
        return conn

    # -- what the card and reader are -------------------------------------------------------

    @property
    def reader(self) -> str:
        """The full name of the reader the card is in."""
        return self._reader

    @property
    def atr(self) -> bytes:
        """The ATR pcscd reported when connecting."""
        return self._atr

    @property
    def protocol(self) -> int:
        """The active protocol: scard.SCARD_PROTOCOL_T0 (1) or SCARD_PROTOCOL_T1 (2)."""
        return self._protocol

    @property
    def extended_length(self) -> bool:
        return self._extended

    @property
    def uid(self) -> bytes:
        """The UID from GET DATA FF CA 00 00 00 (asked once per presented card)."""
        if self._uid is None:
            response = self.transmit(GET_UID)
            if len(response) < 3 or response[-2:] != b"\x90\x00":
                sw = response[-2:].hex().upper() if len(response) >= 2 else "none"
                raise CardConnectionError(
                    f"The reader {self._reader!r} did not report the card's UID (status {sw}); "
                    "it may not support GET DATA for the UID."
                )
            self._uid = bytes(response[:-2])
        return self._uid

    # -- exchanges --------------------------------------------------------------------------

    def _handle(self) -> int:
        if self._card is None:
            raise CardConnectionError(
                f"The connection to the card in {self._reader!r} is closed; connect again."
            )
        return self._card

    def _read_atr(self) -> bytes:
        result = scard.SCardStatus(self._handle())
        if _u32(result[0]) != S_OK or len(result) < 5:
            return b""
        return bytes(result[4] or b"")

    def transmit(self, apdu: bytes) -> bytes:
        card = self._handle()
        hresult, response = scard.SCardTransmit(card, self._protocol, list(apdu))
        hresult = _u32(hresult)
        if hresult != S_OK:
            raise self._error("exchanging a command with the card", hresult)
        data = bytes(response)
        if len(data) < 2:
            # No status word: vpcd reports a card that vanished mid-exchange this way, and
            # no card answers without SW1 SW2.
            if self._card_left():
                raise self._removed("exchanging a command with the card")
            raise CardConnectionError(
                f"The reader {self._reader!r} returned an answer without a status word; "
                "present the card again and retry."
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "APDU %d bytes -> %d bytes SW %s", len(apdu), len(data), data[-2:].hex().upper()
            )
        return data

    def control(self, code: int, data: bytes = b"") -> bytes:
        """A reader control (escape) command, e.g. `control(IOCTL_CCID_ESCAPE, b"...")`."""
        card = self._handle()
        hresult, response = scard.SCardControl(card, code, list(data))
        hresult = _u32(hresult)
        if hresult != S_OK:
            if hresult in _CARD_GONE or hresult in _SERVICE_GONE:
                raise self._error("sending a control command to the reader", hresult)
            raise CardConnectionError(
                f"The reader {self._reader!r} refused control code 0x{code:08X} "
                f"({_reason(hresult)}); it may not support this command, or needs escape "
                "commands enabled in its driver configuration."
            )
        return bytes(response)

    def _error(self, doing: str, hresult: int) -> CardConnectionError:
        if hresult in _SERVICE_GONE:
            return CardConnectionError(
                f"The PC/SC service (pcscd) stopped while {doing}; start it again, present "
                "the card and retry."
            )
        if hresult in _CARD_GONE or (hresult in _MAYBE_GONE and self._card_left()):
            return self._removed(doing)
        if hresult in (E_READER_UNAVAILABLE, E_UNKNOWN_READER):
            return CardConnectionError(
                f"The reader {self._reader!r} was disconnected while {doing}; connect it again "
                "and retry."
            )
        return CardConnectionError(
            f"The reader {self._reader!r} failed while {doing} ({_reason(hresult)}); present "
            "the card again and retry."
        )

    def _removed(self, doing: str) -> CardRemovedError:
        self._uid = None
        return CardRemovedError(
            f"The card left the reader {self._reader!r} while {doing}; a write may be "
            "incomplete. Present the card again and retry (reconnect() resumes)."
        )

    def _card_left(self) -> bool:
        """After a failed exchange: True when the reader reports no card within a grace time."""
        if self._context is None:
            return False
        deadline = time.monotonic() + _GONE_GRACE
        known: dict[str, int] = {}
        try:
            while True:
                known = _status(
                    self._context, [self._reader], 0.0 if not known else _GONE_GRACE / 3, known
                )
                state = known.get(self._reader, 0)
                if not state & _STATE_PRESENT:
                    return True
                card = self._card
                if card is not None and _u32(scard.SCardStatus(card)[0]) in _CARD_GONE:
                    return True
                if time.monotonic() >= deadline:
                    return False
        except CardConnectionError:
            return False

    def wait_removed(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the card to leave the reader; True once it has left.

        A reader terminal calls this after a tap so that a card left lying on the reader is
        read once, not again and again. A reader that was unplugged counts as "left".
        Raises CardConnectionError when the PC/SC service stops.
        """
        if self._context is None:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        known: dict[str, int] = {}
        while True:
            remaining = deadline - time.monotonic()
            wait = 0.0 if not known else max(0.0, min(remaining, _POLL))
            known = _status(self._context, [self._reader], wait, known)
            if not known.get(self._reader, 0) & _STATE_PRESENT:
                self._uid = None
                return True
            if time.monotonic() >= deadline:
                return False

    # -- recovery and release ---------------------------------------------------------------

    def reconnect(self, timeout: float = 10.0) -> None:
        """After the card was pulled: wait up to `timeout` s for a card in the same reader and
        connect to it again (exclusively). The UID is asked afresh: it may be another card."""
        if self._context is None:
            raise CardConnectionError(
                f"The connection to the card in {self._reader!r} is closed; connect again."
            )
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
        self._uid = None
        _name, card, protocol = _wait_and_connect(self._context, self._reader, timeout)
        self._card, self._protocol = card, protocol
        self._atr = self._read_atr()
        log.debug("reconnected to the card in %r", self._reader)

    def close(self) -> None:
        """Reset and release the card, then the PC/SC context. Safe to call twice."""
        card, self._card = self._card, None
        context, self._context = self._context, None
        if card is not None:
            # The service or card is gone: nothing left to release
            with contextlib.suppress(Exception):
                scard.SCardDisconnect(card, scard.SCARD_RESET_CARD)
        if context is not None:
            _release(context)
