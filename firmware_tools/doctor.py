"""`citycard-provision doctor`: what is attached, whether it will work, and what to do if not.

Checks, each independent (one failing never hides the others):

- PC/SC: is pcscd reachable, which readers it has; for ACR122U readers the firmware version
  (`FF 00 48 00 00`: through SCardControl(IOCTL_CCID_ESCAPE) on a direct connection, else as a
  pseudo-APDU to a shared connection when a card is present).
- USB: every device on the bus, named from `KNOWN_USB` (readers, PN532 boards behind USB-serial
  bridges, receipt and card printers); for each known one the next steps when its device node
  is not accessible (udev rule), its driver is missing (libccid for PC/SC readers) or pcscd is
  down.
- nfcpy: every path the technician passes (`--nfc tty:USB0:pn532`, `--nfc usb:001:004`): is an
  nfcpy reader there, and its chipset and firmware (for a PN532, GetFirmwareVersion).
- Serial ports (pyserial `list_ports`), with the USB id of the bridge where there is one.

`KNOWN_USB` marks `assumed=True` for ids taken from vendor ranges or second-hand lists rather
than from a device at hand; a vendor-wide entry (pid None) matches any product of that vendor.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError
from cardio.pcsc import IOCTL_CCID_ESCAPE, list_readers

ACR122_FIRMWARE = bytes.fromhex("FF00480000")
CCID_DRIVER = Path("/usr/lib/pcsc/drivers/ifd-ccid.bundle")


@dataclass(frozen=True, slots=True)
class Known:
    name: str
    kind: str  # pcsc-reader, nfcpy-reader, usb-serial, receipt-printer, card-printer
    assumed: bool = False


KNOWN_USB: dict[tuple[int, int | None], Known] = {
    (0x072F, 0x2200): Known("ACS ACR122U", "pcsc-reader"),
    (0x072F, 0x223B): Known("ACS ACR1252U", "pcsc-reader", assumed=True),
    (0x076B, 0x5421): Known("HID Omnikey 5421", "pcsc-reader"),
    (0x076B, 0x5422): Known("HID Omnikey 5022", "pcsc-reader", assumed=True),
    (0x076B, 0x5427): Known("HID Omnikey 5427 CK", "pcsc-reader", assumed=True),
    (0x04E6, 0x5591): Known("SCM SCL3711", "nfcpy-reader"),
    (0x054C, 0x06C3): Known("Sony RC-S380", "nfcpy-reader"),
    (0x054C, 0x02E1): Known("Sony RC-S330", "nfcpy-reader"),
    (0x10C4, 0xEA60): Known("CP210x USB-serial bridge (PN532 board?)", "usb-serial"),
    (0x1A86, 0x7523): Known("CH340 USB-serial bridge (PN532 board?)", "usb-serial"),
    (0x0403, 0x6001): Known("FTDI FT232 USB-serial bridge (PN532 board?)", "usb-serial"),
    (0x067B, 0x2303): Known("Prolific PL2303 USB-serial bridge (PN532 board?)", "usb-serial"),
    (0x04B8, 0x0202): Known("Epson TM receipt printer (TM-T88 family)", "receipt-printer"),
    (0x04B8, 0x0E15): Known("Epson TM-T20II receipt printer", "receipt-printer"),
    (0x04B8, 0x0E28): Known("Epson TM-T20III receipt printer", "receipt-printer", assumed=True),
    (0x0519, None): Known("Star Micronics receipt printer", "receipt-printer", assumed=True),
    (0x0F49, None): Known("Evolis card printer", "card-printer", assumed=True),
    (0x0A5F, None): Known("Zebra printer", "card-printer", assumed=True),
    (0x09B0, None): Known("Fargo card printer", "card-printer", assumed=True),
}


def identify(vid: int, pid: int) -> Known | None:
    return KNOWN_USB.get((vid, pid)) or KNOWN_USB.get((vid, None))


_SELF_REFERRAL = re.compile(r",? (?:or|and) run [`']citycard-provision doctor[`']")


@dataclass
class Problem:
    what: str
    next_step: str  # often an error's sentence: doctor itself is not a next step, nor a full stop

    def __post_init__(self) -> None:
        self.next_step = _SELF_REFERRAL.sub("", self.next_step).strip().rstrip(".")

    def as_dict(self) -> dict[str, str]:
        return {"what": self.what, "next_step": self.next_step}


@dataclass
class Report:
    pcscd_running: bool = False
    readers: list[dict[str, Any]] = field(default_factory=list)
    usb: list[dict[str, Any]] = field(default_factory=list)
    nfc: list[dict[str, Any]] = field(default_factory=list)
    serial: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pcsc": {"running": self.pcscd_running, "readers": self.readers},
            "usb": self.usb,
            "nfc": self.nfc,
            "serial": self.serial,
            "problems": [p.as_dict() for p in self.problems],
            "ok": not self.problems,
        }


@dataclass
class Environment:
    """What doctor looks at; tests pass a fake USB backend and a scratch /dev/bus/usb."""

    usb_backend: Any = None
    devfs: Path = Path("/dev/bus/usb")
    access: Callable[[str, int], bool] = os.access
    ccid_driver: Path = CCID_DRIVER
    serial_ports: Callable[[], list[Any]] | None = None


def check_pcsc(report: Report, env: Environment) -> None:
    try:
        names = list_readers()
    except CitycardError as exc:
        report.problems.append(Problem("pcscd is not reachable", str(exc)))
        return
    report.pcscd_running = True
    for name in names:
        entry: dict[str, Any] = {"name": name}
        if "ACR122" in name.upper():
            fw, note = acr122_firmware(name)
            entry["firmware"] = fw
            if note:
                entry["note"] = note
        report.readers.append(entry)


def acr122_firmware(reader: str) -> tuple[str | None, str | None]:
    """The ACR122U firmware string (e.g. 'ACR122U215'), and a note when it cannot be read."""
    from smartcard import scard

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != 0:
        return None, "pcscd refused a context"
    try:
        hresult, card, _proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_DIRECT, 0)
        if hresult == 0:
            try:
                hresult, answer = scard.SCardControl(card, IOCTL_CCID_ESCAPE, list(ACR122_FIRMWARE))
                if hresult == 0 and answer:
                    return _firmware_text(bytes(answer)), None
            finally:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        hresult, card, proto = scard.SCardConnect(
            ctx, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        if hresult != 0:
            return None, (
                "escape commands are disabled: set ifdDriverOptions to 0x0001 in libccid's Info.plist "
                "and restart pcscd, or put a card on the reader and run doctor again"
            )
        try:
            hresult, answer = scard.SCardTransmit(card, proto, list(ACR122_FIRMWARE))
            if hresult == 0 and answer:
                return _firmware_text(bytes(answer)), None
            return None, "the reader did not answer the firmware query"
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
    finally:
        scard.SCardReleaseContext(ctx)


def _firmware_text(answer: bytes) -> str:
    if answer.endswith(b"\x90\x00"):
        answer = answer[:-2]
    text = answer.decode("ascii", "replace").strip("\x00 ")
    return text or answer.hex()


def check_usb(report: Report, env: Environment) -> None:
    import usb.core

    try:
        devices = list(usb.core.find(find_all=True, backend=env.usb_backend))
    except usb.core.NoBackendError:
        report.problems.append(
            Problem("libusb is missing, so USB devices cannot be listed", "install libusb-1.0-0 (apt-get install libusb-1.0-0)")
        )
        return
    for dev in devices:
        vid, pid = int(dev.idVendor), int(dev.idProduct)
        known = identify(vid, pid)
        node = env.devfs / f"{int(dev.bus or 0):03d}" / f"{int(dev.address or 0):03d}"
        entry: dict[str, Any] = {
            "usb_id": f"{vid:04x}:{pid:04x}",
            "bus": dev.bus,
            "address": dev.address,
            "name": known.name if known else None,
            "kind": known.kind if known else None,
            "assumed_id": known.assumed if known else None,
            "version": _bcd(int(dev.bcdDevice)),
        }
        report.usb.append(entry)
        if known is None:
            continue
        label = f"{known.name} ({entry['usb_id']}, bus {entry['bus']} device {entry['address']})"
        if known.kind != "pcsc-reader" and node.exists() and not env.access(str(node), os.R_OK | os.W_OK):
            report.problems.append(
                Problem(
                    f"{label}: no read/write access to {node}",
                    "install the citycard udev rule (docs/technician.md: /etc/udev/rules.d/60-citycard.rules), run `sudo udevadm control --reload && sudo udevadm trigger`, then replug it",
                )
            )
        if known.kind == "pcsc-reader":
            if not env.ccid_driver.exists():
                report.problems.append(
                    Problem(f"{label}: the CCID driver is missing", "install it with `sudo apt-get install libccid`, then restart pcscd")
                )
            elif not report.pcscd_running:
                report.problems.append(
                    Problem(f"{label}: attached but pcscd is not running", "start it with `sudo systemctl start pcscd.socket`")
                )
            elif not any(_reader_matches(r["name"], known) for r in report.readers):
                report.problems.append(
                    Problem(
                        f"{label}: attached but pcscd does not list it",
                        "replug the reader; if it still does not appear, `sudo systemctl restart pcscd` and check that no kernel NFC driver (pn533_usb) holds it: `echo 'blacklist pn533_usb' | sudo tee /etc/modprobe.d/citycard-nfc.conf`",
                    )
                )
        if known.kind == "nfcpy-reader":
            entry["nfc_path"] = f"usb:{int(dev.bus or 0):03d}:{int(dev.address or 0):03d}"
        if known.kind == "usb-serial":
            # its tty is known only from the serial port list, which gives the --nfc path
            entry["hint"] = "a PN532 board on it is reached with --nfc and the tty:...:pn532 path of its serial port below"


def _reader_matches(reader: str, known: Known) -> bool:
    words = known.name.split()
    return any(w.upper() in reader.upper() for w in words[1:2])


def _bcd(bcd: int) -> str:
    return f"{bcd >> 8:x}.{bcd & 0xFF:02x}"


def check_nfc(report: Report, paths: list[str]) -> None:
    from cardio.nfc_backend import open_frontend

    for path in paths:
        try:
            clf = open_frontend(path)
        except CitycardError as exc:
            report.nfc.append({"path": path, "error": str(exc)})
            report.problems.append(Problem(f"no NFC reader answers at {path}", str(exc)))
            continue
        try:
            device = clf.device
            report.nfc.append(
                {
                    "path": path,
                    "vendor": getattr(device, "vendor_name", None),
                    "product": getattr(device, "product_name", None),
                    "chipset": getattr(device, "chipset_name", None),
                }
            )
        finally:
            try:
                clf.close()
            except Exception:  # nfcpy may fail at close on a flaky link; doctor only reads
                tty = getattr(getattr(getattr(clf.device, "chipset", None), "transport", None), "tty", None)
                if tty is not None:
                    tty.close()


def check_serial(report: Report, env: Environment) -> None:
    if env.serial_ports is not None:
        ports = env.serial_ports()
    else:
        from serial.tools import list_ports

        ports = list(list_ports.comports())
    for port in ports:
        entry: dict[str, Any] = {"device": port.device, "description": port.description}
        if port.vid is not None and port.pid is not None:
            entry["usb_id"] = f"{port.vid:04x}:{port.pid:04x}"
            known = identify(port.vid, port.pid)
            if known is not None:
                entry["name"] = known.name
                if known.kind == "usb-serial":
                    entry["nfc_path"] = f"tty:{port.device.removeprefix('/dev/')}:pn532"
        report.serial.append(entry)


def run(env: Environment, nfc_paths: list[str]) -> Report:
    report = Report()
    check_pcsc(report, env)
    check_usb(report, env)
    check_nfc(report, nfc_paths)
    check_serial(report, env)
    return report


def render(report: Report) -> str:
    lines = []
    if report.pcscd_running:
        lines.append(f"pcscd: running, {len(report.readers)} reader(s)")
        for r in report.readers:
            fw = f" firmware {r['firmware']}" if r.get("firmware") else ""
            lines.append(f"  {r['name']}{fw}")
    else:
        lines.append("pcscd: not reachable")
    lines.append(f"USB: {len(report.usb)} device(s)")
    for u in report.usb:
        name = u["name"] or "unknown device"
        assumed = " (id assumed)" if u["assumed_id"] else ""
        nfc = f" (--nfc {u['nfc_path']})" if u.get("nfc_path") else ""
        lines.append(f"  {u['usb_id']} {name}{assumed} v{u['version']} bus {u['bus']} device {u['address']}{nfc}")
        if u.get("hint"):
            lines.append(f"    {u['hint']}")
    for n in report.nfc:
        if "error" in n:
            lines.append(f"NFC {n['path']}: not found")
        else:
            lines.append(f"NFC {n['path']}: {n['vendor'] or ''} {n['product'] or ''} {n['chipset'] or ''}".rstrip())
    lines.append(f"serial ports: {len(report.serial)}")
    for s in report.serial:
        pn532 = f" (--nfc {s['nfc_path']})" if s.get("nfc_path") else ""
        lines.append(f"  {s['device']} {s.get('usb_id', '')} {s.get('name') or s['description']}".rstrip() + pn532)
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s):")
        for p in report.problems:
            lines.append(f"  - {p.what}: {p.next_step}.")
    else:
        lines.append("No problems found.")
    return "\n".join(lines)
