"""The partner venue's reader terminal: reader loop, trust sync, local verifier and staff screen.

    terminal = Terminal.from_config(load_terminal_config(Path("terminal.toml")))
    app = create_terminal_app(terminal)     # Flask; `citycard-reader serve` runs it under waitress
    terminal.start()                        # reader loop + trust sync threads

Routes (all refuse clients that are not on this machine, see `_local_only`):
  GET  /         the staff screen: large VALID / NOT VALID, photo, name and the entitlements
                 the venue profile allows, the verdict sentence, warnings; live over SSE, and a
                 page that refreshes itself where JavaScript is off
  GET  /events   server-sent events: the screen's panel as rendered HTML, on every change
  POST /verify   for venue systems: {"qr": "CC1:..."} (application/json) or the credential's
                 COSE bytes (application/cbor); answers the verdict and what the venue may see
  POST /sync     refresh the trust and status lists now (the screen's button, technicians)
  GET  /health   reader, lists and sync state (no personal data)
Errors are JSON {"code", "message"}.

Privacy: the terminal logs the time, the verdict and the venue of each tap, nothing else.
The screen keeps what the venue profile shows for `display_seconds`, then forgets it.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, stream_with_context
from werkzeug.exceptions import HTTPException

from cardio.cbor import MAX_INPUT
from cardio.chip import read_card
from cardio.connection import Connection
from cardio.credential import Variant
from cardio.errors import CitycardError
from cardio.published import published_dir
from cardio.trust_sync import Backoff, TrustSync, pinned_root_key
from cardio.venues import VenueProfile, load_venue
from cardio.verdict import VerificationResult
from cardio.verify import Policy, Verifier
from cardio.web_errors import ApiError

from .reader_feedback import MODES as FEEDBACK_MODES
from .reader_feedback import ReaderFeedback
from .reader_loop import (
    DEFAULT_POLL_INTERVAL,
    POLL_INTERVAL_RANGE,
    CardBackend,
    NfcBackend,
    PcscBackend,
    ReaderLoop,
)

log = logging.getLogger("citycard.terminal")
"""The tap log: one line per verdict with the verdict and the venue, and nothing else."""

_HERE = Path(__file__).resolve().parent
DEFAULT_PORT = 8470
EXTENSION = "citycard_terminal"


class TerminalError(CitycardError):
    """The terminal cannot do what was asked (no trust list yet, bad configuration)."""


# -- configuration ----------------------------------------------------------------------------


@dataclass
class TerminalConfig:
    """How one terminal runs. `load_terminal_config` reads it from TOML (same names as keys)."""

    trust: Path
    venue: str = "library"
    api: str | None = None
    reader: str | None = None  # PC/SC reader name (or part of it); None = any reader
    nfc: str | None = None  # nfcpy device path instead of PC/SC
    no_reader: bool = False  # QR only (POST /verify), no card reader
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    root_key: Path | None = None
    root_fingerprint: str | None = None
    sync_interval: float = 300.0
    max_backoff: float = 900.0
    display_seconds: float = 20.0
    feedback: str = "auto"  # ACR122U LED and buzzer: auto | acr122 | off
    buzzer: bool = True  # beep on a verdict (when feedback applies)
    led: bool = True  # light the LEDs while reading and for the verdict
    poll_interval: float = DEFAULT_POLL_INTERVAL  # seconds per wait for a card / for it to leave
    venues_dir: Path | None = None
    allow_remote_screen: bool = False  # let other machines see the staff screen (never /verify)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.reader and self.nfc:
            raise TerminalError("Give either a PC/SC reader or an nfcpy path, not both.")
        if not 0 < self.port < 65536:
            raise TerminalError(f"The port {self.port} is not a TCP port.")
        if self.display_seconds <= 0 or self.sync_interval <= 0 or self.max_backoff <= 0:
            raise TerminalError("Times in the terminal configuration must be positive.")
        if self.feedback not in FEEDBACK_MODES:
            raise TerminalError(
                f"feedback = {self.feedback!r} is not a feedback mode; use one of "
                f"{', '.join(FEEDBACK_MODES)}."
            )
        self.poll_interval = check_poll_interval(self.poll_interval)


def check_poll_interval(value: object) -> float:
    """`value` as a poll interval in seconds, or a TerminalError that says what to give."""
    low, high = POLL_INTERVAL_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise TerminalError(
            f"poll_interval = {value!r} is not usable; give the seconds between reader polls "
            f"as a number from {low:g} to {high:g} (default {DEFAULT_POLL_INTERVAL:g})."
        )
    return float(value)


_PATH_KEYS = ("trust", "root_key", "venues_dir")
_CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "trust": str,
    "venue": str,
    "api": str,
    "reader": str,
    "nfc": str,
    "no_reader": bool,
    "host": str,
    "port": int,
    "root_key": str,
    "root_fingerprint": str,
    "sync_interval": (int, float),
    "max_backoff": (int, float),
    "display_seconds": (int, float),
    "feedback": str,
    "buzzer": bool,
    "led": bool,
    "poll_interval": (int, float),
    "venues_dir": str,
    "allow_remote_screen": bool,
}


_KIND_HINT = {
    key: (
        "true or false"
        if kind is bool
        else "a whole number"
        if kind is int
        else "a number"
        if isinstance(kind, tuple)
        else "a quoted string"
    )
    for key, kind in _CONFIG_KEYS.items()
}


def load_terminal_config(path: Path, **overrides: Any) -> TerminalConfig:
    """A TerminalConfig from a TOML file; relative paths are relative to the file.

    `overrides` (not None) win over the file, as command-line flags do.
    """
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise TerminalError(f"There is no terminal configuration at {path}.") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TerminalError(f"The terminal configuration {path} cannot be read ({exc}).") from exc
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        raise TerminalError(
            f"{path} has unknown keys {unknown}; the keys are {', '.join(sorted(_CONFIG_KEYS))}."
        )
    for key, kind in _CONFIG_KEYS.items():
        value = data.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        ):
            raise TerminalError(
                f"{path}: '{key}' has the wrong type; write it as {_KIND_HINT.get(key, 'text')}."
            )
    base = Path(path).resolve().parent
    for key in _PATH_KEYS:
        if isinstance(data.get(key), str):
            data[key] = base / data[key]
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "trust" not in data:
        raise TerminalError(f"{path} names no 'trust' directory (where the lists are kept).")
    data["trust"] = Path(data["trust"])
    if data.get("sync_interval") is not None:
        data["sync_interval"] = float(data["sync_interval"])
    return TerminalConfig(**data)


# -- what the screen shows --------------------------------------------------------------------


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
        self._reader_status = "Starting."
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


# -- the terminal -----------------------------------------------------------------------------


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
            self.board.set_reader_status(
                "No card reader on this terminal: scan the QR code with the venue's scanner.", True
            )

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
            raise TerminalError(
                "This reader has no trust list yet; connect it to the city API (or copy the "
                "published lists into its trust directory) and try again."
            )
        return verifier

    def publish(self, res: VerificationResult, source: str) -> VerdictView:
        """Put a verdict on the screen, with the venue's view of the claims, and log it."""
        now = self.config.clock()
        warnings = list(res.warnings)
        for w in self.sync.warnings(now):
            if w not in warnings:
                warnings.append(w)
        view = VerdictView(
            verdict=res.verdict.name,
            valid=res.valid,
            message=res.message,
            warnings=tuple(warnings),
            presentation=self.venue.present(res.claims) if res.valid else None,
            source=source,
            at=now,
        )
        log.info("verdict=%s venue=%s", res.verdict.name, self.venue.name)
        self.board.show(view)
        return view

    def verify_qr(self, text: str) -> VerdictView:
        return self.publish(self._verifier().verify_qr(text, self.config.clock()), "qr")

    def verify_bytes(self, data: bytes) -> VerdictView:
        """Credential bytes from a venue system: treated as the print credential (no chip to
        check a chip credential's binding against)."""
        res = self._verifier().verify(data, self.config.clock(), variant=Variant.PRINT)
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


# -- the web app ------------------------------------------------------------------------------

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
_PHOTO_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"RIFF", "image/webp"),
)


def _loopback(addr: str | None) -> bool:
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _host_name(host: str) -> str:
    """The name in a Host header, without port and brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _photo_url(b64: str | None) -> str | None:
    """A data: URL for the photo, only for image formats a browser shows without scripts."""
    if not b64:
        return None
    try:
        head = base64.b64decode(b64[:24] + "=" * (-len(b64[:24]) % 4))
    except ValueError:
        return None
    for magic, media in _PHOTO_TYPES:
        if head.startswith(magic) and (media != "image/webp" or head[8:12] == b"WEBP"):
            return f"data:{media};base64,{b64}"
    return None


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    return response


def create_terminal_app(config: TerminalConfig | Terminal) -> Flask:
    """The terminal's Flask app. Given a config, builds the Terminal (not started); either way
    the Terminal is at `app.extensions["citycard_terminal"]`."""
    terminal = config if isinstance(config, Terminal) else Terminal.from_config(config)
    cfg = terminal.config
    app = Flask(
        "citycard_terminal",
        root_path=str(_HERE),
        template_folder=str(_HERE / "templates"),
        static_folder=str(_HERE / "static"),
    )
    app.config["MAX_CONTENT_LENGTH"] = MAX_INPUT * 2 + 4096
    app.config["JSON_SORT_KEYS"] = False
    app.extensions[EXTENSION] = terminal
    allowed_hosts = _LOCAL_NAMES | {_host_name(cfg.host)}

    def local_only(screen: bool = False) -> None:
        if screen and cfg.allow_remote_screen:
            return
        if not _loopback(request.remote_addr):
            raise ApiError(
                403,
                "not_local",
                "This terminal answers only programs on the same machine; run the venue "
                "system on the terminal itself.",
            )
        host = _host_name(request.host or "")
        if host not in allowed_hosts and not _loopback(host):
            raise ApiError(403, "bad_host", "Address the terminal as localhost or 127.0.0.1.")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(exc.code or 500, code, exc.description or exc.name or "error")

    @app.errorhandler(TerminalError)
    def terminal_error(exc: TerminalError) -> Response:
        return _error(503, "not_ready", str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.error("request failed unexpectedly (%s)", type(exc).__name__)
        return _error(500, "internal_error", "The terminal failed unexpectedly; try again.")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def panel_context(state: ScreenState) -> dict[str, Any]:
        view = state.view
        pres = view.presentation if view else None
        sync = terminal.sync.status()
        last = sync["last_success"]
        return {
            "state": state,
            "view": view,
            "pres": pres,
            "photo": _photo_url(pres["photo_base64"]) if pres else None,
            "venue": terminal.venue,
            "notices": terminal.sync.warnings(),
            "sync": sync,
            "last_sync": _clock_text(last) if last else None,
            "at": _clock_text(view.at) if view else None,
        }

    @app.get("/")
    def screen() -> str:
        local_only(screen=True)
        state = terminal.board.snapshot()
        return render_template("terminal/screen.html", **panel_context(state))

    @app.get("/events")
    def events() -> Response:
        local_only(screen=True)

        def stream() -> Iterator[str]:
            seq = -1
            yield "retry: 2000\n\n"
            ends = time.monotonic() + 300  # the browser reconnects; no stream lives forever
            while time.monotonic() < ends:
                state = terminal.board.wait(seq, 15.0)
                if state.seq == seq:
                    yield ": keep-alive\n\n"
                    continue
                seq = state.seq
                html = render_template("terminal/panel.html", **panel_context(state))
                data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
                yield f"event: screen\nid: {seq}\n{data}\n"

        return Response(
            stream_with_context(stream()),
            mimetype="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    @app.post("/verify")
    def verify() -> Response:
        local_only()
        mimetype = request.mimetype
        if mimetype == "application/json":
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("qr"), str):
                raise ApiError(
                    400, "bad_request", 'Send {"qr": "CC1:..."} with the text of the QR code.'
                )
            view = terminal.verify_qr(body["qr"])
        elif mimetype in ("application/cbor", "application/cose", "application/octet-stream"):
            data = request.get_data(cache=False)
            if len(data) > MAX_INPUT:
                raise ApiError(413, "too_large", f"A credential is at most {MAX_INPUT} bytes.")
            view = terminal.verify_bytes(data)
        else:
            raise ApiError(
                415,
                "unsupported_media_type",
                'Send application/json {"qr": "CC1:..."} or the credential bytes as '
                "application/cbor.",
            )
        return jsonify(view.to_json(terminal.venue))

    @app.post("/sync")
    def sync_now() -> Any:
        local_only(screen=True)
        report = terminal.sync.sync_once()
        if request.form.get("from") == "screen":  # the staff screen's button: back to it
            return redirect("/", code=303)
        return jsonify(
            {
                "ok": report.ok,
                "trust_version": report.trust_version,
                "trust_updated": report.trust_updated,
                "updated": list(report.updated_lists),
                "unchanged": list(report.unchanged),
                "problems": list(report.problems),
            }
        )

    @app.get("/health")
    def health() -> Response:
        local_only(screen=True)
        return jsonify(terminal.health())

    return app


def _clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def terminal_of(app: Flask) -> Terminal:
    terminal = app.extensions[EXTENSION]
    assert isinstance(terminal, Terminal)
    return terminal


__all__ = [
    "Board",
    "ScreenState",
    "Terminal",
    "TerminalConfig",
    "TerminalError",
    "VerdictView",
    "check_poll_interval",
    "create_terminal_app",
    "load_terminal_config",
    "terminal_of",
]
