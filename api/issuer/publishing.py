"""The one publisher while the API runs: a thread in the process that holds the publisher lock.

    worker = PublisherWorker(issuer, refresh=1800)
    worker.catch_up()      # at start-up: publish whatever a killed process left owed
    worker.start()         # then every `interval` seconds, or at once when nudged

Of all the processes serving one registry (and `citycard-api publish --watch` workers), only
the one holding the lock (api.issuer.registry.publisher_lock) signs; the others keep trying to
take it, so another takes over within seconds when the holder dies. Request handlers never
sign: a status change commits its mark, then `wait_published` nudges the local thread and
waits (bounded) until the registry shows the list published, by whichever process.

The lock holder also deletes expired wallet pickups every `pickup_sweep` seconds: requests
delete them too, but after the day's last offer no request may come, and a pickup's
ciphertext must not stay beyond its 15 minutes (docs/wallet.md).
"""

from __future__ import annotations

import logging
import threading
import time

from cardio.errors import CitycardError

from .publisher import crash_point
from .registry import RegistryError
from .registry.publisher_lock import PublisherLock
from .service import Issuer
from .wallet_pickup import PickupStore

log = logging.getLogger("citycard.api.publisher")

INTERVAL_SECONDS = 1.0  # how often the holder looks for owed lists without being nudged
LOCK_RETRY_SECONDS = 2.0  # how often a process without the lock tries to take it
WAIT_SECONDS = 5.0  # how long a status change's request waits for its list to be published
PICKUP_SWEEP_SECONDS = 10.0  # how often the holder deletes expired wallet pickups
_MAX_BACKOFF = 30.0


class PublisherWorker:
    def __init__(
        self,
        issuer: Issuer,
        refresh: int | None = None,
        interval: float = INTERVAL_SECONDS,
        lock_retry: float = LOCK_RETRY_SECONDS,
        pickup_sweep: float = PICKUP_SWEEP_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.pickups = PickupStore(lambda: issuer.registry)
        self.pickup_sweep = pickup_sweep
        self._swept_at: float | None = None  # time.monotonic() of the last sweep
        self._refresh = refresh
        self.interval = interval
        self.lock_retry = lock_retry
        self.lock = PublisherLock(issuer.registry)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._passed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def refresh(self) -> int:
        """Sign a status list again when it is this many seconds old (default: half its ttl)."""
        return self._refresh or max(60, int(self.issuer.config["status_ttl"]) // 2)

    @property
    def running(self) -> bool:
        """True while the thread `start()` began is publishing (it ends when the issuer
        directory goes away)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def leader(self) -> bool:
        return self.lock.held

    def catch_up(self) -> bool:
        """Take the lock if free and publish whatever is owed; True when this process publishes."""
        was_leader = self.lock.held
        if not self.lock.acquire():
            if was_leader:  # its database connection ended (a PostgreSQL restart)
                log.warning(
                    "this process lost the publisher lock (its database connection ended); "
                    "it takes it again when it is free"
                )
            return False
        if not was_leader:
            # Which host publishes is what an operator points static hosting at (`serve`
            # shows INFO lines; docs/deployment.md).
            log.info(
                "this process took the publisher lock: it publishes for %s from %s",
                self.issuer.config["issuer"],
                self.issuer.dir,
            )
            self.issuer.publisher.copy_to_public_dir()
        self.issuer.publisher.publish_owed(int(time.time()), self.refresh)
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="citycard-publisher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give the lock up (another process takes over)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None
        self._release()

    def _release(self) -> None:
        if self.lock.held:
            log.info(
                "this process gave the publisher lock up; another one takes over within seconds"
            )
        self.lock.release()

    def nudge(self) -> None:
        """Look for owed lists now rather than at the next interval."""
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            if not self.issuer.dir.is_dir():  # the issuer directory went away: nothing to serve
                break
            try:
                self.catch_up()
                backoff = 0.0
            except CitycardError as exc:  # a database or key store outage, a file not writable
                backoff = min(_MAX_BACKOFF, max(1.0, backoff * 2))
                # Its sentence says what to fix; a traceback every retry would bury it.
                log.error("publishing failed; trying again in %.0f s: %s", backoff, exc)
            except Exception:  # unexpected: the traceback is what finds the bug
                backoff = min(_MAX_BACKOFF, max(1.0, backoff * 2))
                log.exception("publishing failed; trying again in %.0f s", backoff)
            if self.leader:
                self.sweep_pickups()
            with self._passed:
                self._passed.notify_all()
            wait = backoff or (self.interval if self.leader else self.lock_retry)
            self._wake.wait(wait)
            self._wake.clear()
        self._release()

    def sweep_pickups(self) -> None:
        """Delete expired wallet pickups, at most every `pickup_sweep` seconds."""
        now = time.monotonic()
        if self._swept_at is not None and now - self._swept_at < self.pickup_sweep:
            return
        self._swept_at = now
        try:
            gone = self.pickups.sweep()
        except CitycardError as exc:  # a registry outage: the next sweep, or a request, does it
            log.warning("could not delete expired wallet pickups; trying again soon: %s", exc)
            return
        except Exception:  # unexpected: the traceback finds the bug; publishing goes on
            log.exception("could not delete expired wallet pickups; trying again soon")
            return
        if gone:
            log.info("deleted %d expired wallet pickup(s)", gone)

    def wait_published(self, list_id: str, timeout: float = WAIT_SECONDS) -> bool:
        """After a status change (or a retried one) of a card in `list_id`: make sure the list
        gets published, and wait until it is or `timeout` passes. Never signs; True when the
        registry shows the list published."""
        crash_point("status-committed")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self.issuer.publisher.owed(list_id):
                    return True
            except RegistryError:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("status list %s is not published yet; the publisher will", list_id)
                return False
            self.nudge()
            with self._passed:
                self._passed.wait(min(0.1, left))
