"""The NFC Forum Type 4 Tag NDEF application (mapping versions 2.0 and 3.0) over an ApduProcessor.

A reader selects the NDEF application (AID D2760000850101), the capability container (CC,
file E103), reads it, selects the NDEF file it names, and reads NLEN (2 bytes; 4-byte ENLEN
when the CC uses the Extended NDEF File Control TLV) followed by the NDEF message.

Reads use the fewest APDUs the frame size allows: the first READ BINARY asks for a whole chunk
from offset 0, so NLEN and the first message bytes arrive together. A full read from a card
the reader knows nothing about therefore costs `minimum_read_apdus(nlen, chunk, nlen_size)`:

    3 SELECTs (application, CC file, NDEF file)
  + 1 READ BINARY of the CC (15 bytes; +1 for a 17-byte CC with the Extended TLV)
  + max(1, ceil((nlen_size + NLEN) / chunk))      chunk = min(MLe, reader's largest Ne)

Writes follow the torn-write-safe order of the Type 4 Tag specification: NLEN = 0, the message
from offset nlen_size in chunks of MLc, then the real NLEN. A card pulled at any point reads
back as empty (NLEN 0) or with its previous message, never as a half message with a valid NLEN.

The NDEF message holds one MIME record `application/vnd.citycard+cwt` whose payload is the chip
credential (see `ndef_message` and `credential_from_ndef`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import ndef  # type: ignore[import-untyped, unused-ignore]

from .apdu import (
    ApduError,
    ApduFileNotFoundError,
    ApduProcessor,
    ClaNotSupportedError,
    InsNotSupportedError,
    NotEnoughMemoryError,
    SecurityStatusError,
)
from .credential import MEDIA_TYPE
from .errors import (
    CardLockedError,
    CardReadProtectedError,
    CardTooSmallError,
    MalformedCardError,
    NoCredentialError,
    NotType4Error,
)

__all__ = [
    "CC_FILE",
    "LOCK_APDU",
    "NDEF_AID",
    "CapabilityContainer",
    "CardLockedError",
    "CardReadProtectedError",
    "CardTooSmallError",
    "MalformedCardError",
    "NdefApplication",
    "NoCredentialError",
    "NotType4Error",
    "credential_from_ndef",
    "minimum_read_apdus",
    "ndef_message",
]

NDEF_AID = bytes.fromhex("D2760000850101")
CC_FILE = 0xE103
DEFAULT_NDEF_FILE = 0xE104
# The profile lock of citycard's Java Card applets (docs/card-profiles.md): CLA INS P1 P2.
LOCK_APDU = (0x80, 0xF0, 0x00, 0x00)

TLV_NDEF_FILE = 0x04  # NDEF File Control TLV, L = 6, 2-byte max size, 2-byte NLEN
TLV_ENDEF_FILE = 0x06  # Extended NDEF File Control TLV (mapping 3.0), L = 8, 4-byte ENLEN
ACCESS_GRANTED = 0x00
ACCESS_NONE = 0xFF
MAX_B0_OFFSET = 0x7FFF  # READ/UPDATE BINARY with even INS address offsets up to 32767
CC_FIRST_READ = 15  # the smallest CC (mapping 2.0); MLe is at least 15, so this is always safe
_RESERVED_FILE_IDS = frozenset({0x0000, 0xE102, 0xE103, 0x3F00, 0x3FFF, 0xFFFF})
_SUPPORTED_MAJOR = (2, 3)


def minimum_read_apdus(nlen: int, chunk: int, nlen_size: int = 2) -> int:
    """The fewest APDUs a full NDEF read takes from a card the reader knows nothing about.

    3 SELECTs + the CC read(s) + max(1, ceil((nlen_size + nlen) / chunk)) READ BINARYs, where
    chunk = min(MLe, the reader's largest Ne). A 4-byte ENLEN comes with a 17-byte CC, which
    takes a second (2-byte) CC read after the 15 bytes a reader may safely ask for first.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1 byte")
    cc_reads = 1 if nlen_size == 2 else 2
    return 3 + cc_reads + max(1, math.ceil((nlen_size + nlen) / chunk))


# -- capability container ------------------------------------------------------------------------


@dataclass(frozen=True)
class CapabilityContainer:
    """The CC file of a Type 4 tag; only the first (mandatory) file control TLV is kept.

    `max_size` is the maximum NDEF file size, NLEN/ENLEN included. `extended_tlv` selects the
    Extended NDEF File Control TLV (T=06: 4-byte size and ENLEN), valid for mapping 3.x only.
    Constructing or parsing an invalid CC raises MalformedCardError (or NotType4Error for a
    mapping major version other than 2 or 3).
    """

    version: int = 0x20
    mle: int = 0xFF
    mlc: int = 0xFF
    file_id: int = DEFAULT_NDEF_FILE
    max_size: int = 4096
    read_access: int = ACCESS_GRANTED
    write_access: int = ACCESS_GRANTED
    extended_tlv: bool = False

    def __post_init__(self) -> None:
        major = self.version >> 4
        if not 0 <= self.version <= 0xFF:
            raise MalformedCardError(f"CC mapping version byte {self.version} is not a byte.")
        if major not in _SUPPORTED_MAJOR:
            raise NotType4Error(
                f"This tag uses Type 4 mapping version {major}.{self.version & 0xF}, which this "
                "reader does not support (2.x and 3.x only)."
            )
        if self.extended_tlv and major < 3:
            raise MalformedCardError(
                "The CC has an Extended NDEF File Control TLV, which mapping 2.x does not define."
            )
        if not 0x000F <= self.mle <= 0xFFFF:
            raise MalformedCardError(f"The CC's MLe {self.mle} is outside 000F..FFFF.")
        if not 0x0001 <= self.mlc <= 0xFFFF:
            raise MalformedCardError(f"The CC's MLc {self.mlc} is outside 0001..FFFF.")
        if not 0 <= self.file_id <= 0xFFFF or self.file_id in _RESERVED_FILE_IDS:
            raise MalformedCardError(
                f"The CC names NDEF file {self.file_id:04X}, a reserved identifier."
            )
        low, high = (0x0007, 0xFFFFFFFE) if self.extended_tlv else (0x0005, 0xFFFE)
        if not low <= self.max_size <= high:
            raise MalformedCardError(
                f"The CC's maximum NDEF file size {self.max_size} is outside {low}..{high}."
            )
        for name, value in (("read", self.read_access), ("write", self.write_access)):
            if not 0 <= value <= 0xFF:
                raise MalformedCardError(f"The CC's {name} access {value} is not a byte.")

    # -- derived values --

    @property
    def mapping_version(self) -> str:
        return f"{self.version >> 4}.{self.version & 0xF}"

    @property
    def nlen_size(self) -> int:
        """2 (NLEN) or 4 (ENLEN, Extended NDEF File Control TLV)."""
        return 4 if self.extended_tlv else 2

    @property
    def capacity(self) -> int:
        """The largest NDEF message the file holds (max NDEF file size minus NLEN)."""
        return self.max_size - self.nlen_size

    @property
    def readable(self) -> bool:
        return self.read_access == ACCESS_GRANTED

    @property
    def writable(self) -> bool:
        return self.write_access == ACCESS_GRANTED

    @property
    def read_only(self) -> bool:
        """True when the write access byte is FF (no write access, ever)."""
        return self.write_access == ACCESS_NONE

    @property
    def cc_len(self) -> int:
        return 17 if self.extended_tlv else 15

    @property
    def write_access_offset(self) -> int:
        """Offset of the write access byte in the CC file (what `lock` sets to FF)."""
        return self.cc_len - 1

    # -- encoding --

    def serialise(self) -> bytes:
        head = (
            self.cc_len.to_bytes(2, "big")
            + bytes((self.version,))
            + self.mle.to_bytes(2, "big")
            + self.mlc.to_bytes(2, "big")
        )
        if self.extended_tlv:
            tlv = bytes((TLV_ENDEF_FILE, 8)) + self.file_id.to_bytes(2, "big")
            tlv += self.max_size.to_bytes(4, "big")
        else:
            tlv = bytes((TLV_NDEF_FILE, 6)) + self.file_id.to_bytes(2, "big")
            tlv += self.max_size.to_bytes(2, "big")
        return head + tlv + bytes((self.read_access, self.write_access))

    @classmethod
    def parse(cls, data: bytes) -> CapabilityContainer:
        """Parse CC bytes (at least up to the end of the first TLV); further TLVs are ignored."""
        data = bytes(data)
        if len(data) < CC_FIRST_READ:
            raise MalformedCardError(
                f"The card's CC file is {len(data)} bytes; a Type 4 CC has at least 15."
            )
        cc_len = int.from_bytes(data[0:2], "big")
        if not 0x000F <= cc_len <= 0xFFFE:
            raise MalformedCardError(f"The card's CC declares a length of {cc_len} bytes.")
        version = data[2]
        major = version >> 4
        if major not in _SUPPORTED_MAJOR:
            raise NotType4Error(
                f"This tag uses Type 4 mapping version {major}.{version & 0xF}, which this "
                "reader does not support (2.x and 3.x only)."
            )
        tag, length = data[7], data[8]
        if (tag, length) == (TLV_NDEF_FILE, 6):
            extended = False
        elif (tag, length) == (TLV_ENDEF_FILE, 8):
            extended = True
        else:
            raise MalformedCardError(
                f"The card's CC starts with TLV {tag:02X} length {length}, not an NDEF File "
                "Control TLV (04, 6) or Extended NDEF File Control TLV (06, 8)."
            )
        end = 9 + length
        if cc_len < end or len(data) < end:
            raise MalformedCardError("The card's CC file ends inside its NDEF File Control TLV.")
        size_len = 4 if extended else 2
        return cls(
            version=version,
            mle=int.from_bytes(data[3:5], "big"),
            mlc=int.from_bytes(data[5:7], "big"),
            file_id=int.from_bytes(data[9:11], "big"),
            max_size=int.from_bytes(data[11 : 11 + size_len], "big"),
            read_access=data[11 + size_len],
            write_access=data[12 + size_len],
            extended_tlv=extended,
        )


# -- the application -----------------------------------------------------------------------------


class NdefApplication:
    """The Type 4 NDEF application on one presented card, driven through an ApduProcessor.

    Methods select the application and files as needed and remember what is selected, so a
    read followed by a write does not repeat SELECTs. A SELECT sent by anyone else through the
    same processor (e.g. the chip-authentication applet) is noticed and the next call reselects.
    """

    def __init__(self, processor: ApduProcessor) -> None:
        self.processor = processor
        self.cc: CapabilityContainer | None = None
        self._selected: str | None = None  # "app", "cc" or "ndef"
        self._select_epoch = -1

    # -- selection --

    def _current(self) -> str | None:
        if self.processor.select_count != self._select_epoch:
            return None
        return self._selected

    def _mark(self, selected: str) -> None:
        self._selected = selected
        self._select_epoch = self.processor.select_count

    def select(self) -> None:
        """SELECT the NDEF Tag Application by AID (00 A4 04 00 07 D2760000850101 00)."""
        try:
            self.processor.send(0x00, 0xA4, 0x04, 0x00, NDEF_AID, le=256)
        except ApduFileNotFoundError as exc:
            raise NotType4Error(
                "This card has no NFC Forum Type 4 NDEF application; it is not a citycard chip "
                "(or it is a different kind of tag)."
            ) from exc
        except ApduError as exc:
            raise NotType4Error(
                f"This card refused to select the Type 4 NDEF application (SW {exc.sw:04X}); it is "
                "not a citycard chip."
            ) from exc
        self._mark("app")

    def _select_file(self, file_id: int, name: str) -> None:
        current = self._current()
        if current == name:
            return
        if current is None:
            self.select()
        try:
            self.processor.send(0x00, 0xA4, 0x00, 0x0C, file_id.to_bytes(2, "big"))
        except ApduFileNotFoundError as exc:
            if name == "cc":
                raise NotType4Error(
                    "This card's NDEF application has no capability container (file E103); it "
                    "is not a usable Type 4 tag."
                ) from exc
            raise MalformedCardError(
                f"This card's CC names NDEF file {file_id:04X}, which the card does not have."
            ) from exc
        self._mark(name)

    # -- capability container --

    def read_cc(self) -> CapabilityContainer:
        """Select and read the CC file (15 bytes, plus the rest of an Extended TLV)."""
        self._select_file(CC_FILE, "cc")
        data = self.processor.send(0x00, 0xB0, 0x00, 0x00, le=CC_FIRST_READ)
        if len(data) >= 9:
            end = 9 + data[8]
            if end > len(data) and data[7] == TLV_ENDEF_FILE:
                data += self.processor.send(
                    0x00, 0xB0, 0x00, len(data), le=min(end - len(data), 0xFF)
                )
        self.cc = CapabilityContainer.parse(data)
        return self.cc

    def _ensure_cc(self) -> CapabilityContainer:
        return self.cc if self.cc is not None else self.read_cc()

    @property
    def capacity(self) -> int:
        """The largest NDEF message this card holds (reads the CC first if needed)."""
        return self._ensure_cc().capacity

    @property
    def read_chunk(self) -> int:
        """Bytes per READ BINARY: min(MLe, the largest Ne the connection carries)."""
        return max(1, min(self._ensure_cc().mle, self.processor.max_response))

    @property
    def write_chunk(self) -> int:
        """Bytes per UPDATE BINARY: min(MLc, the largest data field without chaining)."""
        return max(1, min(self._ensure_cc().mlc, self.processor.max_command_data))

    # -- NDEF file --

    def _read_binary(self, offset: int, le: int) -> bytes:
        if offset > MAX_B0_OFFSET:
            raise MalformedCardError(
                f"The NDEF message runs past offset {MAX_B0_OFFSET}, beyond what READ BINARY "
                "(B0) can address; this card's message is too large for this reader."
            )
        return self.processor.send(0x00, 0xB0, offset >> 8, offset & 0xFF, le=le)

    def read_ndef(self) -> bytes:
        """Read the NDEF message (b"" when NLEN is 0) with the fewest READ BINARY commands."""
        cc = self._ensure_cc()
        if not cc.readable:
            raise CardReadProtectedError(
                f"This card's NDEF file is read-protected (read access {cc.read_access:02X}); a "
                "citycard chip is always readable, so this is not one."
            )
        self._select_file(cc.file_id, "ndef")
        chunk = self.read_chunk
        first = self._read_binary(0, min(chunk, cc.max_size))
        if len(first) < cc.nlen_size:
            raise MalformedCardError("The card returned fewer bytes than the NDEF length field.")
        nlen = int.from_bytes(first[: cc.nlen_size], "big")
        if nlen > cc.capacity:
            raise MalformedCardError(
                f"The card's NDEF length {nlen} exceeds its file ({cc.capacity} bytes); the data "
                "is corrupt or the write was interrupted."
            )
        message = bytearray(first[cc.nlen_size : cc.nlen_size + nlen])
        while len(message) < nlen:
            part = self._read_binary(cc.nlen_size + len(message), min(chunk, nlen - len(message)))
            if not part:
                raise MalformedCardError("The card returned no data inside its NDEF message.")
            message += part[: nlen - len(message)]
        return bytes(message)

    def _update_binary(self, offset: int, data: bytes) -> None:
        chunk = self.write_chunk
        for start in range(0, len(data), chunk):
            at = offset + start
            try:
                self.processor.send(0x00, 0xD6, at >> 8, at & 0xFF, data[start : start + chunk])
            except SecurityStatusError as exc:
                raise CardLockedError(
                    "This card is locked (read-only); it cannot be written again. Use a new card."
                ) from exc
            except NotEnoughMemoryError as exc:
                raise CardTooSmallError(
                    "The card ran out of space in its NDEF file; use a card with a larger file."
                ) from exc

    def write_ndef(self, message: bytes) -> None:
        """Write an NDEF message: NLEN = 0, the message in MLc chunks, then the real NLEN."""
        message = bytes(message)
        cc = self._ensure_cc()
        if not cc.writable:
            raise CardLockedError(
                "This card is read-only (its CC write access is "
                f"{cc.write_access:02X}); it cannot be personalised. Use a new card."
            )
        if len(message) > cc.capacity:
            raise CardTooSmallError(
                f"The chip credential needs {len(message)} bytes but this card's NDEF file holds "
                f"{cc.capacity}; use a card with more memory or a profile without the photo on chip."
            )
        chunk = self.write_chunk
        last_offset = cc.nlen_size + ((max(len(message), 1) - 1) // chunk) * chunk
        if last_offset > MAX_B0_OFFSET:
            raise CardTooSmallError(
                f"A {len(message)}-byte message runs past offset {MAX_B0_OFFSET}, the most UPDATE "
                "BINARY (D6) can address; make the credential smaller."
            )
        self._select_file(cc.file_id, "ndef")
        self._update_binary(0, bytes(cc.nlen_size))
        if message:
            for start in range(0, len(message), chunk):
                self._update_binary(cc.nlen_size + start, message[start : start + chunk])
            self._update_binary(0, len(message).to_bytes(cc.nlen_size, "big"))

    def lock(self, proprietary: bool | None = None) -> None:
        """Make the NDEF file read-only for good.

        Sets the CC's write access byte to FF (UPDATE BINARY on E103), then sends the profile's
        own LOCK command (80 F0 00 00, docs/card-profiles.md). `proprietary`: None sends it and
        accepts a card that does not know it (6D00/6E00, e.g. the NTAG-like `compact`
        profile); True requires it; False skips it. Raises the card's ApduError when neither
        lock took effect.
        """
        cc = self._ensure_cc()
        cc_error: ApduError | None = None
        if not cc.read_only:
            self._select_file(CC_FILE, "cc")
            at = cc.write_access_offset
            try:
                self.processor.send(0x00, 0xD6, at >> 8, at & 0xFF, bytes((ACCESS_NONE,)))
            except ApduError as exc:
                cc_error = exc
        locked_by_command = False
        if proprietary is not False:
            if self._current() is None:
                self.select()
            try:
                self.processor.send(*LOCK_APDU)
                locked_by_command = True
            except (InsNotSupportedError, ClaNotSupportedError):
                if proprietary:
                    raise
        if cc_error is not None and not locked_by_command:
            raise cc_error
        self.cc = replace(cc, write_access=ACCESS_NONE)


# -- NDEF message --------------------------------------------------------------------------------


def ndef_message(cwt: bytes) -> bytes:
    """One NDEF message holding one MIME record `application/vnd.citycard+cwt` with `cwt`."""
    record = ndef.Record(MEDIA_TYPE, "", bytes(cwt))
    return b"".join(ndef.message_encoder([record]))


def credential_from_ndef(message: bytes) -> bytes:
    """The payload of the citycard MIME record in an NDEF message.

    Raises NoCredentialError when the message is empty or holds no such record, and
    MalformedCardError when it is not a valid NDEF message or holds more than one.
    """
    message = bytes(message)
    if not message:
        raise NoCredentialError("This card holds no NDEF message; it has not been personalised.")
    try:
        records = list(ndef.message_decoder(message, errors="strict", known_types={}))
    except Exception as exc:  # ndeflib raises DecodeError, AssertionError, struct errors...
        raise MalformedCardError(
            "This card's NDEF message cannot be parsed; the data is corrupt or the write was "
            "interrupted."
        ) from exc
    payloads = [
        bytes(record.data)
        for record in records
        if isinstance(record.type, str) and record.type.lower() == MEDIA_TYPE
    ]
    if not payloads:
        raise NoCredentialError(
            "This card's NDEF message holds no citycard credential "
            f"({MEDIA_TYPE} record); it is not a citycard or was not personalised."
        )
    if len(payloads) > 1:
        raise MalformedCardError(
            "This card's NDEF message holds more than one citycard credential; do not accept it."
        )
    return payloads[0]
