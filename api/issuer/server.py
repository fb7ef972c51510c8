"""The city's issuer API: a Flask app factory, its configuration, and JSON errors.

    app = create_app(load_config(Path("/srv/citycard/issuer")))

`citycard-api serve --dir DIR` runs it under waitress. Every answer that is not a success is
JSON `{"code": ..., "message": ...}` (never a traceback), except under /lost and /desk/, whose
errors are pages in the page's language (api.issuer.page_errors); the routes are in
api.issuer.routes_public, api.issuer.routes_kiosk, api.issuer.routes_revocation and
api.issuer.routes_health (GET /health, for load balancers); their
schemas (api.issuer.schemas) validate the requests and shape the answers, and APIFairy writes
`/openapi.json` from them (api.issuer.openapi). Every answer carries strict security headers
(routes_public.COMMON_HEADERS); pages mounted beside the API set their own policy first.

Publishing: the public files are served from the registry, as the one publisher kept them
(api.issuer.published_cache), never signed by a request. The app runs a publisher thread
(api.issuer.publishing) that takes the publisher lock if it is free, publishes what a killed
process left owed, then publishes each status change within a second; `issuer.close()` stops it.

Configuration: `DIR/server.toml` (every key optional)

    [server]
    host = "127.0.0.1"          # citycard-api serve --host overrides
    port = 8080                 # --port overrides
    threads = 8                 # waitress worker threads
    proxy_hops = 0              # reverse proxies in front that set X-Forwarded-For; then
                                # the port must be reachable from the proxy only
    max_body = 65536            # largest request body, bytes
    fast_path = true            # answer the public files in front of Flask (same bytes)
    publisher = true            # sign and publish here when this process holds the lock
    [database]
    url = "postgresql://citycard@db.internal/citycard"   # or CITYCARD_DATABASE_URL
    [cache]
    trust_list_max_age = 300    # Cache-Control max-age, seconds
    status_list_max_age = 60
    root_key_max_age = 86400
    status_refresh = 1800       # the publisher re-signs lists this old (default: ttl / 2)
    [kiosk]
    clock_skew = 300            # accepted difference between a kiosk's clock and ours
    [self_revocation]
    number_burst = 5            # attempts per document number, then number_per_hour
    number_per_hour = 5.0
    address_burst = 20          # attempts per client network, then address_per_hour
    address_per_hour = 60.0
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from cardio import codes
from cardio.errors import CitycardError
from cardio.web_errors import ApiError

from . import (
    desk,
    oid4vci,
    openapi,
    page_errors,
    routes_health,
    routes_kiosk,
    routes_lost,
    routes_public,
    routes_revocation,
    routes_wallet,
)
from .published_cache import PublishedFiles
from .publishing import PublisherWorker
from .ratelimit import TokenBuckets
from .registry import DATABASE_ENV, SERVER_TOML, RegistryError
from .service import Issuer
from .web import EXTENSION, ApiState, validation_message

log = logging.getLogger("citycard.api")

# werkzeug's HTTP errors, as codes and sentences of our own.
OAUTH_PATHS = ("/oid4vci/",)  # the OpenID4VCI token, nonce and credential endpoints
_HTTP_ERRORS = {
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "There is nothing at this address; /openapi.json lists the API."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the request body as application/json."),
}


class ConfigError(CitycardError):
    """server.toml or the environment holds a setting that cannot be used."""


@dataclass(frozen=True)
class ServerConfig:
    directory: Path
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    proxy_hops: int = 0
    max_body: int = 64 * 1024
    fast_path: bool = True
    publisher: bool = True
    trust_list_max_age: int = 300
    status_list_max_age: int = 60
    root_key_max_age: int = 86400
    status_refresh: int | None = None
    clock_skew: int = 300
    number_burst: int = 5
    number_per_hour: float = 5.0
    address_burst: int = 20
    address_per_hour: float = 60.0


# TOML section -> keys it may hold (each a ServerConfig field, except database.url).
_SECTIONS = {
    "server": ("host", "port", "threads", "proxy_hops", "max_body", "fast_path", "publisher"),
    "database": ("url",),
    "cache": ("trust_list_max_age", "status_list_max_age", "root_key_max_age", "status_refresh"),
    "kiosk": ("clock_skew",),
    "self_revocation": ("number_burst", "number_per_hour", "address_burst", "address_per_hour"),
}


def load_config(directory: Path, **overrides: Any) -> ServerConfig:
    """Settings from DIR/server.toml and the environment, then `overrides` (None = unset)."""
    directory = Path(directory)
    values: dict[str, Any] = {}
    path = directory / SERVER_TOML
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file.") from exc
        for section, table in data.items():
            if section not in _SECTIONS or not isinstance(table, dict):
                raise ConfigError(
                    f"{path}: unknown section [{section}]; use {', '.join(_SECTIONS)}."
                )
            for key, value in table.items():
                if key not in _SECTIONS[section]:
                    raise ConfigError(f"{path}: [{section}] has no setting {key!r}.")
                values["database_url" if section == "database" else key] = value
    if os.environ.get(DATABASE_ENV):
        values["database_url"] = os.environ[DATABASE_ENV]
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = ServerConfig(directory=directory)
    types = {f.name: f.type for f in fields(ServerConfig)}
    for key, value in values.items():
        if key not in types:
            raise ConfigError(f"There is no server setting {key!r}.")
        expected = str(types[key])
        ok = (
            isinstance(value, bool)
            if expected == "bool"
            else (isinstance(value, str) and value != "")
            if "str" in expected
            else (isinstance(value, int | float) and not isinstance(value, bool) and value >= 0)
            if "float" in expected
            else (type(value) is int and value >= 0)
        )
        if not ok:
            raise ConfigError(f"The server setting {key!r} has an unusable value {value!r}.")
        config = replace(config, **{key: value})
    if not 1 <= config.threads <= 256 or not 0 <= config.port <= 65535:
        raise ConfigError("threads must be 1 to 256 and port 0 to 65535.")
    if config.number_burst < 1 or config.address_burst < 1:
        raise ConfigError("The self-revocation bursts must be at least 1.")
    if config.number_per_hour <= 0 or config.address_per_hour <= 0:
        raise ConfigError("The self-revocation refill rates must be positive.")
    return config


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "message": message}
    if has_request_context() and request.path.startswith(OAUTH_PATHS):
        # An OAuth client reads `error` (RFC 6749 section 5.2), also on a throttled or too
        # large request, which is answered here and not by the blueprint's own handler.
        body["error"] = "invalid_request" if status < 500 else "server_error"
        body["error_description"] = message
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def create_app(
    config: ServerConfig | Path,
    issuer: Issuer | None = None,
    pages: Iterable[Blueprint] = (),
) -> Flask:
    """The issuer API for one issuer directory (`config.directory`), with `pages` (blueprints
    of static pages, such as the phone pages) mounted beside it."""
    if not isinstance(config, ServerConfig):
        config = load_config(Path(config))
    own = issuer is None
    issuer = issuer or Issuer(config.directory, config.database_url)
    try:
        issuer.registry  # noqa: B018 - open the database now: a bad URL fails at start, not per request
        # Likewise the files requests need later (pepper, lock, keys): refused now with a
        # sentence, not a 500 on every lost-card report.
        issuer.cards.config.check_files()
        issuer.keys.check_files()
    except BaseException:
        if own:
            issuer.close()
        raise
    codes.prepare()  # so that the first self-revocation takes as long as every other
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body
    app.json.sort_keys = True  # type: ignore[attr-defined]
    served = issuer
    published = PublishedFiles(lambda: served.registry, config.directory / "public")
    files = routes_public.PublicFiles(
        published, issuer, config.trust_list_max_age, config.status_list_max_age, config.root_key_max_age
    )
    worker = PublisherWorker(issuer, config.status_refresh)
    if config.publisher:
        try:  # publish now whatever a killed process left owed, before the first request
            worker.catch_up()
        except CitycardError as exc:  # a key store away: serve what there is; the thread retries
            log.error("could not publish at start-up; the publisher thread will retry: %s", exc)
        except Exception:  # unexpected: the traceback finds the bug
            log.exception("could not publish at start-up; the publisher thread will retry")
        worker.start()
        issuer.on_close(worker.stop)
    try:  # after the catch-up: what it published is what this host holds
        files.warm()
    except RegistryError as exc:  # a moment's outage: the first requests read them instead
        log.warning("could not read the public files at start-up: %s", exc)
    app.extensions[EXTENSION] = ApiState(
        config=config,
        issuer=issuer,
        published=published,
        per_number=TokenBuckets(config.number_burst, config.number_per_hour),
        per_address=TokenBuckets(config.address_burst, config.address_per_hour),
        extra={"public_files": files, "publisher": worker},
    )
    if config.fast_path:
        app.wsgi_app = routes_public.FastPath(app.wsgi_app, files)  # type: ignore[method-assign]
    if config.proxy_hops:
        # X-Forwarded-For: each proxy appends, so the client is proxy_hops from the right.
        # X-Forwarded-Proto: nginx (deploy/nginx) overwrites it with the one scheme it saw,
        # so there is one value whatever is in front; x_proto=2 would ignore it (http).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.proxy_hops, x_proto=1
        )
    app.register_blueprint(routes_public.bp)
    app.register_blueprint(routes_health.bp)  # GET /health, for load balancers
    app.register_blueprint(routes_kiosk.bp)
    app.register_blueprint(routes_revocation.bp)
    app.register_blueprint(routes_lost.bp)  # the holder's lost-card page (HTML)
    app.register_blueprint(desk.bp)  # the service desk (HTML, docs/service-desk.md)
    app.register_blueprint(routes_wallet.bp)  # wallet pickups (docs/wallet.md)
    app.register_blueprint(oid4vci.bp)  # OpenID4VCI for standard wallets (docs/wallet.md)
    fairy = openapi.init_app(app)

    @fairy.error_handler  # type: ignore[untyped-decorator]
    def invalid_request(status: int, messages: Any) -> Response:
        # A body or path that does not fit its schema: our JSON error, one sentence.
        return _error(status, "bad_request", validation_message(messages))

    for page in pages:  # static pages hosted beside the API (the phone pages, api/cli.py)
        app.register_blueprint(page)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = _HTTP_ERRORS.get(
            status, (f"http_{status}", "The request could not be handled.")
        )
        headers = {}
        if status == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        return page_errors.error_page(status, headers) or _error(status, code, message, headers)

    @app.errorhandler(RegistryError)
    def registry_error(exc: RegistryError) -> Response:
        log.error("registry unavailable: %s", exc)
        retry = {"Retry-After": "60"}
        return page_errors.error_page(503, retry) or _error(
            503,
            "unavailable",
            "The registry is unavailable; try again in a minute.",
            retry,
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # The traceback goes to the log (it holds no request body); the client gets a sentence.
        log.exception("unexpected error on %s %s", request.method, request.url_rule)
        return page_errors.error_page(500) or _error(
            500, "internal_error", "The server failed to handle the request; try again."
        )

    @app.after_request
    def security_headers(response: Response) -> Response:
        # Answers Flask makes itself under /lost and /desk/ (the 308 from /desk, OPTIONS) get
        # the pages' full set (COOP, HSTS, the page policy), as every page and redirect has.
        page_errors.add_page_headers(response)
        for name, value in routes_public.COMMON_HEADERS:
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
