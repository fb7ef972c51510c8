"""The nfcpy transport: a Type 4A card (ISO-DEP) on any reader nfcpy drives.

Device paths are nfcpy's: ``usb[:vid[:pid]]`` / ``usb[:bus[:dev]]`` (ACR122U, PN533, RC-S380,
...), ``tty:<name>:<driver>`` for a serial reader at /dev/<name> (e.g. ``tty:USB0:pn532``),
and ``udp[:host[:port]]`` for nfcpy's simulated radio. nfcpy's own path parser takes no ``/``
in the tty name, so ``tty:/dev/pts/5:pn532`` and ``tty:pts/5:pn532`` (a pty, as
`hardware.pn532_pty` makes) are opened here with nfcpy's TTY transport and driver directly.

APDUs travel through nfcpy's ISO-DEP initiator (`Type4Tag.transceive`): chaining in both
directions, WTX and NAK retries are nfcpy's. Any length is carried, so extended-length APDUs
pass whenever the card takes them.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import logging
import os
import re
import time
from typing import Any

from cardio.connection import Connection
from cardio.errors import (
    CardConnectionError,
    CardRemovedError,
    NoCardError,
    NotIsoDepCardError,
    ReaderNotFoundError,
)

log = logging.getLogger(__name__)

TTY_DRIVERS = ("pn532", "arygon")
# nfcpy announces every open of a reader ("searching for reader on path ...", "using ...",
# "no reader available on path ..."); a terminal opens it several times a second while it
# waits for a card, so these lines would flood the log. The reader loop logs state changes.
_OPEN_CHATTER = ("searching for reader on path", "using ", "no reader available on path")


class _QuietOpen(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_OPEN_CHATTER)


_QUIET_OPEN = _QuietOpen()
_TTY_PATH = re.compile(r"^tty:(?P<dev>[^:]*/[^:]*)(?::(?P<driver>[a-z0-9]+))?$")


def _not_found(path: str, why: str = "") -> ReaderNotFoundError:
    detail = f" ({why})" if why else ""
    return ReaderNotFoundError(
        f"No NFC reader at {path}{detail}; check the cable and the path, "
        "or run 'citycard-provision doctor'."
    )


def _open_error(path: str, exc: OSError) -> CardConnectionError:
    if exc.errno == errno.EACCES:
        return CardConnectionError(
            f"Permission denied opening the NFC reader at {path}; add this user to the "
            "'dialout' (serial) or 'plugdev' (USB) group, or fix the udev rule, then try again."
        )
    if exc.errno == errno.EBUSY:
        return CardConnectionError(
            f"The NFC reader at {path} is in use by another program (pcscd with a PN53x "
            "driver, or a second citycard process); stop it and try again."
        )
    return _not_found(path, os.strerror(exc.errno) if exc.errno else str(exc))


def open_frontend(path: str) -> Any:
    """An opened nfc.ContactlessFrontend for `path`, or ReaderNotFoundError / CardConnectionError."""
    import nfc
    import nfc.clf

    clf_log = logging.getLogger("nfc.clf")
    if _QUIET_OPEN not in clf_log.filters:
        clf_log.addFilter(_QUIET_OPEN)
    match = _TTY_PATH.match(path)
    if match is None:
        try:
            return nfc.ContactlessFrontend(path)
        except OSError as exc:  # IOError(ENODEV) when nothing answers, socket.gaierror, ...
            raise _open_error(path, exc) from exc
        except (ValueError, TypeError) as exc:
            raise _not_found(path, f"not an nfcpy device path: {exc}") from exc

    dev = match.group("dev")
    dev = dev if dev.startswith("/") else "/dev/" + dev
    driver_name = match.group("driver") or "pn532"
    if driver_name not in TTY_DRIVERS:
        raise _not_found(
            path, f"no serial driver '{driver_name}'; use one of {', '.join(TTY_DRIVERS)}"
        )
    if not os.path.exists(dev):
        raise _not_found(path, f"{dev} does not exist")
    from nfc.clf import transport

    driver = importlib.import_module("nfc.clf." + driver_name)
    tty = None
    try:
        tty = transport.TTY(dev)
        device = driver.init(tty)
    except OSError as exc:  # serial.SerialException is an IOError too
        if tty is not None:
            tty.close()
        if exc.errno in (errno.EACCES, errno.EBUSY):
            raise _open_error(path, exc) from exc
        raise _not_found(path, f"no {driver_name.upper()} answered on {dev}") from exc
    device._path = dev
    clf = nfc.ContactlessFrontend()
    clf.device = device  # what ContactlessFrontend.open() does after its own path search
    return clf


class NfcConnection(Connection):
    """One ISO-DEP card on one nfcpy reader. Build it with `NfcConnection.wait(path)`."""

    def __init__(self, clf: Any, tag: Any, path: str) -> None:
        self._clf = clf
        self._tag = tag
        self._path = path
        self._uid = bytes(tag.identifier)
        self._closed = False

    @classmethod
    def wait(cls, path: str, timeout: float = 10.0, poll_interval: float = 0.1) -> NfcConnection:
        """Open the reader at `path` and wait up to `timeout` seconds for a Type 4A card.

        Raises ReaderNotFoundError (no such reader), NoCardError (no card in time),
        NotIsoDepCardError (a card that does not speak ISO 14443-4) or CardConnectionError.
        """
        clf = open_frontend(path)
        try:
            tag = _poll(clf, path, timeout, poll_interval)
        except BaseException:
            _close_quietly(clf)
            raise
        log.debug("connected to %s on %s", tag, path)
        return cls(clf, tag, path)

    def __enter__(self) -> NfcConnection:
        return self

    @property
    def path(self) -> str:
        return self._path

    @property
    def reader(self) -> str:
        """What nfcpy says the reader is, e.g. "NXP PN532v1.6 at /dev/pts/3"."""
        return str(self._clf.device) if self._clf.device is not None else self._path

    @property
    def tag(self) -> Any:
        """nfcpy's Type4Tag object (for interop checks such as `tag.ndef`)."""
        return self._tag

    @property
    def uid(self) -> bytes:
        return self._uid

    @property
    def extended_length(self) -> bool:
        return True  # ISO-DEP chaining carries any length; the card decides

    def transmit(self, apdu: bytes) -> bytes:
        import nfc.clf
        import nfc.tag

        if self._closed:
            raise CardConnectionError("This card connection is closed; wait for the card again.")
        try:
            response = self._tag.transceive(bytearray(apdu))
        except nfc.tag.TagCommandError as exc:
            if exc.errno in (nfc.tag.TIMEOUT_ERROR, nfc.tag.RECEIVE_ERROR):
                raise CardRemovedError(
                    "The card stopped answering (it left the field); present it again. "
                    "If it was being written, the write may be incomplete."
                ) from exc
            raise CardConnectionError(
                f"The card broke the ISO 14443-4 protocol ({exc}); take it off the reader "
                "and present it again."
            ) from exc
        except nfc.clf.CommunicationError as exc:
            raise CardRemovedError(
                f"The card stopped answering ({type(exc).__name__}: {exc}); present it again. "
                "If it was being written, the write may be incomplete."
            ) from exc
        except Exception as exc:  # OSError, termios.error, driver errors: the reader is gone
            raise CardConnectionError(
                f"The NFC reader at {self._path} stopped answering ({type(exc).__name__}: "
                f"{exc}); check the cable and try again."
            ) from exc
        if response is None or len(response) < 2:
            raise CardConnectionError(
                "The card answered without a status word; take it off the reader and present it again."
            )
        return bytes(response)

    def wait_removed(self, timeout: float, interval: float = 0.1) -> bool:
        """Wait up to `timeout` s for the card to leave the field; True once it has left.

        Uses nfcpy's ISO-DEP presence check (an R(NAK) block the card must answer); a card
        that does not answer, or a reader that fails, counts as "left".
        """
        if self._closed:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                present = bool(self._tag.is_present)
            except Exception:  # the reader or the card went away: either way, no card
                present = False
            if not present:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(interval, remaining))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _close_quietly(self._clf)


def _close_quietly(clf: Any) -> None:
    try:
        clf.close()
    except Exception as exc:  # the reader may already be gone; closing must not fail
        log.debug("closing the nfc frontend failed: %s", exc)
        # nfcpy's close stops at the first failing command; still let go of the serial port
        transport = getattr(getattr(clf.device, "chipset", None), "transport", None)
        port = getattr(transport, "tty", None)
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()
        clf.device = None


def _poll(clf: Any, path: str, timeout: float, poll_interval: float) -> Any:
    import nfc.clf
    import nfc.tag
    import nfc.tag.tt4

    deadline = time.monotonic() + timeout
    not_iso_dep = NotIsoDepCardError(
        "This card is not a citycard (not an ISO 14443-4 card); present the resident card instead."
    )
    while True:
        tag = None
        try:
            target = clf.sense(nfc.clf.RemoteTarget("106A"), iterations=1)
            if target is not None:
                if not (target.sel_res and target.sel_res[0] & 0x20):
                    raise not_iso_dep
                tag = nfc.tag.activate(clf, target)
        except NotIsoDepCardError:
            raise
        except nfc.clf.UnsupportedTargetError as exc:
            raise CardConnectionError(
                f"The NFC reader at {path} cannot read type A cards at 106 kbit/s ({exc}); "
                "use a PN532, PN533, ACR122U or RC-S380 reader."
            ) from exc
        except Exception as exc:  # OSError, termios.error, pn53x Chipset.Error, ...
            raise CardConnectionError(
                f"The NFC reader at {path} stopped answering ({type(exc).__name__}: {exc}); "
                "check the cable, unplug and plug it in again, and retry."
            ) from exc
        if tag is not None:
            if not isinstance(tag, nfc.tag.tt4.Type4Tag):
                raise not_iso_dep
            return tag
        if target is not None:
            log.debug("card found but its ISO-DEP activation failed; polling again")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NoCardError(
                f"No card was presented on {path} within {timeout:g} s; "
                "hold the card flat on the reader and try again."
            )
        time.sleep(min(poll_interval, remaining))
