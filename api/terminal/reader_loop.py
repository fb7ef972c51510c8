"""The reader loop of a terminal: wait for a card, read and verify it, wait for it to leave.

It runs on its own thread over one card backend: PC/SC (`cardio.pcsc`, any reader pcscd
knows: ACR122U, Omnikey, ...) or nfcpy (`cardio.nfc_backend`: PN532, RC-S380, ...). Every
typed error of the card stack becomes a status sentence for the staff screen and the loop
goes on: a reader unplugged, pcscd restarted or a card pulled mid-read never ends it.

The sentences go to the screen as `reader_text.reader_sentence` makes them: translatable, with
their details (the reader's name, a device path) filled in after translation.

Quiet logs: the loop asks for a card several times a second, so it logs the reader's state
only when it changes (missing, then back, then missing for another reason), never per poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from cardio.connection import Connection
from cardio.errors import CardRemovedError, CitycardError, NoCardError
from cardio.sentences import FilledSentence
from cardio.terminal_config import DEFAULT_POLL_INTERVAL

from .i18n import N_
from .reader_text import problem_sentence, reader_sentence, unexpected

log = logging.getLogger(__name__)

WAITING = N_("Ready: hold a card flat on the reader.")
CARD_LEFT = N_("The card left the reader before it was read; present it again.")


class CardBackend(Protocol):
    """Where cards come from."""

    description: str

    def wait_card(self, timeout: float) -> Connection:
        """A connection to the next card, or NoCardError after `timeout` seconds."""

    def wait_removed(self, conn: Connection, timeout: float) -> bool:
        """True once the card of `conn` has left the reader (waits up to `timeout` s)."""


class PcscBackend:
    """Cards from a PC/SC reader (by name or part of it; None = the first with a card)."""

    def __init__(self, reader: str | None = None) -> None:
        self.reader = reader
        self.description = f"PC/SC reader {reader!r}" if reader else "any PC/SC reader"

    def wait_card(self, timeout: float) -> Connection:
        from cardio.pcsc import PcscConnection

        return PcscConnection.wait(self.reader, timeout)

    def wait_removed(self, conn: Connection, timeout: float) -> bool:
        from cardio.pcsc import PcscConnection

        assert isinstance(conn, PcscConnection)
        return conn.wait_removed(timeout)


class NfcBackend:
    """Cards from an nfcpy reader (usb:..., tty:...:pn532, udp:host:port)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"NFC reader {path}"

    def wait_card(self, timeout: float) -> Connection:
        from cardio.nfc_backend import NfcConnection

        return NfcConnection.wait(self.path, timeout)

    def wait_removed(self, conn: Connection, timeout: float) -> bool:
        from cardio.nfc_backend import NfcConnection

        assert isinstance(conn, NfcConnection)
        return conn.wait_removed(timeout)


class ReaderLoop:
    """Runs `on_card(connection)` for every card presented, once per presentation.

    `on_status(sentence, ok)` hears what the reader is doing ("Ready...", "No reader...");
    `on_problem(sentence)` hears about a tap that gave no verdict (the card left too soon, the
    card stopped answering, nothing to verify with yet): `on_card` raised a CitycardError.
    """

    def __init__(
        self,
        backend: CardBackend,
        on_card: Callable[[Connection], None],
        on_status: Callable[[str, bool], None],
        on_problem: Callable[[str], None],
        *,
        poll: float = DEFAULT_POLL_INTERVAL,
        retry: float = 2.0,
    ) -> None:
        self.backend = backend
        self.on_card = on_card
        self.on_status = on_status
        self.on_problem = on_problem
        self.poll = poll
        self.retry = retry
        self.taps = 0
        self._logged: tuple[str, bool] | None = None  # the reader state last logged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="citycard-reader-loop", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _status(self, sentence: str, ok: bool) -> None:
        """Tell the screen; log only a change of state (a missing reader once, not per poll)."""
        self.on_status(sentence, ok)
        if self._logged == (sentence, ok):
            return
        if ok:
            if self._logged is not None:  # not the first "ready": the reader is back
                log.info("%s: reader ready", self.backend.description)
        else:
            log.warning("%s: %s", self.backend.description, sentence)
        self._logged = (sentence, ok)

    def _run(self) -> None:
        self._status(WAITING, True)
        while not self._stop.is_set():
            try:
                self._once()
            except CitycardError as exc:
                status = reader_sentence(str(exc))
                if not isinstance(status, FilledSentence):  # a driver's own English words
                    log.warning("%s: %s", self.backend.description, exc)
                    status = unexpected(exc)
                self._status(status, False)
                self._stop.wait(self.retry)
            except Exception as exc:  # a bug or a driver surprise: report, pause, go on
                self._status(unexpected(exc), False)
                self._stop.wait(self.retry)

    def _once(self) -> None:
        try:
            conn = self.backend.wait_card(self.poll)
        except NoCardError:
            self._status(WAITING, True)
            return
        with conn:
            self.taps += 1
            try:
                self.on_card(conn)
            except CardRemovedError:
                self.on_problem(CARD_LEFT)
            except CitycardError as exc:  # the card stopped answering, no trust list yet, ...
                shown = problem_sentence(str(exc))
                if shown != str(exc):  # the detail, for the technician (no card data in it)
                    log.info("%s: tap not read: %s", self.backend.description, exc)
                self.on_problem(shown)
            self._wait_gone(conn)
        self._status(WAITING, True)

    def _wait_gone(self, conn: Connection) -> None:
        while not self._stop.is_set():
            try:
                if self.backend.wait_removed(conn, self.poll):
                    return
            except CitycardError:
                return  # the reader itself is gone: the next wait_card says so
