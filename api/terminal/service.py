"""The running reader terminal: the reader loop, the trust sync and the verifier, together.

    terminal = Terminal.from_config(load_terminal_config(Path("terminal.toml")))
    app = create_terminal_app(terminal)     # api.terminal.server; `citycard-reader serve`
    terminal.start()                        # reader loop + trust sync threads

Every verdict, from a tap or from `POST /verify`, goes through `Terminal.publish`: the venue
profile filters the claims, the staff screen's `Board` shows it, and the tap log records it.

Privacy: the terminal logs the time, the verdict and the venue of each tap, nothing else.
The screen keeps what the venue profile shows for `display_seconds`, then forgets it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cardio.chip import read_card
from cardio.connection import Connection
from cardio.errors import CitycardError, MalformedError
from cardio.presentation import (
    NOT_SHARED,
    REQUEST_WINDOW,
    VenueRequest,
    refusal,
    wallet_verdict,
)
from cardio.presentation_errors import PresentationReason
from cardio.published import published_dir
from cardio.sentences import FilledSentence
from cardio.terminal_config import TerminalConfig
from cardio.trust_sync import Backoff, TrustSync, pinned_root_key
from cardio.venues import VenueProfile, load_venue
from cardio.verdict import VerificationResult
from cardio.verify import Policy, Verifier

from .i18n import N_
from .inputs import bytes_verdict, scanned_qr_text
from .reader_feedback import ReaderFeedback
from .reader_loop import CardBackend, NfcBackend, PcscBackend, ReaderLoop
from .reader_text import NO_TRUST_LIST
from .screen_state import Board, VerdictView

log = logging.getLogger("citycard.terminal")
"""The tap log: one line per verdict with the verdict and the venue, and nothing else."""

NO_READER = N_("No card reader on this terminal: scan the QR code into the box above.")


class TerminalError(CitycardError):
    """The terminal cannot verify yet (no trust list): answered as 503 `not_ready`."""


class Terminal:
    """Ties the trust sync, the venue profile, the reader loop and the screen together."""

    def __init__(
        self,
        config: TerminalConfig,
        sync: TrustSync,
        venue: VenueProfile,
        backend: CardBackend | None = None,
        feedback: ReaderFeedback | None = None,
    ) -> None:
        self.config = config
        self.sync = sync
        self.venue = venue
        self.board = Board(config.display_seconds)
        # the nonces of requests a valid answer was taken for, until they cannot be answered
        # any more: one answer per request (a second showing of it is a replay)
        self._answered: dict[str, float] = {}
        self._answered_lock = threading.Lock()
        self.feedback = feedback or ReaderFeedback(
            config.feedback, buzzer=config.buzzer, led=config.led
        )
        self.sync.on_change = self.board.touch
        self.loop: ReaderLoop | None = None
        if backend is not None:
            self.loop = ReaderLoop(
                backend,
                self.on_card,
                self.board.set_reader_status,
                self.on_problem,
                poll=config.poll_interval,
            )
        else:
            self.board.set_reader_status(NO_READER, True)

    @classmethod
    def from_config(cls, config: TerminalConfig) -> Terminal:
        """Build (not start) a terminal: pin the root key, load the cached lists, the venue."""
        store = published_dir(config.trust)
        root = pinned_root_key(store, config.root_fingerprint, config.api, config.root_key)
        sync = TrustSync(
            store,
            root,
            config.api,
            interval=config.sync_interval,
            backoff=Backoff(initial=min(5.0, config.max_backoff), maximum=config.max_backoff),
            clock=config.clock,
            policy=Policy(),
        )
        venue = load_venue(config.venue, config.venues_dir)
        backend: CardBackend | None = None
        if config.nfc:
            backend = NfcBackend(config.nfc)
        elif not config.no_reader:
            backend = PcscBackend(config.reader)
        return cls(config, sync, venue, backend)

    def start(self) -> None:
        # nfcpy logs every frame at DEBUG, and frames carry card data: keep them out of logs.
        logging.getLogger("nfc").setLevel(max(logging.INFO, logging.getLogger("nfc").level))
        self.sync.start()
        if self.loop is not None:
            self.loop.start()

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        self.sync.stop()

    # -- verdicts -------------------------------------------------------------------------------

    def _verifier(self) -> Verifier:
        verifier = self.sync.verifier
        if verifier is None:
            raise TerminalError(NO_TRUST_LIST)
        return verifier

    def _unshared(self, warning: str, claims: dict[str, Any] | None) -> str:
        """A wallet's "did not share" as this venue reads it: an entitlement line once, and not
        at all when the card shared another of its codes (`VenueProfile.not_shared`)."""
        if not (isinstance(warning, FilledSentence) and warning.template == NOT_SHARED):
            return warning
        shared = (claims or {}).get("entitlements")
        items = self.venue.not_shared(warning.lists.get("items", ()), shared)
        return FilledSentence(NOT_SHARED, lists={"items": items}) if items else ""

    def publish(
        self, res: VerificationResult, source: str, asked: tuple[str, ...] | None = None
    ) -> VerdictView:
        """Put a verdict on the screen, with the venue's view of the claims, and log it. A
        valid card the venue's profile refuses (`require`: the holder is not over 18, or that
        cannot be known) is shown NOT VALID with the venue's reason, and its view of the card
        (the photo, "Over 18: no") so that staff can tell the holder."""
        now = self.config.clock()
        warnings = [self._unshared(w, res.claims) for w in res.warnings]
        warnings = [w for w in warnings if w]
        for w in self.sync.warnings(now):
            if w not in warnings:
                warnings.append(w)
        verdict, valid, message = res.verdict.name, res.valid, res.message
        refused = self.venue.refusal(res.claims, now) if res.valid else None
        if refused is not None:
            verdict, message = refused
            valid = False
        view = VerdictView(
            verdict=verdict,
            valid=valid,
            message=message,
            warnings=tuple(warnings),
            presentation=_presentation(self.venue, res, now, asked) if res.valid else None,
            source=source,
            at=now,
            # a wallet's refusal says which (a stale request is not a replay: make a new one)
            reason=reason.value if (reason := getattr(res, "reason", None)) is not None else None,
        )
        log.info("verdict=%s venue=%s", verdict, self.venue.name)
        self.board.show(view)
        return view

    def verify_qr(
        self, text: str, request_qr: str | None = None, need_request: bool = False
    ) -> VerdictView:
        """A QR text as a scanner typed it: its one trailing line ending is not part of it.
        A phone wallet's answer (CCS1:, CCM1:, CCP1: parts one per line) is checked against
        the venue request `request_qr` (CCQ1:) it answers, made for this terminal's venue, and
        is taken once; MalformedError for a bad request. With `need_request` (the staff
        screen's scanner), a wallet's answer without a request is refused: nothing binds it
        to this door, so it may be anyone's copy."""
        verifier, now, scanned = self._verifier(), self.config.clock(), scanned_qr_text(text)
        request = None if request_qr is None else VenueRequest.from_qr(request_qr)
        if request is not None and request.venue != self.venue.name:
            raise MalformedError(
                f"The request was made for the venue {request.venue!r}, not for this terminal's "
                f"({self.venue.name!r}); make the request for this venue."
            )
        res = wallet_verdict(verifier, scanned, request, now)
        if res is None:
            return self.publish(verifier.verify_qr(scanned, now), "qr")
        if res.valid and (
            # a second showing of one answer, or an answer bound to no request of this door
            (request is not None and not self._first_answer(request.nonce, now))
            or (request is None and need_request)
        ):
            res = refusal(PresentationReason.WRONG_NONCE, res.format)
        return self.publish(res, "qr", None if request is None else request.items)

    def _first_answer(self, nonce: str, now: float) -> bool:
        """Whether no valid answer was taken for the request `nonce` yet (then it is now)."""
        with self._answered_lock:
            for old in [n for n, until in self._answered.items() if until < now]:
                del self._answered[old]
            if nonce in self._answered:
                return False
            # a request is answered within its window, and the clock skew either way
            self._answered[nonce] = now + REQUEST_WINDOW + 2 * self._verifier().policy.clock_skew
            return True

    def verify_bytes(self, data: bytes) -> VerdictView:
        """Bytes from a venue system, read as `citycard-reader verify FILE` reads a file
        (`inputs.bytes_verdict`): a printed QR code's text, a wallet credential (SD-JWT VC,
        mdoc), a credential or a chip's NDEF message. A chip credential gets the verdict of
        its signature and claims, with a warning that its chip binding was not checked."""
        res = bytes_verdict(self._verifier(), data, None, self.config.clock())
        return self.publish(res, "qr")

    def on_card(self, conn: Connection) -> None:
        """One tap: read, verify, show, then light the reader. A CitycardError (the card left,
        no trust list yet) propagates: the reader loop shows it as "try again"."""
        verifier = self._verifier()
        self.feedback.reading(conn)
        read = read_card(conn, verifier, self.config.clock())
        view = self.publish(read.result, "chip")
        self.feedback.verdict(conn, view.valid)

    def on_problem(self, sentence: str) -> None:
        self.board.show(
            VerdictView("NOT_READ", False, sentence, (), None, "reader", self.config.clock())
        )

    def health(self) -> dict[str, Any]:
        state = self.board.snapshot()
        return {
            "venue": self.venue.name,
            "reader": {
                "backend": self.loop.backend.description if self.loop else None,
                "running": bool(self.loop and self.loop.running),
                "status": state.reader_status,
                "ok": state.reader_ok,
            },
            "sync": self.sync.status(),
            "warnings": self.sync.warnings(),
        }


def _presentation(
    venue: VenueProfile, res: VerificationResult, now: float, asked: tuple[str, ...] | None = None
) -> dict[str, Any] | None:
    """The venue's view of a valid card; for a compact chip credential (no name or photo on
    the chip) it also tells the screen to send staff to the name and photo printed on the card.
    `asked`: a wallet's answer's request, whose entitlement lines alone are said held or not."""
    pres = venue.present(res.claims, now, asked)
    if pres is not None and res.claims and res.claims.get("compare_printed_card") is True:
        pres = {**pres, "compare_printed_card": True}
    return pres

