"""A fake pyusb backend (`usb.backend.IBackend`) with USB DFU 1.1 devices behind it.

It sits below pyusb: `usb.core.find(backend=FakeUsbBackend(...))` returns real `usb.core.Device`
objects, and every DFU request the host makes is a real `ctrl_transfer` that this backend
answers from a model of the DFU 1.1 state machine (USB DFU 1.1, section 6 and appendix A):

    appIDLE --DETACH--> appDETACH --USB reset--> dfuIDLE (re-enumerated in DFU mode)
    dfuIDLE --DNLOAD(len>0)--> dfuDNLOAD-SYNC --GETSTATUS--> dfuDNLOAD-IDLE
                                  (or dfuDNBUSY for `busy_ms`, then dfuDNLOAD-SYNC again)
    dfuDNLOAD-IDLE --DNLOAD(len>0)--> dfuDNLOAD-SYNC ...
    dfuDNLOAD-IDLE --DNLOAD(len=0)--> dfuMANIFEST-SYNC --GETSTATUS--> dfuMANIFEST
    dfuMANIFEST --(bwPollTimeout)--> dfuMANIFEST-WAIT-RESET   (not manifestation tolerant)
                                  or dfuMANIFEST-SYNC --GETSTATUS--> dfuIDLE (tolerant)
    any request the state does not allow: STALL and dfuERROR (status errSTALLEDPKT)
    dfuERROR --CLRSTATUS--> dfuIDLE;  dfuDNLOAD-IDLE/dfuUPLOAD-IDLE --ABORT--> dfuIDLE
    USB reset in DFU mode after a complete manifestation: runtime mode with the new image.

A request that arrives while the device is busy (before the bwPollTimeout it announced has
elapsed) is stalled, as a real bootloader would, so a host that does not honour bwPollTimeout
fails here. The runtime interface and the DFU-mode interface both carry the DFU functional
descriptor (bmAttributes, wDetachTimeOut, wTransferSize, bcdDFUVersion 0x0110).

Faults (`DfuFaults`): stall a given request (optionally its n-th occurrence), report an error
status (errWRITE, errVERIFY, ...) at block N (once or every time), disconnect at block N.
Every control transfer is counted per request in `FakeDfuDevice.counts`.
"""

from __future__ import annotations

import array
import errno
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

from firmware_tools.dfu_protocol import (
    DFU_CLASS,
    DFU_FUNCTIONAL_DESCRIPTOR,
    DFU_SUBCLASS,
    DFU_VERSION,
    PROTOCOL_DFU,
    PROTOCOL_RUNTIME,
    DfuAttributes,
    DfuRequest,
    DfuState,
    DfuStatusCode,
    request_label,
)

_LIBUSB_ERROR_NO_DEVICE = -4
_LIBUSB_ERROR_PIPE = -9


def functional_descriptor(attributes: int, detach_timeout_ms: int, transfer_size: int) -> bytes:
    """The 9-byte DFU functional descriptor (type 0x21)."""
    return (
        bytes([9, DFU_FUNCTIONAL_DESCRIPTOR, attributes])
        + detach_timeout_ms.to_bytes(2, "little")
        + transfer_size.to_bytes(2, "little")
        + DFU_VERSION.to_bytes(2, "little")
    )


@dataclass
class DfuFaults:
    """Faults to inject. Blocks are counted from 0 (wBlockNum of the DNLOAD)."""

    stall_request: int | None = None  # bRequest to stall
    stall_occurrence: int = 1  # stall its n-th occurrence (1 = first)
    stall_always: bool = False
    error_at_block: int | None = None
    error_status: int = DfuStatusCode.ERR_WRITE
    error_once: bool = True
    disconnect_at_block: int | None = None
    manifest_status: int = DfuStatusCode.OK  # e.g. ERR_VERIFY: the image fails the bootloader's check


def _Desc(values: dict[str, Any]) -> SimpleNamespace:
    """A descriptor object with the attributes pyusb reads."""
    return SimpleNamespace(**values)


@dataclass
class FakeDfuDevice:
    """One USB device with a DFU interface, in runtime mode until detached."""

    vid: int = 0x1209
    pid: int = 0x2001
    dfu_pid: int | None = None  # PID in DFU mode (DFU 1.1 allows a different one)
    bcd_device: int = 0x0100  # firmware version the runtime descriptor reports
    bootloader_bcd: int = 0x0100  # bcdDevice in DFU mode: the bootloader's version
    next_bcd_device: int | None = None  # runtime bcdDevice after a successful flash
    transfer_size: int = 1024
    attributes: int = DfuAttributes.CAN_DNLOAD | DfuAttributes.MANIFESTATION_TOLERANT
    detach_timeout_ms: int = 1000
    poll_timeout_ms: int = 0  # bwPollTimeout announced while busy
    busy_polls: int = 0  # GETSTATUS answers with dfuDNBUSY before a block is written
    manifest_ms: int = 0  # bwPollTimeout announced when entering dfuMANIFEST
    capacity: int = 1 << 20
    start_in_dfu: bool = False
    start_state: int | None = None  # e.g. DfuState.DFU_ERROR left over from an earlier failed flash
    bus: int = 1
    port: int = 3
    faults: DfuFaults = field(default_factory=DfuFaults)
    # observable state
    firmware: bytes = b""
    counts: Counter[str] = field(default_factory=Counter)
    resets: int = 0
    connected: bool = True

    def __post_init__(self) -> None:
        self.dfu_mode = self.start_in_dfu
        self.state: int = DfuState.DFU_IDLE if self.dfu_mode else DfuState.APP_IDLE
        if self.start_state is not None:
            self.state = self.start_state
        self.status: int = DfuStatusCode.ERR_UNKNOWN if self.state == DfuState.DFU_ERROR else DfuStatusCode.OK
        self.address = 5
        self._buffer = bytearray()
        self._next_block = 0
        self._busy_left = 0
        self._busy_until = 0.0
        self._manifested = False
        self._seen: Counter[int] = Counter()
        self._errored_once = False
        self._pending = b""
        self._pending_block = 0

    # -- descriptors ---------------------------------------------------------------------
    @property
    def current_pid(self) -> int:
        return self.dfu_pid if self.dfu_mode and self.dfu_pid is not None else self.pid

    def device_descriptor(self) -> SimpleNamespace:
        return _Desc(
            {
                "bLength": 18,
                "bDescriptorType": 1,
                "bcdUSB": 0x0200,
                "bDeviceClass": 0,
                "bDeviceSubClass": 0,
                "bDeviceProtocol": 0,
                "bMaxPacketSize0": 64,
                "idVendor": self.vid,
                "idProduct": self.current_pid,
                "bcdDevice": self.bootloader_bcd if self.dfu_mode else self.bcd_device,
                "iManufacturer": 0,
                "iProduct": 0,
                "iSerialNumber": 0,
                "bNumConfigurations": 1,
                "address": self.address,
                "bus": self.bus,
                "port_number": self.port,
                "port_numbers": (self.port,),
                "speed": 2,
            }
        )

    def functional(self) -> bytes:
        return functional_descriptor(self.attributes, self.detach_timeout_ms, self.transfer_size)

    def config_descriptor(self) -> SimpleNamespace:
        return _Desc(
            {
                "bLength": 9,
                "bDescriptorType": 2,
                "wTotalLength": 9 + 9 + 9,
                "bNumInterfaces": 1,
                "bConfigurationValue": 1,
                "iConfiguration": 0,
                "bmAttributes": 0x80,
                "bMaxPower": 50,
                "extra_descriptors": [],
            }
        )

    def interface_descriptor(self) -> SimpleNamespace:
        return _Desc(
            {
                "bLength": 9,
                "bDescriptorType": 4,
                "bInterfaceNumber": 0,
                "bAlternateSetting": 0,
                "bNumEndpoints": 0,
                "bInterfaceClass": DFU_CLASS,
                "bInterfaceSubClass": DFU_SUBCLASS,
                "bInterfaceProtocol": PROTOCOL_DFU if self.dfu_mode else PROTOCOL_RUNTIME,
                "iInterface": 0,
                "extra_descriptors": list(self.functional()),
            }
        )

    # -- transfers -----------------------------------------------------------------------
    def _stall(self, request: int) -> None:
        if self.dfu_mode:
            self.state, self.status = DfuState.DFU_ERROR, DfuStatusCode.ERR_STALLEDPKT
        raise usb.core.USBError(
            f"Pipe error ({request_label(request)})", _LIBUSB_ERROR_PIPE, errno.EPIPE
        )

    def _gone(self) -> None:
        raise usb.core.USBError("No such device (it may have been disconnected)", _LIBUSB_ERROR_NO_DEVICE, errno.ENODEV)

    def _error(self, status: int) -> None:
        self.state, self.status = DfuState.DFU_ERROR, status

    def control(self, request_type: int, request: int, value: int, index: int, data: array.array[int]) -> int:
        if not self.connected:
            self._gone()
        self.counts[request_label(request)] += 1
        self._seen[request] += 1
        f = self.faults
        if f.stall_request == request and (f.stall_always or self._seen[request] == f.stall_occurrence):
            self._stall(request)
        if request_type & 0x7F != 0x21:  # class request to interface 0, either direction
            self._stall(request)
        self._tick()
        if self.state == DfuState.DNBUSY or self.state == DfuState.MANIFEST:
            self._stall(request)  # the host did not wait bwPollTimeout
        if request == DfuRequest.DETACH:
            return self._detach()
        if not self.dfu_mode:
            if request == DfuRequest.GETSTATUS:
                return self._status_reply(data, 0)
            if request == DfuRequest.GETSTATE:
                data[0] = self.state
                return 1
            self._stall(request)
        if request == DfuRequest.DNLOAD:
            return self._dnload(value, bytes(data))
        if request == DfuRequest.GETSTATUS:
            return self._getstatus(data)
        if request == DfuRequest.GETSTATE:
            data[0] = self.state
            return 1
        if request == DfuRequest.CLRSTATUS:
            if self.state != DfuState.DFU_ERROR:
                self._stall(request)
            self.state, self.status = DfuState.DFU_IDLE, DfuStatusCode.OK
            return 0
        if request == DfuRequest.ABORT:
            if self.state not in (DfuState.DFU_IDLE, DfuState.DNLOAD_IDLE, DfuState.UPLOAD_IDLE):
                self._stall(request)
            self.state, self.status = DfuState.DFU_IDLE, DfuStatusCode.OK
            self._buffer.clear()
            self._next_block = 0
            return 0
        self._stall(request)  # UPLOAD not supported (bitCanUpload clear)
        return 0

    def _tick(self) -> None:
        """Advance timed states whose poll timeout has elapsed."""
        if self.state in (DfuState.DNBUSY, DfuState.MANIFEST) and time.monotonic() >= self._busy_until:
            if self.state == DfuState.DNBUSY:
                self.state = DfuState.DNLOAD_SYNC
            elif self.attributes & DfuAttributes.MANIFESTATION_TOLERANT:
                self.state = DfuState.MANIFEST_SYNC
            else:
                self.state = DfuState.MANIFEST_WAIT_RESET

    def _detach(self) -> int:
        if self.dfu_mode or self.state != DfuState.APP_IDLE:
            self._stall(DfuRequest.DETACH)
        self.state = DfuState.APP_DETACH
        if self.attributes & DfuAttributes.WILL_DETACH:
            self._reenumerate(dfu=True)
        return 0

    def _dnload(self, block: int, payload: bytes) -> int:
        f = self.faults
        if f.disconnect_at_block is not None and block >= f.disconnect_at_block and payload:
            self.connected = False
            self._gone()
        if self.state not in (DfuState.DFU_IDLE, DfuState.DNLOAD_IDLE):
            self._stall(DfuRequest.DNLOAD)
        if not payload:
            if self.state != DfuState.DNLOAD_IDLE:
                self._stall(DfuRequest.DNLOAD)
            self.state = DfuState.MANIFEST_SYNC
            self._manifested = False
            return 0
        if len(payload) > self.transfer_size:
            self._stall(DfuRequest.DNLOAD)
        if self.state == DfuState.DFU_IDLE:
            self._buffer.clear()
            self._next_block = 0
        if block != self._next_block & 0xFFFF:
            self._error(DfuStatusCode.ERR_ADDRESS)
            return len(payload)
        if len(self._buffer) + len(payload) > self.capacity:
            self._error(DfuStatusCode.ERR_ADDRESS)
            return len(payload)
        self._pending = payload
        self._pending_block = block
        self._busy_left = self.busy_polls
        self.state = DfuState.DNLOAD_SYNC
        return len(payload)

    def _status_reply(self, data: array.array[int], poll_ms: int) -> int:
        reply = bytes([self.status]) + poll_ms.to_bytes(3, "little") + bytes([self.state, 0])
        n = min(len(data), 6)
        data[:n] = array.array("B", reply[:n])
        return n

    def _getstatus(self, data: array.array[int]) -> int:
        f = self.faults
        if self.state == DfuState.DNLOAD_SYNC:
            if self._busy_left > 0:
                self._busy_left -= 1
                self.state = DfuState.DNBUSY
                self._busy_until = time.monotonic() + self.poll_timeout_ms / 1000
                return self._status_reply(data, self.poll_timeout_ms)
            if (
                f.error_at_block is not None
                and self._pending_block == f.error_at_block
                and not (f.error_once and self._errored_once)
            ):
                self._errored_once = True
                self._error(f.error_status)
                return self._status_reply(data, 0)
            self._buffer += self._pending
            self._next_block += 1
            self.state = DfuState.DNLOAD_IDLE
            return self._status_reply(data, 0)
        if self.state == DfuState.MANIFEST_SYNC:
            if self._manifested:
                self.state = DfuState.DFU_IDLE
                return self._status_reply(data, 0)
            if f.manifest_status != DfuStatusCode.OK:
                self._error(f.manifest_status)
                return self._status_reply(data, 0)
            self.firmware = bytes(self._buffer)
            self._manifested = True
            self.state = DfuState.MANIFEST
            self._busy_until = time.monotonic() + self.manifest_ms / 1000
            return self._status_reply(data, self.manifest_ms)
        return self._status_reply(data, 0)

    # -- bus events ----------------------------------------------------------------------
    def reset(self) -> None:
        if not self.connected:
            self._gone()
        self.resets += 1
        self._tick()
        if not self.dfu_mode:
            if self.state == DfuState.APP_DETACH:
                self._reenumerate(dfu=True)
            return
        if self._manifested and self.state in (DfuState.MANIFEST_WAIT_RESET, DfuState.DFU_IDLE):
            if self.next_bcd_device is not None:
                self.bcd_device = self.next_bcd_device
            self._reenumerate(dfu=False)
        elif self.state in (DfuState.MANIFEST_WAIT_RESET, DfuState.DFU_IDLE, DfuState.DFU_ERROR):
            # no valid new image: stays in DFU mode (a real bootloader would)
            self.state, self.status = DfuState.DFU_IDLE, DfuStatusCode.OK
            self._buffer.clear()
            self._next_block = 0

    def _reenumerate(self, dfu: bool) -> None:
        self.dfu_mode = dfu
        self.state = DfuState.DFU_IDLE if dfu else DfuState.APP_IDLE
        self.status = DfuStatusCode.OK
        self.address += 1
        self._buffer.clear()
        self._next_block = 0
        self._manifested = False


class FakeUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """A pyusb backend whose bus holds the given fake devices (plus plain non-DFU ones)."""

    def __init__(self, devices: list[FakeDfuDevice] | None = None, others: list[tuple[int, int]] | None = None) -> None:
        super().__init__()
        self.devices: list[FakeDfuDevice] = list(devices or [])
        self.others = [_PlainDevice(vid, pid, i) for i, (vid, pid) in enumerate(others or [])]

    def enumerate_devices(self) -> list[Any]:
        return [d for d in self.devices if d.connected] + list(self.others)

    def get_device_descriptor(self, dev: Any) -> Any:
        return dev.device_descriptor()

    def get_configuration_descriptor(self, dev: Any, config: int) -> Any:
        if config != 0:
            raise IndexError("configuration index")
        return dev.config_descriptor()

    def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> Any:
        if config != 0 or intf != 0 or alt != 0:
            raise IndexError("interface index")
        return dev.interface_descriptor()

    def get_endpoint_descriptor(self, dev: Any, ep: int, intf: int, alt: int, config: int) -> Any:
        raise IndexError("no endpoints")

    def open_device(self, dev: Any) -> Any:
        if isinstance(dev, FakeDfuDevice) and not dev.connected:
            raise usb.core.USBError("No such device", _LIBUSB_ERROR_NO_DEVICE, errno.ENODEV)
        return _Handle(dev, getattr(dev, "address", 0))

    def close_device(self, dev_handle: Any) -> None:
        return None

    def set_configuration(self, dev_handle: Any, config_value: int) -> None:
        return None

    def get_configuration(self, dev_handle: Any) -> int:
        return 1

    def set_interface_altsetting(self, dev_handle: Any, intf: int, altsetting: int) -> None:
        return None

    def claim_interface(self, dev_handle: Any, intf: int) -> None:
        self._check(dev_handle)

    def release_interface(self, dev_handle: Any, intf: int) -> None:
        return None

    def is_kernel_driver_active(self, dev_handle: Any, intf: int) -> bool:
        return False

    def _check(self, handle: _Handle) -> FakeDfuDevice:
        dev = handle.dev
        if not isinstance(dev, FakeDfuDevice):
            raise usb.core.USBError("Pipe error", _LIBUSB_ERROR_PIPE, errno.EPIPE)
        if not dev.connected or dev.address != handle.address:
            # the device re-enumerated (or left): this handle is stale
            raise usb.core.USBError("No such device (it may have been disconnected)", _LIBUSB_ERROR_NO_DEVICE, errno.ENODEV)
        return dev

    def ctrl_transfer(
        self, dev_handle: Any, bmRequestType: int, bRequest: int, wValue: int, wIndex: int, data: Any, timeout: int
    ) -> int:
        dev = self._check(dev_handle)
        return dev.control(bmRequestType, bRequest, wValue, wIndex, data)

    def reset_device(self, dev_handle: Any) -> None:
        dev = self._check(dev_handle)
        dev.reset()


@dataclass
class _Handle:
    dev: Any
    address: int


class _PlainDevice:
    """A device without a DFU interface (a reader or printer on the same bus)."""

    def __init__(self, vid: int, pid: int, n: int) -> None:
        self.vid, self.pid, self.n = vid, pid, n

    def device_descriptor(self) -> SimpleNamespace:
        return _Desc(
            {
                "bLength": 18, "bDescriptorType": 1, "bcdUSB": 0x0200, "bDeviceClass": 0,
                "bDeviceSubClass": 0, "bDeviceProtocol": 0, "bMaxPacketSize0": 64,
                "idVendor": self.vid, "idProduct": self.pid, "bcdDevice": 0x0100,
                "iManufacturer": 0, "iProduct": 0, "iSerialNumber": 0, "bNumConfigurations": 1,
                "address": 20 + self.n, "bus": 2, "port_number": 1 + self.n,
                "port_numbers": (1 + self.n,), "speed": 2,
            }
        )

    def config_descriptor(self) -> SimpleNamespace:
        return _Desc(
            {
                "bLength": 9, "bDescriptorType": 2, "wTotalLength": 18, "bNumInterfaces": 1,
                "bConfigurationValue": 1, "iConfiguration": 0, "bmAttributes": 0x80,
                "bMaxPower": 50, "extra_descriptors": [],
            }
        )

    def interface_descriptor(self) -> SimpleNamespace:
        return _Desc(
            {
                "bLength": 9, "bDescriptorType": 4, "bInterfaceNumber": 0, "bAlternateSetting": 0,
                "bNumEndpoints": 0, "bInterfaceClass": 0xFF, "bInterfaceSubClass": 0,
                "bInterfaceProtocol": 0, "iInterface": 0, "extra_descriptors": [],
            }
        )
