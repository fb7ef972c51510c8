"""USB DFU 1.1 numbers, once for the host (`firmware_tools.dfu`) and the simulated device.

Class requests (DFU 1.1 table 3.2), device states (section 6.1.2), status codes (table 6.2),
the functional descriptor's bmAttributes bits (section 4.1.3) and the interface class,
subclass and protocols that identify a DFU interface (sections 4.1.2 and 4.2.3).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "DFU_CLASS",
    "DFU_FUNCTIONAL_DESCRIPTOR",
    "DFU_SUBCLASS",
    "DFU_VERSION",
    "PROTOCOL_DFU",
    "PROTOCOL_RUNTIME",
    "DfuAttributes",
    "DfuRequest",
    "DfuState",
    "DfuStatusCode",
    "request_label",
]

DFU_CLASS, DFU_SUBCLASS = 0xFE, 0x01  # application specific, device firmware upgrade
PROTOCOL_RUNTIME, PROTOCOL_DFU = 0x01, 0x02  # bInterfaceProtocol in runtime / DFU mode
DFU_FUNCTIONAL_DESCRIPTOR = 0x21  # bDescriptorType of the functional descriptor
DFU_VERSION = 0x0110  # bcdDFUVersion: DFU 1.1


class DfuRequest(IntEnum):
    """bRequest of the DFU class requests."""

    DETACH = 0
    DNLOAD = 1
    UPLOAD = 2
    GETSTATUS = 3
    CLRSTATUS = 4
    GETSTATE = 5
    ABORT = 6

    @property
    def label(self) -> str:
        """The specification's name, e.g. DFU_DNLOAD."""
        return f"DFU_{self.name}"


def request_label(request: int) -> str:
    """DFU_DNLOAD for 1; the number itself for a bRequest that is no DFU request."""
    try:
        return DfuRequest(request).label
    except ValueError:
        return str(request)


class DfuState(IntEnum):
    """bState: where the device is in the DFU state machine."""

    APP_IDLE = 0
    APP_DETACH = 1
    DFU_IDLE = 2
    DNLOAD_SYNC = 3
    DNBUSY = 4
    DNLOAD_IDLE = 5
    MANIFEST_SYNC = 6
    MANIFEST = 7
    MANIFEST_WAIT_RESET = 8
    UPLOAD_IDLE = 9
    DFU_ERROR = 10

    @property
    def label(self) -> str:
        """The specification's name, e.g. dfuDNLOAD-IDLE."""
        return _STATE_LABELS[self]


_STATE_LABELS = {
    DfuState.APP_IDLE: "appIDLE",
    DfuState.APP_DETACH: "appDETACH",
    DfuState.DFU_IDLE: "dfuIDLE",
    DfuState.DNLOAD_SYNC: "dfuDNLOAD-SYNC",
    DfuState.DNBUSY: "dfuDNBUSY",
    DfuState.DNLOAD_IDLE: "dfuDNLOAD-IDLE",
    DfuState.MANIFEST_SYNC: "dfuMANIFEST-SYNC",
    DfuState.MANIFEST: "dfuMANIFEST",
    DfuState.MANIFEST_WAIT_RESET: "dfuMANIFEST-WAIT-RESET",
    DfuState.UPLOAD_IDLE: "dfuUPLOAD-IDLE",
    DfuState.DFU_ERROR: "dfuERROR",
}


class DfuStatusCode(IntEnum):
    """bStatus: the result of the device's last operation."""

    OK = 0x00
    ERR_TARGET = 0x01
    ERR_FILE = 0x02
    ERR_WRITE = 0x03
    ERR_ERASE = 0x04
    ERR_CHECK_ERASED = 0x05
    ERR_PROG = 0x06
    ERR_VERIFY = 0x07
    ERR_ADDRESS = 0x08
    ERR_NOTDONE = 0x09
    ERR_FIRMWARE = 0x0A
    ERR_VENDOR = 0x0B
    ERR_USBR = 0x0C
    ERR_POR = 0x0D
    ERR_UNKNOWN = 0x0E
    ERR_STALLEDPKT = 0x0F


class DfuAttributes(IntFlag):
    """bmAttributes of the functional descriptor."""

    CAN_DNLOAD = 0x01
    CAN_UPLOAD = 0x02
    MANIFESTATION_TOLERANT = 0x04
    WILL_DETACH = 0x08
