"""IPP card printers for tests and the demo: CUPS's `ippeveprinter`, and a scripted IPP server.

`IppEvePrinter` runs `ippeveprinter` (Debian package cups-ipp-utils) on a loopback port. It
needs a D-Bus bus even with DNS-SD switched off (`-r off`), so a private `dbus-daemon` is
started for it in a temporary directory and its address passed as DBUS_SYSTEM_BUS_ADDRESS.
Each job's document is handed to a print command (`-c`) that copies it into `capture_dir`,
so a test can check what the printer received; with `fail_jobs=True` the command fails and
ippeveprinter aborts the job. `stop()` ends both processes and removes the temporary
directory (and with it the captured documents); use it as a context manager.

`ScriptedIppServer` is a tiny IPP server (http.server on 127.0.0.1) that answers each request
with the next of a list of scripted answers (an IPP status code and the attributes to
return): what a printer does that ippeveprinter will not do on demand, such as
server-error-busy a few times, or a printer stopped because its feeder is empty.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from printer.ipp_codec import (
    DelimiterTag,
    IppAttribute,
    IppMessage,
    decode_message,
    encode_message,
)

__all__ = [
    "IppEvePrinter",
    "IppSimError",
    "ScriptedAnswer",
    "ScriptedIppServer",
    "dbus_daemon_path",
    "free_port",
    "ippeveprinter_path",
]


class IppSimError(RuntimeError):
    """The simulated printer could not be started."""


def ippeveprinter_path() -> str | None:
    return shutil.which("ippeveprinter") or next(
        (p for p in ("/usr/sbin/ippeveprinter", "/usr/bin/ippeveprinter") if os.access(p, os.X_OK)), None
    )


def dbus_daemon_path() -> str | None:
    return shutil.which("dbus-daemon") or next(
        (p for p in ("/usr/bin/dbus-daemon",) if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

_CAPTURE = """#!/bin/sh
# ippeveprinter print command: keep a copy of the job's document for the test.
n=$(ls "{dir}" | wc -l)
cp "$1" "{dir}/$(printf %03d "$n")-$(basename "$1")"
exit {rc}
"""


class IppEvePrinter:
    """`ippeveprinter` on 127.0.0.1:`port`, with its own D-Bus daemon and a capture command."""

    def __init__(
        self,
        name: str = "citycard-card-printer",
        *,
        formats: Sequence[str] = ("application/pdf", "image/png", "image/pwg-raster"),
        duplex: bool = True,
        fail_jobs: bool = False,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.formats = tuple(formats)
        self.duplex = duplex
        self.fail_jobs = fail_jobs
        self._auto_port = port is None
        self.port = port or free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._dbus: subprocess.Popen[bytes] | None = None
        self._printer: subprocess.Popen[bytes] | None = None
        self.capture_dir = Path()

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in (self._dbus, self._printer) if p is not None]

    def start(self, timeout: float = 15.0) -> IppEvePrinter:
        """Start both processes; a port taken meanwhile by another program is replaced."""
        for attempt in range(3):
            try:
                return self._start(timeout)
            except IppSimError:
                if not self._auto_port or attempt == 2:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> IppEvePrinter:
        binary, dbus = ippeveprinter_path(), dbus_daemon_path()
        if binary is None or dbus is None:
            raise IppSimError(
                "ippeveprinter or dbus-daemon is missing; apt-get install cups-ipp-utils dbus-daemon."
            )
        self._tmp = tempfile.TemporaryDirectory(prefix="citycard-ipp-")
        root = Path(self._tmp.name)
        self.capture_dir = root / "captured"
        spool = root / "spool"
        for d in (self.capture_dir, spool, root / "bus", root / "home"):
            d.mkdir()
        config = root / "dbus.conf"
        config.write_text(_DBUS_CONFIG.format(dir=root / "bus"))
        script = root / "capture.sh"
        script.write_text(_CAPTURE.format(dir=self.capture_dir, rc=1 if self.fail_jobs else 0))
        script.chmod(0o755)
        try:
            self._dbus = subprocess.Popen(
                [dbus, f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            assert self._dbus.stdout is not None
            address = self._dbus.stdout.readline().decode().strip()
            if not address:
                raise IppSimError("dbus-daemon did not print its address.")
            env = {
                **os.environ,
                "DBUS_SYSTEM_BUS_ADDRESS": address,
                "DBUS_SESSION_BUS_ADDRESS": address,
                "HOME": str(root / "home"),
            }
            command = [
                binary, "-r", "off", "-n", "localhost", "-p", str(self.port), "-d", str(spool),
                "-f", ",".join(self.formats), "-c", str(script), "-m", "Card Printer",
                "-M", "citycard",
            ]
            if self.duplex:
                command.append("-2")
            self._log = (root / "ippeveprinter.log").open("wb")
            self._printer = subprocess.Popen(
                [*command, self.name],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._printer is None or self._printer.poll() is not None:
                raise IppSimError(f"ippeveprinter exited: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise IppSimError(f"ippeveprinter did not listen on port {self.port}: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        if self._tmp is None:
            return ""
        path = Path(self._tmp.name) / "ippeveprinter.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def captured(self) -> list[Path]:
        """The documents the print command received, oldest first."""
        if not self.capture_dir.is_dir():
            return []
        return sorted(self.capture_dir.iterdir())

    def wait_captured(self, count: int, timeout: float = 10.0) -> list[Path]:
        deadline = time.monotonic() + timeout
        while len(self.captured()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.captured()

    def kill_printer(self) -> None:
        """Stop ippeveprinter only (the printer is switched off); `stop()` still cleans up."""
        self._end(self._printer)

    @staticmethod
    def _end(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        self._end(self._printer)
        self._end(self._dbus)
        if self._dbus is not None and self._dbus.stdout is not None:
            self._dbus.stdout.close()
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> IppEvePrinter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- a scripted IPP server ---------------------------------------------------------------------


@dataclass
class ScriptedAnswer:
    """One answer: an IPP status code and the printer and job attributes to return."""

    status: int = 0x0000
    printer: list[IppAttribute] = field(default_factory=list)
    job: list[IppAttribute] = field(default_factory=list)
    http_status: int = 200


class ScriptedIppServer:
    """Answers the Nth request with the Nth scripted answer (the last one repeats).

    `requests` records each decoded request (operation code and attributes, no document).
    `answer` may instead be a callable that builds the answer from the request.
    """

    def __init__(
        self,
        answers: Sequence[ScriptedAnswer] | Callable[[IppMessage], ScriptedAnswer],
    ) -> None:
        self.answers = answers
        self.requests: list[IppMessage] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                request = decode_message(body)
                request.data = b""
                with server._lock:
                    server.requests.append(request)
                    answer = server._next(request)
                if answer.http_status != 200:
                    self.send_response(answer.http_status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                charset = {
                    a.name: a
                    for a in request.group(DelimiterTag.OPERATION).values()
                    if a.name in ("attributes-charset", "attributes-natural-language")
                }
                groups: list[tuple[int, dict[str, IppAttribute]]] = [(DelimiterTag.OPERATION, charset)]
                if answer.job:
                    groups.append((DelimiterTag.JOB, {a.name: a for a in answer.job}))
                if answer.printer:
                    groups.append((DelimiterTag.PRINTER, {a.name: a for a in answer.printer}))
                payload = encode_message(IppMessage(answer.status, request.request_id, groups))
                self.send_response(200)
                self.send_header("Content-Type", "application/ipp")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-ipp", daemon=True)

    def _next(self, request: IppMessage) -> ScriptedAnswer:
        if callable(self.answers):
            return self.answers(request)
        index = min(len(self.requests) - 1, len(self.answers) - 1)
        return self.answers[index]

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    def start(self) -> ScriptedIppServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> ScriptedIppServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
