"""The terminal's Flask app: the routes of `api.terminal.routes`, JSON errors and strict
security headers.

    app = create_terminal_app(Terminal.from_config(config))   # or create_terminal_app(config)
    terminal_of(app).start()                                   # from api.terminal.routes

Errors are JSON {"code", "message"} (`cardio.web_errors.ApiError`). Every request, static
files and unknown paths included, goes through `routes.local_only` first. Every response
forbids MIME sniffing and framing (only the no-JavaScript panel, /panel, may be framed, by the
screen itself); pages send their referrer to the terminal only (so that the screen's form posts
carry their origin), everything else sends none. Its Content-Security-Policy lets the staff
screen load only its own script, style sheets, event stream and panel frame (and the card photo
as a data: URL), and lets nothing else (JSON, the event stream, static files) load anything.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from cardio.cbor import MAX_INPUT
from cardio.terminal_config import TerminalConfig
from cardio.web_errors import ApiError

from . import screen_text
from .routes import EXTENSION, STREAMS_EXTENSION, StreamSlots, bp, local_only
from .service import Terminal, TerminalError

log = logging.getLogger("citycard.terminal")

_HERE = Path(__file__).resolve().parent

SCREEN_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""The staff screen: screen.js, screen.css and /events from the terminal, the photo inline."""
PANEL_POLICY = SCREEN_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
"""/panel, the no-JavaScript screen's frame: framed by the screen, by nothing else."""
PANEL_PATH = "/panel"
DATA_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
"""Everything that is not a page (JSON, the event stream, static files): loads nothing."""
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"),)


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    return response


MAX_REQUEST = MAX_INPUT * 2 + 4096
"""The largest request body the terminal reads (a QR text as JSON, a credential's bytes)."""
TOO_LARGE = (
    f"The request is larger than the terminal takes ({MAX_REQUEST} bytes at most); send one "
    "credential or the text of one QR code."
)

DEFAULT_THREADS = 8
"""waitress worker threads `citycard-reader serve` runs with unless told otherwise."""


def stream_limit(threads: int) -> int:
    """How many staff screen event streams a server with `threads` workers may hold open at
    once: half of them, so the other half always answers `POST /verify` and `/health`."""
    if threads < 2:
        raise ValueError("The terminal needs at least 2 web server threads.")
    return threads // 2


def create_terminal_app(
    config: TerminalConfig | Terminal, threads: int = DEFAULT_THREADS
) -> Flask:
    """The terminal's Flask app, for a server with `threads` worker threads (which caps the
    open event streams, see `stream_limit`). Given a config, builds the Terminal (not
    started); either way the Terminal is at `app.extensions["citycard_terminal"]`."""
    streams = StreamSlots(stream_limit(threads))
    terminal = config if isinstance(config, Terminal) else Terminal.from_config(config)
    app = Flask(
        "citycard_terminal",
        root_path=str(_HERE),
        template_folder=str(_HERE / "templates"),
        static_folder=str(_HERE / "static"),
    )
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    app.config["JSON_SORT_KEYS"] = False
    app.extensions[EXTENSION] = terminal
    app.extensions[STREAMS_EXTENSION] = streams
    app.register_blueprint(bp)
    screen_text.install(app)

    @app.before_request
    def only_here() -> None:
        # static files and unknown paths too: nothing answers a machine the screen is not for
        local_only(terminal, screen=True)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if exc.code == 413:  # larger than MAX_CONTENT_LENGTH: the documented code, a sentence
            return _error(413, "too_large", TOO_LARGE)
        code = (exc.name or "error").lower().replace(" ", "_")
        response = _error(exc.code or 500, code, exc.description or exc.name or "error")
        allow = exc.get_response().headers.get("Allow")  # a 405 says what the route takes
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(TerminalError)
    def terminal_error(exc: TerminalError) -> Response:
        return _error(503, "not_ready", str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.error("request failed unexpectedly (%s)", type(exc).__name__)
        return _error(500, "internal_error", "The terminal failed unexpectedly; try again.")

    @app.after_request
    def headers(response: Response) -> Response:
        page = response.mimetype == "text/html"
        framed = page and request.path == PANEL_PATH
        policy = PANEL_POLICY if framed else SCREEN_POLICY if page else DATA_POLICY
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
        response.headers["Referrer-Policy"] = "same-origin" if page else "no-referrer"
        for name, value in SECURITY_HEADERS:
            response.headers[name] = value
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return app

