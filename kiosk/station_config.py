"""The kiosk's real devices, from a TOML file (`citycard-kiosk serve --station FILE`).

    [writer]                   # the PC/SC reader that writes the chip (programmes with a chip)
    reader = "ACR122U"         # part of its PC/SC name; left out: the first reader there is
    wait = 60                  # seconds to wait for the attendant to place a blank card

    [card_printer]             # exactly one of:
    ipp = "ipp://cardprinter.local/ipp/print"    # driverless printer or CUPS queue
    # directory = "/var/spool/citycard/cards"    # card PNGs for a spooler to pick up

    [receipt_printer]          # exactly one of:
    network = "192.0.2.10:9100"                  # ESC/POS on raw TCP
    # usb = "04b8:0e15"                          # VID:PID, vendor-class bulk endpoints
    # serial = "/dev/ttyUSB0"
    # directory = "/var/spool/citycard/receipts" # the ESC/POS bytes, for a spooler
    paper = 80                 # mm: 80 or 58

There is no paper-card option: `printer.paper_card` lays out a temporary card for the receipt
roll, but the kiosk does not print it (docs/architecture.md says why); a kiosk without a working
card printer makes no cards.

Nothing in the file is personal; `load_station_config` checks it whole and names the file, the
key and the fix in its errors, as the programme loader does.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardio.errors import CitycardError

_SECTIONS = {
    "writer": {"reader", "wait"},
    "card_printer": {"ipp", "directory"},
    "receipt_printer": {"network", "usb", "serial", "directory", "paper"},
}


class StationConfigError(CitycardError):
    """The station file cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class WriterConfig:
    reader: str | None = None
    wait: float = 60.0


@dataclass(frozen=True)
class CardPrinterConfig:
    ipp: str | None = None
    directory: Path | None = None


@dataclass(frozen=True)
class ReceiptPrinterConfig:
    network: tuple[str, int] | None = None
    usb: tuple[int, int] | None = None
    serial: str | None = None
    directory: Path | None = None
    paper: int = 80


@dataclass(frozen=True)
class StationConfig:
    path: Path
    writer: WriterConfig | None
    card_printer: CardPrinterConfig
    receipt_printer: ReceiptPrinterConfig


def load_station_config(path: Path) -> StationConfig:
    """Read and check a station file; StationConfigError with the fix otherwise."""
    path = Path(path)

    def fail(key: str, message: str) -> StationConfigError:
        where = f"{path}: {key}: " if key else f"{path}: "
        return StationConfigError(where + message)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail("", "there is no such file; give the station file's path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail("", f"it cannot be read ({exc}); check its permissions.") from None
    except tomllib.TOMLDecodeError as exc:
        raise fail("", f"it is not valid TOML ({exc}); fix the line it names.") from None
    for section in data:
        if section not in _SECTIONS:
            raise fail(section, f"unknown section; use {', '.join(sorted(_SECTIONS))}.")
    for section, table in data.items():
        if not isinstance(table, dict):
            raise fail(section, "must be a [section] table.")
        for key in table:
            if (section, key) == ("card_printer", "paper"):
                raise fail(
                    "card_printer.paper",
                    "this kiosk does not print paper cards; give the card printer with "
                    'ipp = "ipp://…" (or a spool directory = "…") and remove paper.',
                )
            if key not in _SECTIONS[section]:
                allowed = ", ".join(sorted(_SECTIONS[section]))
                raise fail(f"{section}.{key}", f"unknown key; [{section}] takes {allowed}.")

    writer = None
    if "writer" in data:
        table = data["writer"]
        reader = table.get("reader")
        if reader is not None and (not isinstance(reader, str) or not reader.strip()):
            raise fail("writer.reader", "must be part of the reader's PC/SC name, e.g. \"ACR122U\".")
        wait = table.get("wait", 60)
        if type(wait) not in (int, float) or not 1 <= wait <= 600:
            raise fail("writer.wait", "must be a number of seconds from 1 to 600.")
        writer = WriterConfig(reader, float(wait))

    card = data.get("card_printer")
    if card is None:
        raise fail("card_printer", "missing; add [card_printer] with ipp = \"ipp://…\" or directory = \"…\".")
    _exactly_one(card, ("ipp", "directory"), "card_printer", fail)
    ipp = card.get("ipp")
    if ipp is not None and (not isinstance(ipp, str) or not ipp.startswith(("ipp://", "ipps://", "http://", "https://"))):
        raise fail("card_printer.ipp", "must be an ipp:// or ipps:// URI, e.g. ipp://cardprinter.local/ipp/print.")
    card_printer = CardPrinterConfig(ipp, _directory(card, "card_printer", fail))

    receipt = data.get("receipt_printer")
    if receipt is None:
        raise fail(
            "receipt_printer",
            "missing; add [receipt_printer] with network, usb, serial or directory.",
        )
    _exactly_one(receipt, ("network", "usb", "serial", "directory"), "receipt_printer", fail)
    paper = receipt.get("paper", 80)
    if paper not in (58, 80) or type(paper) is not int:
        raise fail("receipt_printer.paper", "must be 80 or 58 (the roll's width in mm).")
    serial = receipt.get("serial")
    if serial is not None and (not isinstance(serial, str) or not serial.startswith("/dev/")):
        raise fail("receipt_printer.serial", "must be a device path such as /dev/ttyUSB0.")
    receipt_printer = ReceiptPrinterConfig(
        _host_port(receipt.get("network"), fail),
        _vid_pid(receipt.get("usb"), fail),
        serial,
        _directory(receipt, "receipt_printer", fail),
        paper,
    )
    return StationConfig(path, writer, card_printer, receipt_printer)


def _exactly_one(table: dict[str, Any], keys: tuple[str, ...], section: str, fail: Any) -> None:
    given = [k for k in keys if k in table]
    if len(given) != 1:
        raise fail(section, f"give exactly one of {', '.join(keys)} (found {len(given)}).")


def _directory(table: dict[str, Any], section: str, fail: Any) -> Path | None:
    value = table.get("directory")
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise fail(f"{section}.directory", "must be an absolute path.")
    return Path(value)


def _host_port(value: object, fail: Any) -> tuple[str, int] | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else ""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "9100")
    digits = port.isascii() and port.isdigit() and len(port) <= 5  # not "²", not 5000 digits
    if not host or not digits or not 0 < int(port) < 65536:
        raise fail("receipt_printer.network", "must be HOST or HOST:PORT, e.g. \"192.0.2.10:9100\".")
    return host.strip("[]"), int(port)


def _vid_pid(value: object, fail: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    vid, _, pid = value.partition(":") if isinstance(value, str) else ("", "", "")
    hexdigits = set("0123456789abcdefABCDEF")
    if len(vid) != 4 or len(pid) != 4 or not set(vid + pid) <= hexdigits:
        raise fail("receipt_printer.usb", "must be VID:PID in hex, e.g. \"04b8:0e15\".")
    return int(vid, 16), int(pid, 16)
