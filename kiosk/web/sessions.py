"""Server-side kiosk sessions, in memory only.

The browser holds one opaque, random session id in a cookie and nothing else. Everything the
resident types lives in a `KioskSession` object in this process: never in a cookie, never on
disk. A session is dropped when the resident finishes, when the idle timeout passes (checked on
every request and by a sweeper thread) or when the app stops. Of a session dropped at the idle
timeout the store keeps its language alone, by its id, for `TIMED_OUT_NOTE_SECONDS`: whoever
comes back with that cookie is told that the visit timed out, in their language.

The store holds a bounded number of sessions. When it is full, a new session may take the place
of one that never got past the start page, never of a visit in progress: strangers' requests
must not end a resident's enrolment. If every place holds a visit in progress, `create` raises
`KioskBusy` and the new visitor is asked to wait (those visits end at the idle timeout).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

COOKIE = "kiosk_sid"  # the one cookie: the session's opaque id
MAX_SESSIONS = 32  # a kiosk has one screen; more live sessions than this means stale ones
TIMED_OUT_NOTE_SECONDS = 30 * 60  # how long the language of a timed-out session is kept


class KioskBusy(Exception):
    """Every place in the session store holds a visit in progress: a new one must wait."""


@dataclass
class EnrolmentDraft:
    """What the resident has entered so far. Personal data: memory only, dropped at the end."""

    fields: dict[str, str] = field(default_factory=dict)  # field id -> cleaned text
    birth_date: date | None = None
    documents: tuple[str, ...] = ()
    waivers: tuple[str, ...] = ()
    guardian_present: bool = False
    lived_long_enough: bool | None = None
    decision: Any = None  # the rules engine's Decision for the current data
    approved_by: str | None = None  # "pin" or a staff card id: never a resident's data
    photo: Any = None  # the photo pipeline's PreparedPhoto
    photo_jpeg: bytes | None = None
    signature_png: bytes | None = None
    no_signature: bool = False
    fee_confirmed: bool = False
    valid_until: date | None = None  # entered by the attendant (ProgramView.end_date_label)
    card_kind: str = "first"  # or "renewal", "replacement" (kiosk.web.flow.old_card)
    document_number: str | None = None  # the card a renewal or replacement keeps the number of
    completed: set[str] = field(default_factory=set)


@dataclass
class JobState:
    """Progress of the personalisation job of one session (no personal data)."""

    request_id: str
    step: str = "queued"
    fraction: float = 0.0
    done: bool = False
    failed: bool = False
    reason: Any = None  # a ports.ReasonView telling the resident what failed
    attendant: str = ""  # one sentence for the attendant (English, no personal data)
    retry: bool = True
    card: str = ""  # a ports.CardFate value after a failure: what became of the card
    card_kind: str = "first"  # what the done page tells about the old card (no personal data)
    events: int = 0  # bumps on every update, for the progress stream
    changed: threading.Condition = field(default_factory=threading.Condition)

    def update(self, **changes: Any) -> None:
        with self.changed:
            for key, value in changes.items():
                setattr(self, key, value)
            self.events += 1
            self.changed.notify_all()


@dataclass
class KioskSession:
    sid: str
    created: float
    last_seen: float
    csrf: str
    lang: str | None = None
    large_text: bool = False
    high_contrast: bool = False
    notice: str | None = None  # a message id shown once on the next page
    request_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    enrolment: EnrolmentDraft = field(default_factory=EnrolmentDraft)
    job: JobState | None = None
    finished: bool = False

    @property
    def started(self) -> bool:
        """Whether the resident has done anything worth keeping (chosen a language, posted a
        step, set a display preference, had a card made); else the start page was all."""
        return (
            bool(self.enrolment.completed)
            or self.job is not None
            or self.large_text
            or self.high_contrast
        )

    @property
    def in_progress(self) -> bool:
        """A visit someone would lose: started, and the card not yet made (once it is, the
        resident is already forgotten and only the done page's timer is left)."""
        return self.started and not self.finished

    def forget_resident(self) -> None:
        """Drop every personal value; the display preferences and the language stay."""
        self.enrolment = EnrolmentDraft()


class SessionStore:
    """Sessions by id, with an idle timeout. Thread-safe."""

    def __init__(
        self,
        idle_timeout: float,
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = MAX_SESSIONS,
        on_drop: Callable[[KioskSession], None] | None = None,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.on_drop = on_drop
        self.clock = clock
        self.max_sessions = max_sessions
        self._sessions: dict[str, KioskSession] = {}
        # The language of each session dropped at the idle timeout, by its id, for a while:
        # whoever comes back with that cookie is told so in their language. A language code
        # is all that is kept, in memory only (nothing of the resident, nothing on disk).
        self._timed_out: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def create(self, *, lang: str | None = None, notice: str | None = None) -> KioskSession:
        now = self.clock()
        session = KioskSession(
            sid=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
            csrf=secrets.token_urlsafe(32),
            lang=lang,
            notice=notice,
        )
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                self._make_room_locked()
            self._sessions[session.sid] = session
        return session

    def _make_room_locked(self) -> None:
        """Drop the expired sessions, else the least recently seen one that is not a visit in
        progress; raise KioskBusy if every session is one."""
        for sid in [s.sid for s in self._sessions.values() if self.expired(s)]:
            self._drop_locked(sid, timed_out=True)
        if len(self._sessions) < self.max_sessions:
            return
        spare = [s for s in self._sessions.values() if not s.in_progress]
        if not spare:
            raise KioskBusy
        self._drop_locked(min(spare, key=lambda s: s.last_seen).sid)

    def stand_in(self, sid: str | None) -> KioskSession:
        """A session for a page of a request that opened none (a static file), which the store
        does not hold (so no cookie is set): in the language and display of the live session
        `sid` if there is one, read without touching it, else in the programme's language."""
        stand_in = KioskSession(sid="", created=0.0, last_seen=0.0, csrf="")
        live = self.get(sid)
        if live is not None and not self.expired(live):
            stand_in.lang, stand_in.large_text = live.lang, live.large_text
            stand_in.high_contrast = live.high_contrast
        return stand_in

    def get(self, sid: str | None) -> KioskSession | None:
        """The live session with this id (None if unknown); does not touch `last_seen`."""
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def expired(self, session: KioskSession) -> bool:
        return self.clock() - session.last_seen > self.idle_timeout and not self._job_running(
            session
        )

    @staticmethod
    def _job_running(session: KioskSession) -> bool:
        return session.job is not None and not session.job.done and not session.job.failed

    def touch(self, session: KioskSession) -> None:
        session.last_seen = self.clock()

    def drop(self, sid: str) -> None:
        with self._lock:
            self._drop_locked(sid)

    def _drop_locked(self, sid: str, *, timed_out: bool = False) -> None:
        session = self._sessions.pop(sid, None)
        if session is not None:
            if self.on_drop is not None:
                self.on_drop(session)
            session.forget_resident()
            session.job = None
            if timed_out:
                self._note_timed_out_locked(session)

    def _note_timed_out_locked(self, session: KioskSession) -> None:
        now = self.clock()
        for sid, (when, _lang) in list(self._timed_out.items()):
            if now - when > TIMED_OUT_NOTE_SECONDS:
                del self._timed_out[sid]
        while len(self._timed_out) >= 4 * self.max_sessions:  # bounded: the oldest goes
            del self._timed_out[next(iter(self._timed_out))]
        self._timed_out[session.sid] = (now, session.lang)

    def timed_out(self, sid: str | None) -> tuple[bool, str | None]:
        """Whether the session with this id was dropped at the idle timeout (lately), and its
        language; the note is used once."""
        if not sid:
            return False, None
        with self._lock:
            note = self._timed_out.pop(sid, None)
        if note is None or self.clock() - note[0] > TIMED_OUT_NOTE_SECONDS:
            return False, None
        return True, note[1]

    def sweep(self) -> int:
        """Drop every expired session; how many were dropped."""
        with self._lock:
            stale = [s.sid for s in self._sessions.values() if self.expired(s)]
            for sid in stale:
                self._drop_locked(sid, timed_out=True)
        return len(stale)

    def clear(self) -> None:
        with self._lock:
            for sid in list(self._sessions):
                self._drop_locked(sid)
            self._timed_out.clear()

    @contextmanager
    def sweeper(self, interval: float = 5.0) -> Iterator[threading.Thread]:
        """A daemon thread that sweeps every `interval` seconds while the block runs."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                self.sweep()

        thread = threading.Thread(target=run, name="kiosk-session-sweeper", daemon=True)
        thread.start()
        try:
            yield thread
        finally:
            stop.set()
            thread.join(interval + 1)
