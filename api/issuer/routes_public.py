"""Public, unauthenticated routes: what readers fetch to verify offline.

    GET /.well-known/citycard/trust-list   the root-signed trust list (COSE_Sign1)
    GET /status/<list-id>                  a Token Status List (CWT, application/statuslist+cwt)
    GET /.well-known/citycard/root-key     the city root public key (PEM), for provisioning only:
                                           a reader pins it by fingerprint, never blindly

All three carry a strong ETag and Cache-Control, answer If-None-Match with 304, and are served
from memory: the bytes the one publisher kept in the registry (see api.issuer.published_cache),
the same on every host. No request signs anything: the publisher (api.issuer.publishing) signs
status lists again when they change and when they are half their ttl old. A file not published
yet is answered 503 `not_published` with Retry-After. While the registry is away, the copy the
host holds is served (same bytes, ETag and Cache-Control; the files are signed and expire on
their own); only a file it never read is then 503 `unavailable`.

These are the requests every reader makes, so `FastPath` answers them in front of Flask (plain
WSGI, the same `PublicFiles.answer` as the blueprint below, byte for byte; tests/test_api.py
compares both). Anything it does not answer with 200 or 304 (an unknown list, nothing
published yet, another method) goes on to Flask and its JSON errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, request

from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE
from cardio.statuslist import MEDIA_TYPE as STATUS_MEDIA_TYPE
from cardio.trustlist import MEDIA_TYPE as TRUST_MEDIA_TYPE
from cardio.web_errors import ApiError

from .published_cache import PublishedFiles, Snapshot, etag_matches
from .publisher import status_file
from .schemas import LIST_ID, ErrorSchema, ListIdPathSchema
from .service import Issuer
from .web import file_response, other_responses, path_arguments, state

bp = Blueprint("public", __name__)

TRUST_LIST_PATH = "/.well-known/citycard/trust-list"
ROOT_KEY_PATH = "/.well-known/citycard/root-key"
STATUS_PREFIX = "/status/"
PEM_MEDIA_TYPE = "application/x-pem-file"
# Headers every response carries (api.issuer.server adds them to Flask's responses too): no
# answer of this API is a page, so nothing may run, load, frame it or leak the referrer.
COMMON_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
]
_UNPUBLISHED = (
    ErrorSchema,
    "Nothing has been published yet (not_published), or the registry is unavailable and this "
    "host holds no copy (unavailable); try again after Retry-After seconds.",
)
RETRY_AFTER = "5"  # seconds: the publisher publishes what is owed within a second or two

Answer = tuple[int, list[tuple[str, str]], bytes]


class PublicFiles:
    """Which published file a public path names, and the answer to a GET of it."""

    def __init__(
        self,
        published: PublishedFiles,
        issuer: Issuer,
        trust_max_age: int,
        status_max_age: int,
        root_max_age: int,
    ) -> None:
        self.published = published
        self.issuer = issuer
        self._fixed = {
            TRUST_LIST_PATH: (TRUST_LIST_FILE, TRUST_MEDIA_TYPE, trust_max_age, "trust list"),
            ROOT_KEY_PATH: (ROOT_KEY_FILE, PEM_MEDIA_TYPE, root_max_age, "root key"),
        }
        self._status_max_age = status_max_age

    def warm(self) -> None:
        """Read every public file now: a host holds them all before a reader asks, and can
        serve them through a registry outage (api.issuer.published_cache)."""
        names = [relative for relative, *_rest in self._fixed.values()]
        names += [status_file(list_id) for list_id in self.issuer.config["status_lists"]]
        self.published.warm(names)

    def lookup(self, path: str) -> tuple[Snapshot | None, str, int, str] | None:
        """(current bytes or None if unpublished, media type, max-age, what) or None: not ours."""
        fixed = self._fixed.get(path)
        if fixed is not None:
            relative, media_type, max_age, what = fixed
            return self.published.get(relative), media_type, max_age, what
        if not path.startswith(STATUS_PREFIX):
            return None
        list_id = path[len(STATUS_PREFIX) :]
        if not LIST_ID.fullmatch(list_id):
            return None
        if list_id not in self.issuer.config["status_lists"]:
            self.issuer.refresh_config()  # a list added since (one stat() when unchanged)
            if list_id not in self.issuer.config["status_lists"]:
                return None
        snap = self.published.get(status_file(list_id))
        return snap, STATUS_MEDIA_TYPE, self._status_max_age, "status list"

    @staticmethod
    def answer(snap: Snapshot, media_type: str, max_age: int, if_none_match: str | None) -> Answer:
        headers = [
            ("ETag", snap.etag),
            ("Cache-Control", f"public, max-age={max_age}, must-revalidate"),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Expose-Headers", "ETag"),
            *COMMON_HEADERS,
        ]
        if etag_matches(if_none_match, snap.etag):
            return 304, headers, b""
        headers += [("Content-Type", media_type), ("Content-Length", str(len(snap.body)))]
        return 200, headers, snap.body


def _files() -> PublicFiles:
    files: PublicFiles = state().extra["public_files"]
    return files


def _serve(path: str) -> Response:
    found = _files().lookup(path)
    if found is None:
        raise ApiError(404, "not_found", "There is no status list with that id.")
    snap, media_type, max_age, what = found
    if snap is None:
        raise ApiError(
            503,
            "not_published",
            f"The {what} has not been published yet; try again later.",
            {"Retry-After": RETRY_AFTER},
        )
    status, headers, body = PublicFiles.answer(
        snap, media_type, max_age, request.headers.get("If-None-Match")
    )
    return Response(body if status == 200 else None, status=status, headers=headers)


@bp.get(TRUST_LIST_PATH)
@file_response(TRUST_MEDIA_TYPE, "The trust list (COSE_Sign1).")
@other_responses({503: _UNPUBLISHED})
def trust_list() -> Response:
    """The root-signed trust list (COSE_Sign1)."""
    return _serve(TRUST_LIST_PATH)


@bp.get(ROOT_KEY_PATH)
@file_response(PEM_MEDIA_TYPE, "PEM SubjectPublicKeyInfo.")
@other_responses({503: _UNPUBLISHED})
def root_key() -> Response:
    """The city root public key (PEM), to pin by fingerprint.

    For provisioning: compare its SHA-256 fingerprint with the one the city announced; never
    trust it blindly.
    """
    return _serve(ROOT_KEY_PATH)


@bp.get("/status/<list_id>")
@path_arguments(ListIdPathSchema)
@file_response(STATUS_MEDIA_TYPE, "The status list token.")
@other_responses({404: (ErrorSchema, "No status list with that id."), 503: _UNPUBLISHED})
def status_list(list_id: str) -> Response:
    """A Token Status List (CWT)."""
    return _serve(request.path)


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_REASONS = {200: "200 OK", 304: "304 Not Modified"}


class FastPath:
    """WSGI middleware: answers GET/HEAD of the public files without going through Flask."""

    def __init__(self, app: WsgiApp, files: PublicFiles) -> None:
        self.app = app
        self.files = files

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "GET" or method == "HEAD":
            try:
                found = self.files.lookup(environ.get("PATH_INFO", ""))
            except Exception:  # let Flask try, and answer any error as JSON
                found = None
            snap = found[0] if found is not None else None
            if found is not None and snap is not None:
                _snap, media_type, max_age, _what = found
                status, headers, body = PublicFiles.answer(
                    snap, media_type, max_age, environ.get("HTTP_IF_NONE_MATCH")
                )
                start_response(_REASONS[status], headers)
                return [body] if method == "GET" and body else []
        return self.app(environ, start_response)
