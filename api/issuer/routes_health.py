"""GET /health: whether this issuer host can serve and issue, for a load balancer and a person.

    200 {"status": "ok" | "degraded", "database": "ok", "schema": {"current", "expected"},
         "publisher": true | false, "last_published_age_seconds", "oldest_status_list_age_seconds",
         "warnings": [...]}
    503 the same, with "status": "unavailable" and the API's {"code", "message"}: the registry
        cannot be read (`unavailable`), or its schema is not the one this version needs
        (`schema_not_current`: a newer version migrated it, or `db upgrade` was not run)

`publisher` says whether this host holds the publisher lock (the one that signs, and whose
DIR/public a static server should follow). `degraded` is still 200, since the host serves and
issues: a status list not published yet, or older than the publisher's re-signing age plus a
margin, which means no host is publishing. No personal data, no database address (the log has
it). The answer is kept for a second: a load balancer polling every host often costs the
registry one small read a second, not one per poll. While one request asks the registry the
others get the kept answer, but only for HANG_SECONDS: a check still running after that means
the database does not answer (a hung server or a dropped route), and every poll says 503
`unavailable` until a check comes back. A change of status is logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache
from typing import Any

from flask import Blueprint

from .publisher import status_file
from .registry import RegistryError, migrate, publication_queries
from .schemas import HealthSchema
from .web import other_responses, response, state

bp = Blueprint("health", __name__)
log = logging.getLogger("citycard.api.health")

CACHE_SECONDS = 1.0
# A check of one small read still running after this long: the database does not answer. Far
# above a healthy read (milliseconds), well below a load balancer's patience.
HANG_SECONDS = 5.0
# Beyond the publisher's re-signing age: it looks every second, a new holder takes the lock
# within seconds; five minutes more means no host is publishing.
STALE_MARGIN_SECONDS = 300
RETRY_AFTER = "60"
_KEPT = "health_answer"  # (monotonic time, body, status) in the app's state
_LOCK = "health_lock"
_STARTED = "health_check_started"  # monotonic start of the check in flight, None between checks
monotonic = time.monotonic  # the tests move their own clock


@cache
def expected_revision() -> str:
    return migrate.head()


def _registry() -> tuple[str | None, dict[str, tuple[int, int]], str | None]:
    """(schema revision, published file -> (version, published_at), why unreadable)."""
    try:
        with state().issuer.registry.read() as s:
            current = migrate.current_revision(s.connection())
            versions = publication_queries.file_versions(s) if current == expected_revision() else {}
    except RegistryError as exc:
        return None, {}, str(exc)
    return current, versions, None


def _warnings(versions: dict[str, tuple[int, int]], now: int) -> tuple[list[str], int | None]:
    """Sentences for what is getting old or is missing, and the oldest status list's age."""
    st = state()
    limit = st.extra["publisher"].refresh + STALE_MARGIN_SECONDS
    st.issuer.refresh_config()  # a list added since (one stat() when unchanged)
    warnings: list[str] = []
    oldest: int | None = None
    for list_id in st.issuer.config["status_lists"]:
        kept = versions.get(status_file(list_id))
        if kept is None:
            warnings.append(
                f"Status list {list_id} has not been published yet; check the log of the host "
                "that holds the publisher lock (publisher: true)."
            )
            continue
        age = max(0, now - kept[1])
        oldest = age if oldest is None else max(oldest, age)
        if age > limit:
            warnings.append(
                f"Status list {list_id} was last signed {age // 60} minutes ago: no host is "
                "publishing; check that one host runs with publisher = true, and its log."
            )
    return warnings, oldest


def _answer(now: int) -> tuple[dict[str, Any], int, str | None]:
    """(body, HTTP status, why the registry cannot be used: for the log only)."""
    current, versions, error = _registry()
    expected = expected_revision()
    body: dict[str, Any] = {
        "database": "ok" if error is None else "unavailable",
        "schema": {"current": current, "expected": expected},
        "publisher": bool(state().extra["publisher"].leader),
        "last_published_age_seconds": None,
        "oldest_status_list_age_seconds": None,
        "warnings": [],
    }
    if error is not None:
        message = (
            "The registry database cannot be read; see this host's log, and check that the "
            "database runs and that this host may reach it."
        )
        return {**body, "status": "unavailable", "code": "unavailable", "message": message}, 503, error
    if current != expected:
        message = (
            f"The registry's schema is at revision {current}, this version needs {expected}: "
            "run 'citycard-api db upgrade' with this version, or run the version that migrated it."
        )
        return (
            {**body, "status": "unavailable", "code": "schema_not_current", "message": message},
            503,
            message,
        )
    if versions:
        body["last_published_age_seconds"] = max(0, now - max(at for _v, at in versions.values()))
    body["warnings"], body["oldest_status_list_age_seconds"] = _warnings(versions, now)
    body["status"] = "degraded" if body["warnings"] else "ok"
    return body, 200, None


def _hung(waited: float, kept: tuple[float, dict[str, Any], int] | None) -> dict[str, Any]:
    """The 503 while a check has been waiting on the registry for `waited` seconds."""
    schema = kept[1]["schema"] if kept is not None else {"current": None}
    return {
        "status": "unavailable",
        "code": "unavailable",
        "message": (
            f"The registry database does not answer (a check has waited {int(waited)} seconds); "
            "see this host's log, and check that the database runs and that this host may "
            "reach it."
        ),
        "database": "unavailable",
        "schema": {"current": schema["current"], "expected": expected_revision()},
        "publisher": bool(state().extra["publisher"].leader),
        "last_published_age_seconds": None,
        "oldest_status_list_age_seconds": None,
        "warnings": [],
    }


def _keep(body: dict[str, Any], status: int, why: str | None) -> None:
    """Keep an answer for CACHE_SECONDS, and log it when the status changed."""
    st = state()
    kept = st.extra.get(_KEPT)
    before = kept[1]["status"] if kept is not None else "ok"
    if body["status"] != before:  # one line per change, not one per poll
        log.warning("health: this host is now %s%s", body["status"], f" ({why})" if why else "")
    st.extra[_KEPT] = (monotonic(), body, status)


def _current() -> tuple[dict[str, Any], int]:
    """The answer kept for CACHE_SECONDS; while one request asks the registry, the others
    get the kept answer rather than queue behind a database that may hang, for HANG_SECONDS;
    then 503."""
    st = state()
    lock: threading.Lock = st.extra.setdefault(_LOCK, threading.Lock())
    kept = st.extra.get(_KEPT)
    if kept is not None and monotonic() - kept[0] < CACHE_SECONDS:
        return kept[1], kept[2]
    if not lock.acquire(blocking=False):  # another request is asking the registry
        started = st.extra.get(_STARTED)
        waited = 0.0 if started is None else max(0.0, monotonic() - started)
        if kept is not None and waited < HANG_SECONDS:
            return kept[1], kept[2]
        # None kept yet: wait for the first check while its answer may still come.
        if kept is not None or not lock.acquire(timeout=max(0.0, HANG_SECONDS - waited)):
            body = _hung(waited, kept)
            _keep(body, 503, f"a registry check has waited {int(waited)} seconds")
            return body, 503
        kept = st.extra.get(_KEPT)
        if kept is not None:
            lock.release()
            return kept[1], kept[2]
    try:  # this request holds the lock: it asks the registry
        st.extra[_STARTED] = monotonic()
        body, status, why = _answer(int(time.time()))
        _keep(body, status, why)
    finally:
        st.extra[_STARTED] = None
        lock.release()
    return body, status


@bp.get("/health")
@response(HealthSchema, 200, "This host serves and issues (status ok or degraded).")
@other_responses(
    {503: (HealthSchema, "The registry cannot be read, or its schema is not this version's.")}
)
def health() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Whether this host can serve and issue: database, schema, publisher lock, list ages."""
    body, status = _current()
    return body, status, {"Retry-After": RETRY_AFTER} if status == 503 else {}
