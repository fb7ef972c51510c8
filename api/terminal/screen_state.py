"""What the staff screen shows: the last verdict (as the venue may see it) and the reader's
status, shared by the reader loop, `POST /verify` and the screen's event streams.

    board = Board(display_seconds=20)
    board.show(view)                  # a verdict; forgotten after display_seconds
    state = board.wait(seq, 15.0)     # an SSE stream: the next change, or a keep-alive
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from cardio.venues import VenueProfile

from .i18n import N_

STARTING = N_("Starting.")
"""The reader's status before the reader loop first says anything."""


@dataclass(frozen=True)
class VerdictView:
    """One tap or scan as the venue may see it (claims already filtered by the profile)."""

    verdict: str  # a cardio.verdict.Verdict name, or "NOT_READ" for a tap without a verdict
    valid: bool
    message: str
    warnings: tuple[str, ...]
    presentation: dict[str, Any] | None
    source: str  # "chip", "qr" or "reader"
    at: float
    reason: str | None = None  # a wallet answer's typed reason (docs/credential.md section 9)

    def to_json(self, venue: VenueProfile) -> dict[str, Any]:
        pres = self.presentation
        return {
            "verdict": self.verdict,
            "valid": self.valid,
            "message": self.message,
            "warnings": list(self.warnings),
            "venue": venue.name,
            "claims": None if pres is None else {f["key"]: f["value"] for f in pres["fields"]},
            "photo_base64": None if pres is None else pres["photo_base64"],
            "entitlements": None if pres is None else pres["entitlements"],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ScreenState:
    seq: int
    view: VerdictView | None
    reader_status: str
    reader_ok: bool


class Board:
    """The staff screen's state, shared by the reader loop, the verifier and the SSE streams.

    A verdict stays up for `display_seconds` (then the screen forgets it); every change bumps
    `seq` and wakes the streams waiting in `wait()`.
    """

    def __init__(self, display_seconds: float = 20.0) -> None:
        self.display_seconds = display_seconds
        self._cond = threading.Condition()
        self._seq = 0
        self._view: VerdictView | None = None
        self._until = 0.0
        self._reader_status = STARTING
        self._reader_ok = True

    def show(self, view: VerdictView) -> None:
        with self._cond:
            self._view = view
            self._until = time.monotonic() + self.display_seconds
            self._bump()

    def set_reader_status(self, sentence: str, ok: bool) -> None:
        with self._cond:
            if (sentence, ok) != (self._reader_status, self._reader_ok):
                self._reader_status, self._reader_ok = sentence, ok
                self._bump()

    def touch(self) -> None:
        """Something else on the screen changed (e.g. the lists were refreshed)."""
        with self._cond:
            self._bump()

    def clear(self) -> None:
        with self._cond:
            if self._view is not None:
                self._view = None
                self._bump()

    def _bump(self) -> None:
        self._seq += 1
        self._cond.notify_all()

    def _expire(self) -> None:
        if self._view is not None and time.monotonic() >= self._until:
            self._view = None
            self._bump()

    def snapshot(self) -> ScreenState:
        with self._cond:
            self._expire()
            return ScreenState(self._seq, self._view, self._reader_status, self._reader_ok)

    def wait(self, seq: int, timeout: float) -> ScreenState:
        """The state once `seq` is outdated, or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._expire()
                now = time.monotonic()
                if self._seq != seq or now >= deadline:
                    return ScreenState(self._seq, self._view, self._reader_status, self._reader_ok)
                wake = deadline if self._view is None else min(deadline, self._until)
                self._cond.wait(max(0.01, wake - now))
