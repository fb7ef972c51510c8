"""The terminal's routes (a Flask blueprint; `api.terminal.server` mounts it on the app).

Routes (all refuse clients that are not on this machine, see `local_only`):
  GET  /         the staff screen: large VALID / NOT VALID, photo, name and the entitlements
                 the venue profile allows, the verdict sentence, warnings; live over SSE, and
                 where JavaScript is off, in a frame (/panel) that refreshes itself
  GET  /panel    the screen's panel alone, reloading itself every 2 s (the no-JavaScript
                 frame: the page with the scanner box never reloads and never cuts a scan)
  GET  /events   server-sent events: the screen's panel as rendered HTML, on every change; at
                 most `StreamSlots.limit` at once (each holds a worker thread), beyond that
                 503 with Retry-After, so streams never starve /verify and /health
  POST /verify   for venue systems: {"qr": "CC1:..."} (application/json) or the credential's
                 COSE bytes (application/cbor); answers the verdict and what the venue may see;
                 a phone wallet's answer comes with its venue request: {"qr", "request": "CCQ1:..."}
  POST /scan     the staff screen's QR input (a keyboard-wedge scanner types the text and
                 Enter; the camera button posts what it decoded): the verdict goes on the screen,
                 and a scan that gets none (empty, no trust list yet) goes there as TRY AGAIN
  POST /sync     refresh the trust and status lists now (the screen's button, technicians)
  GET  /health   reader, lists and sync state (no personal data)
"""

from __future__ import annotations

import base64
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
)

from cardio.cbor import MAX_INPUT
from cardio.errors import MalformedError
from cardio.trust_sync import CLOCK_WRONG
from cardio.verify import COMPARE_PRINTED_CARD
from cardio.web_errors import ApiError, json_object

from . import i18n
from .i18n import N_
from .screen_state import ScreenState
from .screen_text import item_words, lists_summary, verdict_name
from .service import Terminal, TerminalError

EXTENSION = "citycard_terminal"
"""Where the app keeps its Terminal: `app.extensions[EXTENSION]`."""
STREAMS_EXTENSION = "citycard_terminal_streams"
"""Where the app keeps its `StreamSlots`."""
STREAM_LIFETIME = 300.0
"""Seconds an event stream lives; the browser then reconnects (and may find a free slot)."""
STREAM_RETRY_AFTER = 10
"""Seconds a refused stream is told to wait (the staff screen's script waits as long)."""

bp = Blueprint("terminal", __name__)

EMPTY_SCAN = N_("Scan the QR code printed on the card into the box.")

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
_PHOTO_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"RIFF", "image/webp"),
)


class StreamSlots:
    """How many `/events` streams may be open at once.

    A stream holds one of the server's worker threads for as long as it is open, so the limit
    stays below the thread count: however many staff screens connect, threads remain for
    `POST /verify` and `/health`.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("At least one event stream must be allowed.")
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def take(self) -> Callable[[], None] | None:
        """A slot's release function (safe to call more than once), or None when all are taken."""
        if not self._free.acquire(blocking=False):
            return None
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self._free.release()

        return release


def terminal_of(app: Flask) -> Terminal:
    """The Terminal an app built by `create_terminal_app` serves."""
    terminal = app.extensions[EXTENSION]
    assert isinstance(terminal, Terminal)
    return terminal


def current_terminal() -> Terminal:
    return terminal_of(current_app)


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


def local_only(terminal: Terminal, screen: bool = False) -> None:
    """Refuse clients on other machines, and Host names that are not this terminal's (a web
    page that rebinds its DNS name to 127.0.0.1). `screen`: a route of the staff screen, which
    `allow_remote_screen` may open to other machines."""
    config = terminal.config
    if screen and config.allow_remote_screen:
        return
    if not _loopback(request.remote_addr):
        raise ApiError(
            403,
            "not_local",
            "This terminal answers only programs on the same machine; run the venue "
            "system on the terminal itself.",
        )
    host = _host_name(request.host or "")
    if host not in _LOCAL_NAMES | {_host_name(config.host)} and not _loopback(host):
        raise ApiError(403, "bad_host", "Address the terminal as localhost or 127.0.0.1.")


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


def _clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


LANGUAGE_COOKIE = "citycard_terminal_lang"
"""Where the staff member's language choice is kept (the screen and its event stream read it)."""


def screen_language(terminal: Terminal) -> i18n.Language:
    """`?lang=`, else the staff member's earlier choice, else the venue's language, else English."""
    for tag in (
        request.args.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        terminal.venue.language,
    ):
        code = i18n.language_for(tag)
        if code is not None:
            return i18n.BY_CODE[code]
    return i18n.BY_CODE[i18n.SOURCE_LANGUAGE]


def use_language(terminal: Terminal) -> i18n.Language:
    """Pick this request's screen language; the templates' `_` and `pgettext` follow it."""
    lang = screen_language(terminal)
    g.terminal_language = lang.code
    return lang


def _panel_context(terminal: Terminal, state: ScreenState) -> dict[str, Any]:
    view = state.view
    pres = view.presentation if view else None
    sync = terminal.sync.status()
    return {
        "lists": lists_summary(sync, terminal.config.clock()),
        "verdict_name": verdict_name,
        "state": state,
        "view": view,
        "pres": pres,
        "photo": _photo_url(pres["photo_base64"]) if pres else None,
        "venue": terminal.venue,
        # the items a phone wallet's holder did not share, as the screen names them
        "item_word": item_words(terminal.venue),
        # a wrong clock is said once, in the lists' line, not again among the notices
        "notices": [n for n in terminal.sync.warnings() if n != CLOCK_WRONG],
        "at": _clock_text(view.at) if view else None,
        # shown as its own line above the holder, so left out of the warnings list there
        "compare_warning": COMPARE_PRINTED_CARD,
        "clock_warning": CLOCK_WRONG,
    }


@bp.get("/panel")
def panel() -> str:
    """The panel alone, reloading itself: the no-JavaScript screen's frame."""
    terminal = current_terminal()
    local_only(terminal, screen=True)
    lang = use_language(terminal)
    state = terminal.board.snapshot()
    return render_template(
        "terminal/panel_page.html", lang=lang, **_panel_context(terminal, state)
    )


@bp.get("/")
def screen() -> Response:
    terminal = current_terminal()
    local_only(terminal, screen=True)
    lang = use_language(terminal)
    state = terminal.board.snapshot()
    html = render_template(
        "terminal/screen.html",
        lang=lang,
        languages=i18n.LANGUAGES,
        **_panel_context(terminal, state),
    )
    response = make_response(html)
    if request.args.get("lang") and i18n.language_for(request.args["lang"]):
        response.set_cookie(
            LANGUAGE_COOKIE, lang.code, max_age=365 * 86400, samesite="Strict", httponly=True
        )
    return response


def same_origin_form(what_to_do: str) -> None:
    """Refuse a form another web site makes the staff's browser post (it could put a verdict
    of another card on the screen while the holder shows theirs, or keep the terminal busy
    asking the city for its lists)."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    # The screen's own form posts carry its origin (the page's Referrer-Policy is
    # same-origin, also over plain http to a LAN address, where browsers send no Fetch
    # Metadata); an `Origin: null` is ours only when Sec-Fetch-Site says so.
    ours = origin is None or origin == request.host_url.rstrip("/") or (
        origin == "null" and site == "same-origin"
    )
    if site not in (None, "same-origin", "none") or not ours:
        raise ApiError(403, "cross_site", what_to_do)


@bp.post("/scan")
def scan() -> Any:
    """The staff screen's QR input: the verdict goes on the screen (as from POST /verify)."""
    terminal = current_terminal()
    local_only(terminal, screen=True)
    same_origin_form("Scan the card on the terminal's own staff screen.")
    script = request.accept_mimetypes.best == "application/json"
    text = request.form.get("qr")
    if not isinstance(text, str) or not text.strip():
        # a stray Enter, or a scanner's second line ending, while the holder is still at the
        # door: the verdict on the screen stays (a script is told what to send)
        if script:
            raise ApiError(400, "bad_request", EMPTY_SCAN)
        return redirect("/", code=303)
    try:
        # a wallet's answer needs the venue's request, which a scan does not bring
        view = terminal.verify_qr(text, need_request=True)
    except (ApiError, TerminalError) as exc:
        # every scan gets an outcome on the screen, in its language: TRY AGAIN and why
        terminal.on_problem(exc.message if isinstance(exc, ApiError) else str(exc))
        if script:
            raise
        return redirect("/", code=303)
    if script:
        return jsonify({"verdict": view.verdict, "valid": view.valid})
    return redirect("/", code=303)


@bp.get("/events")
def events() -> Response:
    terminal = current_terminal()
    local_only(terminal, screen=True)
    slots = current_app.extensions[STREAMS_EXTENSION]
    assert isinstance(slots, StreamSlots)
    use_language(terminal)
    release = slots.take()
    if release is None:
        busy = jsonify(
            {
                "code": "too_many_streams",
                "message": f"{slots.limit} staff screens are already connected; "
                f"try again in {STREAM_RETRY_AFTER} seconds.",
            }
        )
        busy.status_code = 503
        busy.headers["Retry-After"] = str(STREAM_RETRY_AFTER)
        return busy

    def stream() -> Iterator[str]:
        seq = -1
        yield "retry: 2000\n\n"
        ends = time.monotonic() + STREAM_LIFETIME  # the browser reconnects
        while time.monotonic() < ends:
            state = terminal.board.wait(seq, 15.0)
            if state.seq == seq:
                yield ": keep-alive\n\n"
                continue
            seq = state.seq
            html = render_template("terminal/panel.html", **_panel_context(terminal, state))
            data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
            yield f"event: screen\nid: {seq}\n{data}\n"

    response = Response(
        stream_with_context(stream()),
        mimetype="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )
    # The server closes the response however the stream ends (its time is up, the browser
    # left, the server stops), even when it never started: the slot is freed then.
    response.call_on_close(release)
    return response


@bp.post("/verify")
def verify() -> Response:
    terminal = current_terminal()
    local_only(terminal)
    mimetype = request.mimetype
    if mimetype == "application/json":
        body = json_object(request.get_data(cache=False))
        if body is None or not isinstance(body.get("qr"), str):
            raise ApiError(
                400, "bad_request", 'Send {"qr": "CC1:..."} with the text of the QR code.'
            )
        request_qr = body.get("request")  # the venue request (CCQ1:) a phone wallet answered
        if request_qr is not None and not isinstance(request_qr, str):
            raise ApiError(400, "bad_request", 'Send "request" as the text of the request QR.')
        try:
            view = terminal.verify_qr(body["qr"], request_qr)
        except MalformedError as exc:
            raise ApiError(400, "bad_request", str(exc)) from exc
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


@bp.post("/sync")
def sync_now() -> Any:
    terminal = current_terminal()
    local_only(terminal, screen=True)
    same_origin_form("Refresh the lists from the terminal's own staff screen.")
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


@bp.get("/health")
def health() -> Response:
    terminal = current_terminal()
    local_only(terminal, screen=True)
    return jsonify(terminal.health())
