"""USB DFU 1.1 host over pyusb: detach, download, manifest, reset, with recovery.

The sequence (USB DFU 1.1 sections 5-7):

1. Find the device's DFU interface (class 0xFE, subclass 1) and its functional descriptor
   (type 0x21: bmAttributes, wDetachTimeOut, wTransferSize, bcdDFUVersion).
2. Runtime mode (protocol 1): DFU_DETACH, then a USB reset unless the device sets
   bitWillDetach, then wait (up to wDetachTimeOut + `reenumerate_s`) for the device to
   re-enumerate in DFU mode (protocol 2) on the same bus and port.
3. Pre-flight: one DFU_GETSTATUS. dfuERROR is cleared with DFU_CLRSTATUS, a download or upload
   left half-done with DFU_ABORT; anything but dfuIDLE afterwards is an error.
4. Download: per block of wTransferSize bytes, DFU_DNLOAD (wValue = block number) then
   DFU_GETSTATUS, repeated while the device answers dfuDNBUSY, sleeping the bwPollTimeout it
   announced before each further GETSTATUS.
5. Manifestation: a zero-length DFU_DNLOAD, then DFU_GETSTATUS (dfuMANIFEST, sleep its
   bwPollTimeout); a manifestation-tolerant device is polled once more until dfuIDLE, any
   other is left in dfuMANIFEST-WAIT-RESET without further requests.
6. USB reset, so the device boots the new image; its runtime bcdDevice is read back, or, when
   no runtime device appears within `reenumerate_s`, whether the device is still (or again)
   in DFU mode: its bootloader did not start the image.

On an error status or a stall during the download the host reads the status, clears it with
DFU_CLRSTATUS and (while `retries` remain) restarts the download from block 0; a device that
disappears is reported as disconnected. Every error is a `DfuError` carrying the DFU state and
status and a sentence telling the technician what to do.
"""

from __future__ import annotations

import contextlib
import errno as errno_mod
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import usb.core

from cardio.errors import CitycardError

from .dfu_protocol import (
    DFU_CLASS,
    DFU_FUNCTIONAL_DESCRIPTOR,
    DFU_SUBCLASS,
    PROTOCOL_DFU,
    PROTOCOL_RUNTIME,
    DfuAttributes,
    DfuRequest,
    DfuState,
    DfuStatusCode,
)

__all__ = [
    "STATUS_TEXT",
    "DfuDisconnected",
    "DfuError",
    "DfuNotFound",
    "DfuSession",
    "DfuStatus",
    "FlashReport",
    "Functional",
    "bcd_version",
    "dfu_interface",
    "find_devices",
    "open_device",
    "parse_functional",
    "parse_vid_pid",
]

# DFU 1.1 table 6.2, as what went wrong for a technician
STATUS_TEXT: dict[int, str] = {
    DfuStatusCode.OK: "no error",
    DfuStatusCode.ERR_TARGET: "the image is not meant for this device (errTARGET)",
    DfuStatusCode.ERR_FILE: "the device rejected the image file (errFILE)",
    DfuStatusCode.ERR_WRITE: "the device could not write its memory (errWRITE)",
    DfuStatusCode.ERR_ERASE: "the device could not erase its memory (errERASE)",
    DfuStatusCode.ERR_CHECK_ERASED: "the memory did not erase cleanly (errCHECK_ERASED)",
    DfuStatusCode.ERR_PROG: "programming the memory failed (errPROG)",
    DfuStatusCode.ERR_VERIFY: "the written image failed the device's check (errVERIFY)",
    DfuStatusCode.ERR_ADDRESS: "the image does not fit the device's memory (errADDRESS)",
    DfuStatusCode.ERR_NOTDONE: "the device received too little data (errNOTDONE)",
    DfuStatusCode.ERR_FIRMWARE: "the device finds the image corrupt and cannot run it (errFIRMWARE)",
    DfuStatusCode.ERR_VENDOR: "the device reported a vendor-specific error (errVENDOR)",
    DfuStatusCode.ERR_USBR: "the device saw an unexpected USB reset (errUSBR)",
    DfuStatusCode.ERR_POR: "the device saw an unexpected power-on reset (errPOR)",
    DfuStatusCode.ERR_UNKNOWN: "the device reported an unknown error (errUNKNOWN)",
    DfuStatusCode.ERR_STALLEDPKT: "the device stalled an unexpected request (errSTALLEDPKT)",
}
_OUT = 0x21  # class request, host to device, recipient interface
_IN = 0xA1
TIMEOUT_MS = 5000


class DfuError(CitycardError):
    """A DFU operation that failed; `state` and `status` are the device's when known."""

    def __init__(self, message: str, state: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.state = state
        self.status = status


class DfuDisconnected(DfuError):
    """The device left the bus (unplugged, crashed or re-enumerated unexpectedly)."""


class DfuNotFound(DfuError):
    """No DFU-capable device matched."""


@dataclass(frozen=True, slots=True)
class Functional:
    """The DFU functional descriptor."""

    attributes: int
    detach_timeout_ms: int
    transfer_size: int
    bcd_dfu: int

    @property
    def manifestation_tolerant(self) -> bool:
        return bool(self.attributes & DfuAttributes.MANIFESTATION_TOLERANT)

    @property
    def will_detach(self) -> bool:
        return bool(self.attributes & DfuAttributes.WILL_DETACH)


@dataclass(frozen=True, slots=True)
class DfuStatus:
    """The device's answer to DFU_GETSTATUS (bStatus, bwPollTimeout, bState)."""

    status: int
    poll_ms: int
    state: int

    @property
    def state_name(self) -> str:
        try:
            return DfuState(self.state).label
        except ValueError:
            return f"state {self.state}"


@dataclass
class FlashReport:
    blocks: int
    transfer_size: int
    image_size: int
    setup: Counter[str] = field(default_factory=Counter)  # detach, pre-flight, recovery
    download: Counter[str] = field(default_factory=Counter)  # first DNLOAD .. manifestation
    busy_polls: int = 0  # GETSTATUS answered with dfuDNBUSY (the device asked to wait)
    manifest_polls: int = 0  # GETSTATUS during manifestation
    retries_used: int = 0
    new_bcd_device: int | None = None  # the runtime device's bcdDevice after the final reset
    stayed_in_dfu: bool = False  # found only in DFU mode after the reset: the image did not start


def parse_functional(extra: bytes) -> Functional | None:
    """The DFU functional descriptor among an interface's extra descriptors, if any."""
    pos = 0
    while pos + 2 <= len(extra):
        length, kind = extra[pos], extra[pos + 1]
        if length < 2:
            return None
        if kind == DFU_FUNCTIONAL_DESCRIPTOR and length >= 7:
            d = extra[pos : pos + length]
            bcd = int.from_bytes(d[7:9], "little") if length >= 9 else 0x0100
            return Functional(d[2], int.from_bytes(d[3:5], "little"), int.from_bytes(d[5:7], "little"), bcd)
        pos += length
    return None


def dfu_interface(dev: Any) -> tuple[int, int, Functional] | None:
    """(interface number, protocol, functional descriptor) of the device's DFU interface."""
    try:
        for cfg in dev:
            for intf in cfg:
                if intf.bInterfaceClass == DFU_CLASS and intf.bInterfaceSubClass == DFU_SUBCLASS:
                    fd = parse_functional(bytes(intf.extra_descriptors))
                    if fd is not None:
                        return intf.bInterfaceNumber, intf.bInterfaceProtocol, fd
    except usb.core.USBError:
        return None
    return None


def parse_vid_pid(text: str) -> tuple[int, int]:
    try:
        vid, pid = text.split(":")
        v, p = int(vid, 16), int(pid, 16)
    except ValueError as exc:
        raise DfuError(f"'{text}' is not a USB id; write it as VID:PID in hex, e.g. 1209:2001.") from exc
    if not (0 <= v <= 0xFFFF and 0 <= p <= 0xFFFF):
        raise DfuError(f"'{text}' is not a USB id; VID and PID are four hex digits each.")
    return v, p


def bcd_version(bcd: int) -> tuple[int, int]:
    """bcdDevice 0xJJMN as (JJ, MN) read as decimal digits (0x0213 is 2.13, 0x1002 is 10.2)."""

    def digits(byte: int) -> int:
        hi, lo = byte >> 4, byte & 0xF
        return hi * 10 + lo if hi < 10 and lo < 10 else byte

    return digits(bcd >> 8), digits(bcd & 0xFF)


def find_devices(backend: Any, vid: int | None = None, pid: int | None = None) -> list[Any]:
    """Every device with a DFU interface (runtime or DFU mode), optionally by VID:PID."""
    try:
        found = list(usb.core.find(find_all=True, backend=backend))
    except usb.core.NoBackendError as exc:
        raise DfuError(
            "libusb is not installed, so USB devices cannot be reached; install libusb-1.0-0 and try again."
        ) from exc
    out = []
    for dev in found:
        if vid is not None and dev.idVendor != vid:
            continue
        if pid is not None and dev.idProduct != pid:
            continue
        if dfu_interface(dev) is not None:
            out.append(dev)
    return out


def _is_stall(exc: usb.core.USBError) -> bool:
    return getattr(exc, "errno", None) == errno_mod.EPIPE or getattr(exc, "backend_error_code", None) == -9


def _is_gone(exc: usb.core.USBError) -> bool:
    return getattr(exc, "errno", None) in (errno_mod.ENODEV, errno_mod.ENOENT) or getattr(
        exc, "backend_error_code", None
    ) in (-4, -5)


class DfuSession:
    """One device, driven through detach, download, manifestation and reset."""

    def __init__(
        self,
        dev: Any,
        backend: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        reenumerate_s: float = 5.0,
    ) -> None:
        self.dev = dev
        self.backend = backend
        self.sleep = sleep
        self.reenumerate_s = reenumerate_s
        found = dfu_interface(dev)
        if found is None:
            raise DfuNotFound(
                f"USB device {dev.idVendor:04x}:{dev.idProduct:04x} has no DFU interface; it cannot be flashed over USB DFU."
            )
        self.interface, self.protocol, self.functional = found
        self.counts: Counter[str] = Counter()
        # How far `flash` got, for a command that is interrupted (Ctrl-C) to say what state the
        # device is left in: runtime -> dfu (detached, nothing written) -> download ->
        # manifest (the whole image sent) -> reset (done, restarting).
        self.phase = "runtime" if self.protocol != PROTOCOL_DFU else "dfu"
        self.blocks_sent = 0  # blocks the device acknowledged in the current download
        self._location = (dev.bus, tuple(getattr(dev, "port_numbers", None) or ()), dev.idVendor)

    # -- transfers -----------------------------------------------------------------------
    def _ctrl(self, request: DfuRequest, value: int = 0, data: bytes | int = b"") -> Any:
        name = request.label
        self.counts[name] += 1
        direction = _IN if isinstance(data, int) else _OUT
        try:
            return self.dev.ctrl_transfer(direction, request, value, self.interface, data, TIMEOUT_MS)
        except usb.core.USBTimeoutError as exc:
            raise DfuError(
                f"The device did not answer {name} in time; unplug it, plug it back in and run flash again."
            ) from exc
        except usb.core.USBError as exc:
            if _is_gone(exc):
                raise DfuDisconnected(
                    f"The device disconnected during {name}; reconnect it and run flash again (it restarts in DFU mode if the old image is damaged)."
                ) from exc
            if _is_stall(exc):
                raise _Stall(name) from exc
            if getattr(exc, "errno", None) == errno_mod.EACCES:
                raise DfuError(
                    "No permission to use the USB device; install the citycard udev rule for /dev/bus/usb (see docs/technician.md) or run as root."
                ) from exc
            raise DfuError(f"USB error during {name} ({exc}); reconnect the device and run flash again.") from exc

    def get_status(self) -> DfuStatus:
        raw = bytes(self._ctrl(DfuRequest.GETSTATUS, 0, 6))
        if len(raw) < 6:
            raise DfuError("The device sent a short DFU_GETSTATUS answer; it does not speak DFU 1.1 correctly — contact the vendor.")
        return DfuStatus(raw[0], int.from_bytes(raw[1:4], "little"), raw[4])

    # -- phases --------------------------------------------------------------------------
    def detach(self) -> None:
        """Runtime to DFU mode; returns with `self.dev` the re-enumerated DFU-mode device."""
        if self.protocol == PROTOCOL_DFU:
            return
        timeout = max(1, min(self.functional.detach_timeout_ms, 0xFFFF))
        try:
            self._ctrl(DfuRequest.DETACH, timeout)
        except _Stall as exc:
            raise DfuError(
                "The device refused DFU_DETACH; it may not support firmware updates in this state — power-cycle it and try again.",
                DfuState.APP_IDLE,
            ) from exc
        if not self.functional.will_detach:
            self._usb_reset()
        deadline = time.monotonic() + timeout / 1000 + self.reenumerate_s
        while True:
            dev = self._find_again(PROTOCOL_DFU)
            if dev is not None:
                self.dev = dev
                found = dfu_interface(dev)
                assert found is not None
                self.interface, self.protocol, self.functional = found
                return
            if time.monotonic() > deadline:
                raise DfuDisconnected(
                    "The device did not come back in DFU mode after DFU_DETACH; unplug it, plug it back in and run flash again."
                )
            self.sleep(0.05)

    def _find_again(self, protocol: int) -> Any:
        bus, ports, vid = self._location
        for dev in find_devices(self.backend):
            found = dfu_interface(dev)
            if found is None or found[1] != protocol:
                continue
            dports = tuple(getattr(dev, "port_numbers", None) or ())
            if (dev.bus, dports) == (bus, ports) if ports else dev.idVendor == vid:
                return dev
        return None

    def _usb_reset(self) -> None:
        with contextlib.suppress(usb.core.USBError):  # the device usually leaves the bus
            self.dev.reset()

    def preflight(self) -> None:
        """Bring a DFU-mode device to dfuIDLE (clearing errors, aborting leftovers)."""
        try:
            st = self.get_status()
            if st.state == DfuState.DFU_ERROR:
                self._ctrl(DfuRequest.CLRSTATUS)
                st = self.get_status()
            if st.state in (DfuState.DNLOAD_IDLE, DfuState.UPLOAD_IDLE):
                self._ctrl(DfuRequest.ABORT)
                st = self.get_status()
        except _Stall as exc:
            raise DfuError(
                f"The device stalled {exc.request} before flashing started; unplug it, plug it back in and run flash again."
            ) from exc
        if st.state != DfuState.DFU_IDLE:
            raise DfuError(
                f"The device is in {st.state_name} and cannot start a download; unplug it, plug it back in and run flash again.",
                st.state,
                st.status,
            )

    def _wait_status(self, block: int, report: FlashReport) -> DfuStatus:
        st = self.get_status()
        while st.state == DfuState.DNBUSY:
            report.busy_polls += 1
            self.sleep(st.poll_ms / 1000)
            st = self.get_status()
        if st.state == DfuState.DFU_ERROR or st.status != DfuStatusCode.OK:
            raise DfuError(
                f"The device reported an error at block {block}: {STATUS_TEXT.get(st.status, f'status {st.status}')}; run flash again, and if it repeats the image or the device is faulty.",
                st.state,
                st.status,
            )
        return st

    def download(self, image: bytes, report: FlashReport, progress: Callable[[int], None] | None) -> None:
        size = self.functional.transfer_size
        block = 0
        self.blocks_sent = 0
        try:
            for block, start in enumerate(range(0, len(image), size)):
                chunk = image[start : start + size]
                self.phase = "download"
                self._ctrl(DfuRequest.DNLOAD, block & 0xFFFF, chunk)
                st = self._wait_status(block, report)
                if st.state != DfuState.DNLOAD_IDLE:
                    raise DfuError(
                        f"The device went to {st.state_name} instead of dfuDNLOAD-IDLE at block {block}; run flash again.",
                        st.state,
                        st.status,
                    )
                self.blocks_sent = block + 1
                if progress is not None:
                    progress(len(chunk))
            block = report.blocks
            self.phase = "manifest"
            self._ctrl(DfuRequest.DNLOAD, block & 0xFFFF, b"")
            st = self.get_status()
            report.manifest_polls += 1
            while True:
                if st.state == DfuState.DFU_ERROR or st.status != DfuStatusCode.OK:
                    raise DfuError(
                        f"The device rejected the image during manifestation: {STATUS_TEXT.get(st.status, f'status {st.status}')}; the old firmware may be gone — run flash again before unplugging it.",
                        st.state,
                        st.status,
                    )
                if st.state in (DfuState.DFU_IDLE, DfuState.MANIFEST_WAIT_RESET):
                    break
                if st.state not in (DfuState.MANIFEST, DfuState.MANIFEST_SYNC):
                    raise DfuError(
                        f"The device went to {st.state_name} during manifestation; run flash again.",
                        st.state,
                        st.status,
                    )
                if st.state == DfuState.MANIFEST:
                    self.sleep(st.poll_ms / 1000)
                    if not self.functional.manifestation_tolerant:
                        break  # now dfuMANIFEST-WAIT-RESET: the device expects only a reset
                st = self.get_status()
                report.manifest_polls += 1
        except _Stall as exc:
            st = self._status_after_stall()
            raise DfuError(
                f"The device stalled {exc.request} at block {block} ({STATUS_TEXT.get(st.status, 'no status')}); run flash again.",
                st.state,
                st.status,
            ) from exc

    def _status_after_stall(self) -> DfuStatus:
        try:
            return self.get_status()
        except _Stall:
            return DfuStatus(DfuStatusCode.ERR_STALLEDPKT, 0, DfuState.DFU_ERROR)

    def recover(self) -> None:
        """Clear an error (DFU_CLRSTATUS) or abort a half-done download (DFU_ABORT)."""
        try:
            st = self.get_status()
            if st.state == DfuState.DFU_ERROR:
                self._ctrl(DfuRequest.CLRSTATUS)
            elif st.state in (DfuState.DNLOAD_IDLE, DfuState.UPLOAD_IDLE, DfuState.DNLOAD_SYNC):
                self._ctrl(DfuRequest.ABORT)
        except _Stall as exc:
            raise DfuError(
                f"The device stalled {exc.request} while recovering; unplug it, plug it back in and run flash again."
            ) from exc

    def flash(
        self,
        image: bytes,
        progress: Callable[[int], None] | None = None,
        retries: int = 1,
        wait_runtime: bool = True,
        check_bootloader: Callable[[Any], None] | None = None,
    ) -> FlashReport:
        """Flash `image`. `check_bootloader(dev)` runs on the DFU-mode device before block 0
        (it may raise to refuse, e.g. a bootloader older than the package needs)."""
        if not image:
            raise DfuError("The firmware image is empty; check the package.")
        size = self.functional.transfer_size
        report = FlashReport(blocks=-(-len(image) // max(size, 1)), transfer_size=size, image_size=len(image))
        if size == 0:
            raise DfuError("The device announces wTransferSize 0 and cannot take a download; contact the vendor.")
        self.detach()
        self.phase = "dfu"
        if check_bootloader is not None:
            check_bootloader(self.dev)
        if not self.functional.attributes & DfuAttributes.CAN_DNLOAD:
            raise DfuError("The device's DFU interface does not accept downloads (bitCanDnload clear); contact the vendor.")
        size = self.functional.transfer_size
        report.transfer_size = size
        report.blocks = -(-len(image) // size)
        self.preflight()
        report.setup = Counter(self.counts)
        while True:
            before = Counter(self.counts)
            try:
                self.download(image, report, progress)
                report.download = self.counts - before
                break
            except DfuDisconnected:
                raise
            except DfuError:
                if report.retries_used >= retries:
                    raise
                report.retries_used += 1
                self.recover()
                self.preflight()
                report.setup += self.counts - before
        self.phase = "reset"
        self._usb_reset()
        if wait_runtime:
            deadline = time.monotonic() + self.reenumerate_s
            while time.monotonic() <= deadline:
                dev = self._find_again(PROTOCOL_RUNTIME)
                if dev is not None:
                    report.new_bcd_device = dev.bcdDevice
                    break
                self.sleep(0.05)
            else:
                # Still in DFU mode when the wait is over (not only just after the reset, while
                # the old DFU-mode device may not have left the bus yet): the bootloader did
                # not start the new image.
                report.stayed_in_dfu = self._find_again(PROTOCOL_DFU) is not None
        return report


class _Stall(DfuError):
    """The device stalled a request (internal: translated into a sentence by the caller)."""

    def __init__(self, request: str) -> None:
        super().__init__(f"The device stalled {request}; run flash again.")
        self.request = request


def open_device(backend: Any, vid: int, pid: int) -> Any:
    """The single DFU-capable device with this VID:PID (runtime or DFU mode)."""
    devices = find_devices(backend, vid, pid)
    if not devices:
        devices = [d for d in find_devices(backend, vid) if (dfu_interface(d) or (0, 0))[1] == PROTOCOL_DFU]
    if not devices:
        raise DfuNotFound(
            f"No DFU-capable USB device {vid:04x}:{pid:04x} is attached; plug it in (check the cable) and run `citycard-provision doctor`."
        )
    if len(devices) > 1:
        raise DfuError(
            f"{len(devices)} devices {vid:04x}:{pid:04x} are attached; unplug all but the one to flash."
        )
    return devices[0]
