"""The phone pages' files as a browser fetches them: gzip-compressed when it accepts that.

A venue's phone loads the verification page once (then its service worker keeps it): the
words of every language (`texts.json`, ~600 KB), the QR decoder (`jsQR.js`, ~250 KB) and the
names are text that gzip shrinks four- to sixfold, which matters on a phone's mobile data.
nginx does the same for the pages it serves itself (deploy/nginx/citycard.conf).

Each file is compressed once per version (its path, mtime and size) and kept in memory; the
compressed answer has its own strong ETag (the file's, marked `-gzip`), so a conditional
request gets 304 for either form, and `Vary: Accept-Encoding` tells caches the forms apart.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from datetime import UTC, datetime
from pathlib import Path

from flask import Response, request, send_from_directory

COMPRESSIBLE = frozenset({".js", ".json", ".css", ".html", ".svg", ".webmanifest"})
MIN_SIZE = 1024
"""Below this, compressing saves less than the header costs (nginx's gzip_min_length too)."""


@functools.lru_cache(maxsize=64)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    """`path` compressed (mtime and size key the cache: a new version is compressed anew)."""
    del mtime_ns, size
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


@functools.lru_cache(maxsize=128)
def _gzipped_text(body: bytes) -> bytes:
    """A made page compressed once: the same words are asked for again and again."""
    return gzip.compress(body, compresslevel=9, mtime=0)


def send_text(body: bytes, name: str, max_age: int) -> Response:
    """`body` (a page made for this request: its words in the browser's language) as
    `send_page` answers a file: its type from `name`, Cache-Control, a strong ETag from the
    body (so new words are a new ETag; marked `-gzip` on the compressed form) and 304,
    gzip-compressed when accepted."""
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    packed = len(body) >= MIN_SIZE and _accepts_gzip()
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(_gzipped_text(body) if packed else body, mimetype=kind)
    if packed:
        response.headers["Content-Encoding"] = "gzip"
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.set_etag(etag + ("-gzip" if packed else ""))
    response.vary.add("Accept-Encoding")
    response.make_conditional(request)  # 304 for a matching If-None-Match
    return response


def send_page(directory: Path, name: str, max_age: int) -> Response:
    """The file `name` of `directory` as `send_from_directory` answers it (Cache-Control,
    ETag, 304), gzip-compressed when the browser accepts gzip and the file is text of at
    least MIN_SIZE bytes."""
    path = directory / name
    if path.suffix not in COMPRESSIBLE:
        return send_from_directory(directory, name, max_age=max_age)
    stat = path.stat()
    if stat.st_size < MIN_SIZE or not _accepts_gzip():
        response = send_from_directory(directory, name, max_age=max_age)
    else:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(_gzipped(str(path), stat.st_mtime_ns, stat.st_size), mimetype=kind)
        response.headers["Content-Encoding"] = "gzip"
        response.cache_control.public = True
        response.cache_control.max_age = max_age
        response.last_modified = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        response.set_etag(f"{stat.st_mtime_ns:x}-{stat.st_size:x}-gzip")
        response.make_conditional(request)  # 304 for a matching If-None-Match
    response.vary.add("Accept-Encoding")
    return response
