"""Trust sync: a reader terminal keeps its trust list and status lists fresh from the city API.

    GET <api>/.well-known/citycard/trust-list     the root-signed trust list (COSE)
    GET <api>/status/<id>                         one Token Status List per list id
    GET <api>/.well-known/citycard/root-key       the root key, only to pin it by fingerprint

Every request carries If-None-Match with the ETag of the copy held, so an unchanged list
costs a 304 and no bytes. A trust list is accepted only through `TrustCache` (signed by the
pinned root, never an older version); a status list only through `Verifier.add_status_list`
(signed by a status key of that trust list, never older than the one held, never dated beyond
the clock skew ahead; a held copy dated that far ahead is set aside). Good copies are
kept on disk with atomic writes, in the layout of `cardio.published`, so a restarted
terminal verifies at once, API or not. Each sync builds a new `Verifier` and swaps it in
whole: a tap never sees half a sync.

Failures (the API down, an error status, a list refused) leave the last good copies in use
and retry with exponential backoff and jitter, bounded by `max_backoff`. A status list older
than the policy's maximum age puts a warning on every verdict (`warnings()`).

The terminal's own clock: every answer of the city API carries its `Date`; when the terminal's
clock differs from it by more than the clock skew (or, offline, when the lists were last
refreshed "in the future", or a genuine list is dated ahead of it), `clock_wrong()` is true and
the warnings say to check the clock. A held list refused only because the terminal's clock is
behind is kept on disk (it is fine once the clock is); one dated ahead of the city's own clock
too is set aside.

Warnings are `FilledSentence`s (`cardio.sentences`): English strings that keep their template and parameters, so
that a screen can translate the template and fill in the parameters in its own language.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from cardio.errors import CitycardError, KeyStoreError, StatusListError, TrustListError
from cardio.files import write_atomic
from cardio.keys import fingerprint, load_public_pem
from cardio.published import (
    ROOT_KEY_FILE,
    STATUS_DIR,
    STATUS_SUFFIX,
    TRUST_LIST_FILE,
    read_root_key,
)
from cardio.sentences import FilledSentence
from cardio.statuslist import DEFAULT_MAX_TOKEN, FutureStatusListError
from cardio.trustlist import MAX_TRUST_LIST, TrustCache, TrustList
from cardio.verdict import Verdict
from cardio.verify import Policy, Verifier

log = logging.getLogger(__name__)

TRUST_LIST_PATH = "/.well-known/citycard/trust-list"
ROOT_KEY_PATH = "/.well-known/citycard/root-key"
STATUS_PATH = "/status/"
STATE_FILE = "sync.json"
NO_TRUST_LIST = "This reader has no trust list; connect it to the city API before accepting cards."
NO_STATUS_LIST = "The reader has no revocation list %(list)s; connect the reader to refresh it."
STALE_STATUS_LIST = Verdict.STALE_STATUS.sentence + " (Revocation list %(list)s was issued %(ago)s.)"
CLOCK_WRONG = (
    "Check this terminal's clock (date, time and time zone): it does not agree with the "
    "city's, so verdicts may be wrong."
)
WARNING_TEMPLATES = (NO_TRUST_LIST, NO_STATUS_LIST, STALE_STATUS_LIST, CLOCK_WRONG)
"""Every warning `TrustSync.warnings` gives, as templates (a terminal's catalogues hold them)."""
MAX_ROOT_KEY = 16 * 1024
_LIST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


class SyncError(CitycardError):
    """One sync step failed (API unreachable, error status, oversized answer)."""


def list_id(uri: str) -> str | None:
    """The status list id of a trust list URI (its last path segment), if it is a safe name."""
    path = urllib.parse.urlsplit(uri).path
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last if _LIST_ID.match(last) else None


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": after n failures in a row, a delay drawn from
    [d/2, d] with d = min(maximum, initial * factor**(n-1)); never above `maximum`."""

    initial: float = 5.0
    maximum: float = 900.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum or self.factor < 1:
            raise ValueError("Backoff needs 0 < initial <= maximum and factor >= 1.")

    def failure(self) -> float:
        """Count one more failure; the delay before the next attempt."""
        self.failures += 1
        step = min(self.maximum, self.initial * self.factor ** min(self.failures - 1, 64))
        return step / 2 + self.rng.uniform(0, step / 2)

    def success(self) -> None:
        self.failures = 0


@dataclass(frozen=True)
class SyncReport:
    """What one sync did. `ok` is False when anything failed (the old copies stay in use)."""

    ok: bool
    trust_version: int | None
    trust_updated: bool = False
    updated_lists: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()  # status list ids the API answered 304 for
    problems: tuple[str, ...] = ()
    not_modified: tuple[str, ...] = ()  # every path answered 304 (If-None-Match matched)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    etag: str | None
    date: float | None = None  # the API's clock (its Date header) when it answered


def _date(headers: Any) -> float | None:
    """The API's clock when it answered: its `Date`, plus the `Age` a cache in between adds."""
    value = headers.get("Date") if headers is not None else None
    try:
        date = parsedate_to_datetime(value).timestamp() if value else None
        age = headers.get("Age") if date is not None else None
        return date + int(age) if date is not None and age and str(age).isdigit() else date
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def pinned_root_key(
    store: Path,
    root_fingerprint: str | None = None,
    api_url: str | None = None,
    root_key_path: Path | None = None,
    timeout: float = 10.0,
) -> ec.EllipticCurvePublicKey:
    """The city root key this reader trusts, checked against its fingerprint when one is given.

    Taken from `root_key_path` or `<store>/root-key.pem`. A reader without one, set up with
    the fingerprint and the API address, fetches the key once from the API, keeps it only if
    its fingerprint matches, and stores it: from then on it is pinned.
    """
    expected = (
        root_fingerprint.replace(":", "").replace(" ", "").upper() if root_fingerprint else None
    )
    path = root_key_path or store / ROOT_KEY_FILE
    if path.exists():
        # Bounded and regular files only: a device or FIFO given as the key must not hang us.
        key = read_root_key(path)
        if expected and fingerprint(key) != expected:
            raise TrustListError(
                f"The root key in {path} has fingerprint {fingerprint(key)}, not the pinned "
                f"{expected}; do not use this reader until a technician sets it up again."
            )
        return key
    if not (expected and api_url):
        raise TrustListError(
            f"This reader has no city root key ({path}); copy the city's root-key.pem there, "
            "or give the API address and the root key fingerprint to fetch and pin it."
        )
    answer = _http_get(api_url.rstrip("/") + ROOT_KEY_PATH, None, timeout, MAX_ROOT_KEY)
    try:
        key = load_public_pem(answer.body)
    except KeyStoreError as exc:
        raise TrustListError(f"The city API's root key cannot be read ({exc}).") from exc
    if fingerprint(key) != expected:
        raise TrustListError(
            f"The city API offered a root key with fingerprint {fingerprint(key)}, not the "
            f"expected {expected}; it was refused. Check the API address and the fingerprint."
        )
    write_atomic(path, answer.body)
    log.info("pinned the city root key %s", expected)
    return key


def _http_get(url: str, etag: str | None, timeout: float, limit: int) -> _Answer:
    try:
        # Built inside: urllib refuses an address it cannot parse ("not a url", "http://[::1")
        # with a bare ValueError here, which must become a SyncError like any other failure.
        request = urllib.request.Request(url, headers={"User-Agent": "citycard-reader"})
        if etag:
            request.add_header("If-None-Match", etag)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(limit + 1)
            if len(body) > limit:
                raise SyncError(f"The city API sent more than {limit} bytes for {url}; refused.")
            headers = response.headers
            return _Answer(response.status, body, headers.get("ETag"), _date(headers))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return _Answer(304, b"", etag, _date(exc.headers))
        raise SyncError(
            f"The city API answered {exc.code} for {url}; the reader keeps its last lists."
        ) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SyncError(
            f"The city API at {url} cannot be reached ({reason}); the reader keeps its last lists."
        ) from exc


class TrustSync:
    """The terminal's trust material: pinned root, cached lists on disk, a current Verifier."""

    def __init__(
        self,
        store: Path,
        root_key: ec.EllipticCurvePublicKey,
        api_url: str | None = None,
        *,
        policy: Policy | None = None,
        interval: float = 15.0,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.store = Path(store)
        self.root_key = root_key
        self.api_url = api_url.rstrip("/") if api_url else None
        self.policy = policy or Policy()
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.clock = clock
        self.on_change = on_change
        self.last_attempt: float | None = None
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.next_attempt: float | None = None
        self.last_report: SyncReport | None = None
        self._logged_problems = ""
        self._lock = threading.Lock()  # one sync at a time
        self._swap_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._etags: dict[str, str] = {}
        self._raw_status: dict[str, bytes] = {}
        self._problems: tuple[str, ...] = ()
        self._api_clock: tuple[float, float] | None = None  # (API Date, time.monotonic() then)
        self._ahead: frozenset[str] = frozenset()  # list ids last refused as dated ahead of us
        try:
            self._cache = TrustCache(root_key, self.store)
        except TrustListError as exc:  # a damaged or foreign copy on disk: set it aside, resync
            bad = self.store / TRUST_LIST_FILE
            try:
                bad.replace(bad.with_name(bad.name + ".refused"))
            except OSError as err:
                raise TrustListError(
                    f"The stored trust list {bad} cannot be used and cannot be set aside "
                    f"({err.strerror or err}); delete it, then start the reader again."
                ) from err
            log.warning("the stored trust list was refused and set aside: %s", exc)
            self._cache = TrustCache(root_key, self.store)
        self._verifier: Verifier | None = None
        self._load_state()
        self._load_from_disk()

    # -- what the terminal uses -----------------------------------------------------------------

    @property
    def verifier(self) -> Verifier | None:
        """The current verifier (None until a first trust list was accepted)."""
        with self._swap_lock:
            return self._verifier

    @property
    def trust_list(self) -> TrustList | None:
        return self._cache.current

    @property
    def problems(self) -> tuple[str, ...]:
        """Sentences about lists refused when the verifier was last built."""
        return self._problems

    def clock_offset(self, now: float | None = None) -> float | None:
        """Seconds the city API's clock is ahead of this terminal's (None: no answer yet)."""
        if self._api_clock is None:
            return None
        date, then = self._api_clock
        return date + (time.monotonic() - then) - (self.clock() if now is None else now)

    def clock_wrong(self, now: float | None = None) -> bool:
        """Whether this terminal's clock is off by more than the clock skew: measured against
        the city API's Date when it has answered; else (offline) judged from what is held: the
        lists were last refreshed "in the future", or a genuine list is dated ahead of it."""
        now = self.clock() if now is None else now
        skew = self.policy.clock_skew
        offset = self.clock_offset(now)
        if offset is not None:
            return abs(offset) > skew
        if self.last_success is not None and self.last_success > now + skew:
            return True
        return bool(self._ahead)

    def _clock_agrees(self) -> bool:
        offset = self.clock_offset()
        return offset is not None and abs(offset) <= self.policy.clock_skew

    def warnings(self, now: float | None = None) -> list[str]:
        """Warnings that go on every verdict: no lists, status lists older than the policy, a
        clock that does not agree with the city's (`FilledSentence`s)."""
        now = self.clock() if now is None else now
        verifier = self.verifier
        clock_wrong = self.clock_wrong(now)
        out: list[str] = [FilledSentence(CLOCK_WRONG)] if clock_wrong else []
        if verifier is None:
            return [FilledSentence(NO_TRUST_LIST), *out]
        held = verifier.status_lists
        for uri in verifier.trust.status_lists:
            token = held.get(uri)
            name = list_id(uri) or uri
            if token is None:
                if not (clock_wrong and name in self._ahead):  # else the clock is the reason
                    out.append(FilledSentence(NO_STATUS_LIST, {"list": name}))
                continue
            age = now - token.iat
            if age > self.policy.max_status_age or (token.exp is not None and now > token.exp):
                out.append(FilledSentence(STALE_STATUS_LIST, {"list": name}, {"ago": age}))
        return out

    def status(self, now: float | None = None) -> dict[str, Any]:
        """A summary for the staff screen and the logs (no personal data)."""
        now = self.clock() if now is None else now
        verifier = self.verifier
        lists = {}
        if verifier is not None:
            for uri, token in verifier.status_lists.items():
                lists[list_id(uri) or uri] = {"iat": token.iat, "age": int(now - token.iat)}
        trust = self.trust_list
        return {
            "api": self.api_url,
            "trust_version": trust.version if trust else None,
            "status_lists": lists,
            "last_success": self.last_success,
            "last_attempt": self.last_attempt,
            "last_error": self.last_error,
            "next_attempt": self.next_attempt,
            "failures": self.backoff.failures,
            "clock_wrong": self.clock_wrong(now),
            "clock_offset": None if (offset := self.clock_offset(now)) is None else round(offset),
            # what the last sync found unchanged (answered 304): a cheap poll, no bytes
            "not_modified": list(self.last_report.not_modified) if self.last_report else [],
        }

    # -- disk -----------------------------------------------------------------------------------

    def _status_path(self, lid: str) -> Path:
        return self.store / STATUS_DIR / f"{lid}{STATUS_SUFFIX}"

    def _load_state(self) -> None:
        try:
            state = json.loads((self.store / STATE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(state, dict):
            etags = state.get("etags")
            if isinstance(etags, dict):
                self._etags = {str(k): str(v) for k, v in etags.items()}
            last = state.get("last_success")
            if isinstance(last, int | float):
                self.last_success = float(last)

    def _save_state(self) -> None:
        state = {"etags": self._etags, "last_success": self.last_success}
        write_atomic(self.store / STATE_FILE, json.dumps(state, sort_keys=True).encode() + b"\n")

    def _load_from_disk(self) -> None:
        status_dir = self.store / STATUS_DIR
        if status_dir.is_dir():
            for path in sorted(status_dir.glob(f"*{STATUS_SUFFIX}")):
                lid = path.name[: -len(STATUS_SUFFIX)]
                if _LIST_ID.match(lid):
                    self._raw_status[lid] = path.read_bytes()
        if self._cache.current is not None:
            self._rebuild(self._cache.current, {})

    def _set_aside(self, lid: str) -> None:
        """Forget a held list that must not be used (nor block the next one): its copy on
        disk is renamed `.refused` and its ETag dropped, so the next sync fetches it whole."""
        self._raw_status.pop(lid, None)
        self._etags.pop(f"status/{lid}", None)
        path = self._status_path(lid)
        try:
            path.replace(path.with_name(path.name + ".refused"))
        except OSError as exc:
            log.warning("the refused revocation list %s could not be set aside: %s", lid, exc)

    def _rebuild(self, trust: TrustList, fetched: dict[str, tuple[bytes, str | None]]) -> list[str]:
        """Build a verifier from the held and newly fetched status lists, then swap it in.

        Returns sentences about refused lists. A fetched list that is accepted replaces the
        held copy on disk (and its ETag is kept); a refused one changes nothing.
        """
        problems: list[str] = []
        now = self.clock()
        verifier = Verifier(trust, self.policy)
        ahead: set[str] = set()
        wanted = {lid for uri in trust.status_lists if (lid := list_id(uri)) is not None}
        for lid in sorted(wanted | set(self._raw_status)):
            held = self._raw_status.get(lid)
            ahead_held: str | None = None  # a problem unless the API's copy replaces it now
            if held is not None:
                try:
                    verifier.add_status_list(held, now)
                except FutureStatusListError as exc:
                    ahead.add(lid)
                    if self._clock_agrees():  # dated ahead of the city's clock too: the list's fault
                        ahead_held = f"Held revocation list {lid}: {exc} It was set aside."
                        self._set_aside(lid)
                        log.warning("%s", ahead_held)
                    else:  # maybe only our clock: keep the copy, but fetch the list whole again
                        ahead_held = f"Held revocation list {lid}: {exc}"
                        self._etags.pop(f"status/{lid}", None)
                    held = None
                except CitycardError as exc:
                    if lid in wanted:
                        problems.append(f"Held revocation list {lid}: {exc}")
            new = fetched.get(lid)
            if new is None:
                problems += [ahead_held] if ahead_held else []
                continue
            data, etag = new
            try:
                verifier.add_status_list(data, now)
            except StatusListError as exc:
                if isinstance(exc, FutureStatusListError):
                    ahead.add(lid)
                problems += [ahead_held] if ahead_held else []
                problems.append(f"Revocation list {lid} from the API: {exc}")
                continue
            ahead.discard(lid)
            if data != held:
                write_atomic(self._status_path(lid), data)
                self._raw_status[lid] = data
            if etag:
                self._etags[f"status/{lid}"] = etag
        with self._swap_lock:
            self._verifier = verifier
        self._problems = tuple(problems)
        self._ahead = frozenset(ahead)
        return problems

    # -- syncing --------------------------------------------------------------------------------

    def _get(self, path: str, key: str, have_copy: bool, limit: int) -> _Answer:
        assert self.api_url is not None
        etag = self._etags.get(key) if have_copy else None
        answer = _http_get(self.api_url + path, etag, self.timeout, limit)
        if answer.date is not None:
            self._api_clock = (answer.date, time.monotonic())
        return answer

    def sync_once(self) -> SyncReport:
        """Fetch the trust list and the status lists once. Never raises for network trouble."""
        with self._lock:
            report = self._sync()
        now = self.clock()
        self.last_attempt = now
        self.last_report = report
        if report.ok:
            self.last_success = now
            self.last_error = None
            self.backoff.success()
        else:
            self.last_error = report.problems[0] if report.problems else "sync failed"
        try:
            self._save_state()
        except OSError as exc:
            log.warning("the sync state could not be saved: %s", exc)
        # Polled every few seconds: an outage is logged when it starts or changes, not per try.
        problems = " | ".join(report.problems)
        if problems and problems != self._logged_problems:
            log.warning("trust sync: %s", problems)
        elif not problems and self._logged_problems:
            log.info("trust sync: the lists are refreshed again")
        self._logged_problems = problems
        if self.on_change is not None:
            self.on_change()
        return report

    def _sync(self) -> SyncReport:
        if self.api_url is None:
            trust = self._cache.current
            return SyncReport(
                False,
                trust.version if trust else None,
                problems=(
                    "No city API address is configured; the lists on this reader are never refreshed.",
                ),
            )
        problems: list[str] = []
        not_modified: list[str] = []
        ok = True
        trust_updated = False
        before = self._cache.current
        try:
            answer = self._get(TRUST_LIST_PATH, "trust-list", before is not None, MAX_TRUST_LIST)
            if answer.status == 304:
                not_modified.append(TRUST_LIST_PATH)
            elif answer.status == 200:
                self._cache.accept(answer.body)  # pinned root, no rollback; stored atomically
                if answer.etag:
                    self._etags["trust-list"] = answer.etag
                after = self._cache.current
                trust_updated = after is not None and (
                    before is None or after.version != before.version
                )
        except (SyncError, TrustListError) as exc:
            ok = False
            problems.append(str(exc))
        trust = self._cache.current
        if trust is None:
            return SyncReport(False, None, problems=tuple(problems))

        fetched: dict[str, tuple[bytes, str | None]] = {}
        unchanged: list[str] = []
        for uri in trust.status_lists:
            lid = list_id(uri)
            if lid is None:
                problems.append(
                    f"The trust list names a status list this reader cannot fetch: {uri}"
                )
                ok = False
                continue
            try:
                answer = self._get(
                    STATUS_PATH + urllib.parse.quote(lid),
                    f"status/{lid}",
                    lid in self._raw_status,
                    DEFAULT_MAX_TOKEN,
                )
            except SyncError as exc:
                ok = False
                problems.append(str(exc))
                continue
            if answer.status == 304:
                unchanged.append(lid)
                not_modified.append(STATUS_PATH + lid)
            elif answer.status == 200:
                fetched[lid] = (answer.body, answer.etag)
        refused = self._rebuild(trust, fetched)
        if refused:
            ok = False
            problems += refused
        updated = tuple(lid for lid in fetched if self._raw_status.get(lid) == fetched[lid][0])
        return SyncReport(
            ok,
            trust.version,
            trust_updated,
            updated,
            tuple(unchanged),
            tuple(problems),
            tuple(not_modified),
        )

    # -- the background loop --------------------------------------------------------------------

    def start(self) -> None:
        """Sync now and then every `interval` seconds (backing off after failures)."""
        if self._thread is not None or self.api_url is None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="citycard-trust-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask the loop to sync at once."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.sync_once()
                delay = self.interval if report.ok else self.backoff.failure()
            except Exception as exc:  # a bug must not end the loop: back off and try again
                log.error("trust sync failed unexpectedly (%s)", type(exc).__name__)
                delay = self.backoff.failure()
            self.next_attempt = self.clock() + delay
            self._wake.wait(delay)
            self._wake.clear()

