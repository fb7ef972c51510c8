"""A pcscd with the vpcd driver, for tests and the demo: reuse a running one or start our own.

    from hardware.pcscd import ensure_pcscd, wait_card

    with ensure_pcscd() as service:      # or: service = ensure_pcscd(); ...; service.stop()
        service.vpcd_readers()           # ['Virtual PCD 00 00', 'Virtual PCD 00 01']
        wait_card("Virtual PCD 00 00", present=False)  # True once pcscd has seen it empty

`ensure_pcscd()`:
- asks the PC/SC service for its readers; when it answers (a pcscd we did not start, or one that
  systemd starts on the first connection to its socket) and has a "Virtual PCD" reader, it is
  reused and never stopped by us;
- otherwise removes the socket and pid file a dead pcscd left behind, starts `pcscd -f` as a
  child process (its log goes to a temporary file, shown in any error), and waits until the vpcd
  readers appear. `stop()` (or leaving the `with` block, or interpreter exit) stops only a pcscd
  this process started. On Linux the child also gets SIGTERM if this process dies.

A running pcscd without the vpcd reader cannot be replaced (its socket is taken): that is an
error telling what to restart.

The vpcd slots (TCP 35963 + slot) belong to the whole machine: two test sessions that present
cards at the same time would connect to each other's slots, and one could stop the pcscd the
other uses. So `ensure_pcscd()` first takes an exclusive lock (flock on LOCK_PATH, waiting up to
`lock_timeout` seconds) and `stop()` releases it; the lock is reentrant within a process and
the kernel drops it when the process dies.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from cardio.errors import CardConnectionError
from cardio.pcsc import list_readers

VPCD_READER = "Virtual PCD"
"""FRIENDLYNAME of the vpcd driver in /etc/reader.conf.d/vpcd."""

_PCSCD_PLACES = ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd", "/sbin/pcscd")
_DEFAULT_IPC_DIR = Path("/run/pcscd")


LOCK_PATH = Path(tempfile.gettempdir()) / "citycard-vpcd.lock"


class _MachineLock:
    """An exclusive flock on LOCK_PATH, reentrant within this process."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._depth = 0
        self._guard = threading.Lock()

    def acquire(self, timeout: float) -> None:
        with self._guard:
            if self._fd is not None:
                self._depth += 1
                return
            writable = True
            try:
                fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o666)
                with contextlib.suppress(OSError):  # only its owner may; the umask took 0o022
                    os.fchmod(fd, 0o666)
            except PermissionError:  # another user's lock file: flock needs no write access
                fd, writable = os.open(LOCK_PATH, os.O_RDONLY), False
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                        os.close(fd)
                        raise CardConnectionError(
                            f"Another program (pid {holder or 'unknown'}) is using the vpcd "
                            f"slots and did not finish within {timeout:g} s; wait for it (its "
                            f"lock is {LOCK_PATH}) and try again."
                        ) from None
                    time.sleep(0.1)
            if writable:  # the holder's pid, for the message above
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._fd, self._depth = fd, 1

    def release(self) -> None:
        with self._guard:
            if self._fd is None:
                return
            self._depth -= 1
            if self._depth == 0:
                fd, self._fd = self._fd, None
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                os.close(fd)  # closing the last descriptor drops the flock


_machine_lock = _MachineLock()


def pcscd_path() -> str | None:
    """Path of the pcscd binary, or None when pcsc-lite's daemon is not installed."""
    found = shutil.which("pcscd")
    if found:
        return found
    for place in _PCSCD_PLACES:
        if os.access(place, os.X_OK):
            return place
    return None


def _ipc_dir(pcscd: str) -> Path:
    """pcscd's ipcdir (from `pcscd --version`), /run/pcscd when it does not say."""
    try:
        out = subprocess.run(
            [pcscd, "--version"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return _DEFAULT_IPC_DIR
    match = re.search(r"ipcdir=(\S+)", out)
    return Path(match.group(1)) if match else _DEFAULT_IPC_DIR


def _supports(pcscd: str, option: str) -> bool:
    try:
        out = subprocess.run(
            [pcscd, "--help"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in out.stdout + out.stderr


def _socket_path(ipc_dir: Path) -> Path:
    override = os.environ.get("PCSCLITE_CSOCK_NAME")
    return Path(override) if override else ipc_dir / "pcscd.comm"


def _pid_alive(pid: int) -> bool:
    """True for a running process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _listening(path: Path) -> bool:
    """True when something accepts connections on the unix socket `path`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(1.0)
    try:
        sock.connect(str(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def _read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_bytes().split(b"\0")[0].decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _clean_stale(ipc_dir: Path) -> None:
    """Remove the socket and pid file of a pcscd that died without cleaning up.

    pcscd refuses to start while its socket file exists and the pid in its pid file is alive
    (a zombie counts as alive to it), and also when the socket exists without a pid file.
    """
    comm = _socket_path(ipc_dir)
    pid_file = ipc_dir / "pcscd.pid"
    if not comm.exists() and not pid_file.exists():
        return
    if comm.exists() and _listening(comm):
        return  # someone serves it (a pcscd starting up, or systemd's socket)
    pid = _read_pid(pid_file)
    if pid is not None and _pid_alive(pid):
        return  # a live pcscd that does not answer yet: not ours to clean
    for stale in (comm, pid_file):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def _vpcd_configured() -> bool:
    conf = Path("/etc/reader.conf.d")
    try:
        return any(
            "ifdvpcd" in f.read_text(errors="replace") for f in conf.iterdir() if f.is_file()
        )
    except OSError:
        return False


def _reachable_readers() -> list[str] | None:
    """The readers of a reachable PC/SC service; None when no pcscd answers."""
    try:
        return list_readers()
    except CardConnectionError:
        return None


class PcscdService:
    """A pcscd with the vpcd driver: ours (`started` is True) or one we found running."""

    def __init__(
        self,
        *,
        started: bool,
        process: subprocess.Popen[bytes] | None = None,
        log_path: Path | None = None,
        ipc_dir: Path = _DEFAULT_IPC_DIR,
        reader: str = VPCD_READER,
        locked: bool = False,
    ) -> None:
        self.started = started
        self.process = process
        self.log_path = log_path
        self.ipc_dir = ipc_dir
        self.reader = reader
        self._locked = locked
        self._lock = threading.Lock()
        if started:
            atexit.register(self.stop)

    @property
    def pid(self) -> int | None:
        """Process id of the pcscd we started (None when we reuse one)."""
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        """Ours: is our process alive (False once stopped). A reused one: does pcscd answer."""
        if self.started:
            return self.process is not None and self.process.poll() is None
        return _reachable_readers() is not None

    def readers(self) -> list[str]:
        """All reader names of the service."""
        return list_readers()

    def vpcd_readers(self) -> list[str]:
        """The vpcd reader names, slot 0 first."""
        return sorted(r for r in self.readers() if self.reader.casefold() in r.casefold())

    def vpcd_reader(self, slot: int) -> str:
        """The name of vpcd `slot` ("Virtual PCD 00 01" for slot 1 of the first vpcd reader)."""
        suffix = f" {slot:02X}"
        for name in self.vpcd_readers():
            if name.endswith(suffix):
                return name
        raise CardConnectionError(
            f"pcscd has no vpcd reader for slot {slot}; it lists {self.vpcd_readers()}."
        )

    def log_tail(self, lines: int = 20) -> str:
        """The end of our pcscd's log ('' when we did not start it)."""
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the pcscd we started (SIGTERM, then SIGKILL); does nothing to a reused one.

        Either way, release the vpcd slots' lock taken by `ensure_pcscd()`.
        """
        with self._lock:
            process, self.process = self.process, None
            locked, self._locked = self._locked, False
        try:
            if process is not None:
                self._stop_process(process, timeout)
        finally:
            if locked:
                _machine_lock.release()

    def _stop_process(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        _clean_stale(self.ipc_dir)
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None

    def __enter__(self) -> PcscdService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_card(reader: str, present: bool, timeout: float = 5.0) -> bool:
    """Wait up to `timeout` s until pcscd reports a card in `reader` (present=True) or none
    (False); True once it does. Raises CardConnectionError when pcscd is not reachable."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if _u32(hresult) != 0:
        raise CardConnectionError(f"pcscd is not reachable (0x{_u32(hresult):08X}).")
    deadline = time.monotonic() + max(0.0, timeout)
    known = 0  # SCARD_STATE_UNAWARE: the first call answers at once
    first = True
    try:
        while True:
            wait_ms = 0 if first else _ms_until(deadline)
            first = False
            hresult, states = scard.SCardGetStatusChange(context, wait_ms, [(reader, known)])
            if _u32(hresult) == 0:
                known = _u32(states[0][1]) & ~_u32(scard.SCARD_STATE_CHANGED)
                if bool(known & _u32(scard.SCARD_STATE_PRESENT)) == present:
                    return True
            elif _u32(hresult) != _u32(scard.SCARD_E_TIMEOUT):
                raise CardConnectionError(
                    f"pcscd gave no state for {reader!r} (0x{_u32(hresult):08X})."
                )
            if time.monotonic() >= deadline:
                return False
    finally:
        scard.SCardReleaseContext(context)


def _u32(value: int) -> int:
    return int(value) & 0xFFFFFFFF  # PC/SC codes come back signed on some platforms


def _ms_until(deadline: float) -> int:
    # Short waits, so that a change pcscd does not signal costs little
    return max(0, min(500, int((deadline - time.monotonic()) * 1000)))


def _has_reader(readers: list[str] | None, reader: str) -> bool:
    return readers is not None and any(reader.casefold() in r.casefold() for r in readers)


def _wait_for_reader(reader: str, until: float) -> list[str] | None:
    readers = _reachable_readers()
    while not _has_reader(readers, reader) and time.monotonic() < until:
        time.sleep(0.05)
        readers = _reachable_readers()
    return readers


def ensure_pcscd(
    *,
    reader: str = VPCD_READER,
    timeout: float = 15.0,
    exclusive: bool = True,
    lock_timeout: float = 90.0,
) -> PcscdService:
    """A pcscd that lists `reader`: a running one, else one started now (see the module doc).

    With `exclusive` (the default) the vpcd slots' machine-wide lock is taken first (waiting up
    to `lock_timeout` seconds for another process to release it) and held until `stop()`.

    Raises CardConnectionError with a sentence when pcscd is not installed, a running pcscd
    lacks the vpcd driver, ours does not come up with the reader within `timeout` seconds, or
    another process keeps the vpcd slots.
    """
    if not exclusive:
        return _ensure(reader, timeout, locked=False)
    _machine_lock.acquire(lock_timeout)
    try:
        return _ensure(reader, timeout, locked=True)
    except BaseException:
        _machine_lock.release()
        raise


def _ensure(reader: str, timeout: float, *, locked: bool) -> PcscdService:
    until = time.monotonic() + timeout
    readers = _reachable_readers()
    if readers is not None:
        # Running (or socket-activated and starting): give its drivers a moment.
        readers = _wait_for_reader(reader, min(until, time.monotonic() + 3.0))
        if _has_reader(readers, reader):
            return PcscdService(started=False, reader=reader, locked=locked)
        if readers is not None:
            raise CardConnectionError(
                f"A pcscd is running but has no {reader!r} reader (it lists {readers}); "
                + (
                    "restart it so that it loads the vpcd driver "
                    "(`sudo systemctl restart pcscd`, or stop it and run `sudo pcscd`)."
                    if _vpcd_configured()
                    else "install the vpcd driver (`sudo apt-get install vsmartcard-vpcd`) "
                    "and restart pcscd."
                )
            )
    return _start(reader, until, locked=locked)


# The vpcd driver listens on TCP 35963 + slot. Right after another pcscd stopped, the port can
# still be held (that process closing, or TIME_WAIT when it closed its connections first) and a
# new pcscd then runs without the reader, logging this. Such a start is retried until the port
# is free again: longer than Linux's 60 s TIME_WAIT.
PORT_BUSY_LOG = "Address already in use"
PORT_BUSY_WAIT = 75.0


class _VpcdPortBusy(Exception):
    def __init__(self, tail: str) -> None:
        super().__init__(tail)
        self.tail = tail


def _start(
    reader: str,
    until: float,
    *,
    locked: bool,
    readers: Callable[[], list[str] | None] = _reachable_readers,
    port_busy_wait: float = PORT_BUSY_WAIT,
    pause: float = 1.0,
) -> PcscdService:
    pcscd = pcscd_path()
    if pcscd is None:
        raise CardConnectionError(
            "pcscd is not installed; install it (`sudo apt-get install pcscd vsmartcard-vpcd`) "
            "and try again."
        )
    if not _vpcd_configured():
        raise CardConnectionError(
            "The vpcd driver is not configured in /etc/reader.conf.d; install it "
            "(`sudo apt-get install vsmartcard-vpcd`) and try again."
        )
    port_until = max(until, time.monotonic() + port_busy_wait)
    while True:
        attempt_until = max(until, min(port_until, time.monotonic() + 5.0))
        try:
            return _start_once(pcscd, reader, attempt_until, locked=locked, readers=readers)
        except _VpcdPortBusy as busy:
            if time.monotonic() + pause >= port_until:
                raise CardConnectionError(
                    "pcscd could not open the vpcd port: another process still holds TCP "
                    f"35963; stop it (`ss -ltnp | grep 3596`) and try again. Its log ends:\n"
                    f"{busy.tail}"
                ) from None
            time.sleep(pause)


def _start_once(
    pcscd: str,
    reader: str,
    until: float,
    *,
    locked: bool,
    readers: Callable[[], list[str] | None],
) -> PcscdService:
    ipc_dir = _ipc_dir(pcscd)
    _clean_stale(ipc_dir)
    command = [pcscd, "--foreground"]
    if _supports(pcscd, "--disable-polkit"):
        command.append("--disable-polkit")
    setpriv = shutil.which("setpriv")
    if setpriv and threading.current_thread() is threading.main_thread():
        # The parent-death signal belongs to the forking thread: only the main thread lives
        # as long as this process does.
        command = [setpriv, "--pdeathsig", "TERM", *command]
    fd, name = tempfile.mkstemp(prefix="citycard-pcscd-", suffix=".log")
    log_path = Path(name)
    with os.fdopen(fd, "wb") as log_file:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
    service = PcscdService(
        started=True, process=process, log_path=log_path, ipc_dir=ipc_dir, reader=reader
    )  # not `locked`: on failure below the caller releases the lock
    while True:
        listed = readers()
        if _has_reader(listed, reader):
            service._locked = locked
            return service
        tail = service.log_tail()
        if PORT_BUSY_LOG in tail:
            service.stop()
            raise _VpcdPortBusy(tail)
        if process.poll() is not None:
            tail = service.log_tail()
            service.stop()
            if "already exists" in tail or "Another pcscd" in tail:
                # Another process started one at the same moment: use it.
                listed = _wait_for_reader(reader, until)
                if _has_reader(listed, reader):
                    return PcscdService(started=False, reader=reader, locked=locked)
            raise CardConnectionError(
                f"pcscd exited at start (status {process.returncode}); its log ends:\n{tail}"
            )
        if time.monotonic() >= until:
            tail = service.log_tail()
            service.stop()
            raise CardConnectionError(
                f"pcscd started but showed no {reader!r} reader in time (it lists "
                f"{listed or []}); its log ends:\n{tail}"
            )
        time.sleep(0.05)
