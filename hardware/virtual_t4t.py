"""A virtual NFC Forum Type 4 tag (every citycard chip profile) implementing `CardModel`.

Every transport simulator (vpcd behind pcscd, the ISO-DEP target on nfcpy's udp radio, the
PN532 on a pty) and the in-process `hardware.local.LocalConnection` carry this one card model,
so all of them answer exactly the same APDUs. The profiles, the CC contents and the APDUs of the
`t4t-auth` applet are documented in docs/card-profiles.md.

Profiles:
- `t4t`: Java Card NDEF applet, 8 KB NDEF file, proprietary LOCK (80 F0 00 00).
- `t4t-auth`: the same plus the chip-authentication applet (AID F0 43 49 54 59 43 41 52 44 01):
  GENERATE KEY, GET PUBLIC KEY, INTERNAL AUTHENTICATE (ECDSA P-256) and LOCK.
- `compact`: NTAG-like 256-byte NDEF file; read-only only through the CC write access byte.

Persistent memory (files, lock, key) survives `power_off()`/`power_on()`; the selected
application and file do not. `Faults` injects the failures the tests need; a pulled card raises
`CardPulled` from `process()`, which transports turn into CardRemovedError or a dropped link.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardio.apdu import CommandApdu, decode_command
from cardio.chip_auth import (
    AUTH_AID,
    AUTH_DOMAIN,
    INS_GENERATE_KEY,
    INS_INTERNAL_AUTHENTICATE,
    P1_GENERATE,
    P1_READ_PUBLIC,
)

__all__ = [
    "AUTH_AID",
    "AUTH_DOMAIN",
    "CC_FILE_ID",
    "INS_GENERATE_KEY",
    "INS_INTERNAL_AUTHENTICATE",
    "INS_LOCK",
    "NDEF_AID",
    "NDEF_FILE_ID",
    "PROFILES",
    "CardPulled",
    "Faults",
    "VirtualType4Card",
]

NDEF_AID = bytes.fromhex("D2760000850101")
CC_FILE_ID = 0xE103
NDEF_FILE_ID = 0xE104

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
CLA_PCSC = 0xFF
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_UPDATE_BINARY = 0xD6
INS_GET_DATA = 0xCA
INS_LOCK = 0xF0
CHALLENGE_MIN, CHALLENGE_MAX = 16, 64

PROFILES = ("t4t", "t4t-auth", "compact")
_DEFAULT_NDEF_SIZE = {"t4t": 8192, "t4t-auth": 8192, "compact": 256}
_HISTORICAL = {
    "t4t": b"CCJC-T4T",  # proprietary historical bytes: citycard Java Card, NDEF applet
    "t4t-auth": b"CCJC-AUTH",
    "compact": b"\x80",  # as an NTAG 424 DNA's ATS
}
_MAX_NDEF_SIZE = 0x7FFF  # offsets of READ/UPDATE BINARY (B0/D6) stop at 7FFF
_EXTENDED_DEFAULT_ML = 0x1000
_ATOMIC_WRITE = 4  # writes up to one EEPROM page (NLEN/ENLEN included) never tear

SW_OK = b"\x90\x00"
SW_EOF = b"\x62\x82"  # end of file reached before Ne bytes
SW_WRONG_LENGTH = b"\x67\x00"
SW_FILE_INCOMPATIBLE = b"\x69\x81"
SW_SECURITY = b"\x69\x82"
SW_CONDITIONS = b"\x69\x85"
SW_NO_CURRENT_EF = b"\x69\x86"
SW_CHAINING = b"\x68\x84"
SW_NOT_FOUND = b"\x6a\x82"
SW_NO_MEMORY = b"\x6a\x84"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_OFFSET = b"\x6b\x00"
SW_INS = b"\x6d\x00"
SW_CLA = b"\x6e\x00"


class CardPulled(Exception):
    """The card left the field: no answer to this APDU (transports: CardRemovedError)."""


@dataclass
class Faults:
    """Failures to inject. Mutable, so a test may change them between commands.

    - `pull_after_writes`: the card leaves the field during the Nth UPDATE BINARY counted from
      when the value was set (the first UPDATE BINARY after setting it is write 1; a value
      given to the constructor counts from creation). That write is torn: only the first half
      of its bytes land, except that a write of at most 4 bytes (NLEN/ENLEN, one EEPROM page)
      is atomic as on real chips and does not land at all. It gets no answer, and every APDU
      after it raises CardPulled until the card is presented again (`reinsert()` or
      `power_on()`). One-shot: it fires again only when the value changes or `arm_pull()`
      re-arms it.
    - `write_protected`: the NDEF file is read-only and the CC says so (write access FF).
    - `not_type4`: SELECT of the NDEF application answers 6A82.
    - `delay`: seconds the card sleeps before every answer.
    - `corrupt_reads`: READ BINARY of the NDEF file flips one bit, inside the NDEF message
      whenever the read covers part of it.
    A card "too small" is simply one with a small `ndef_size`.
    """

    pull_after_writes: int | None = None
    write_protected: bool = False
    not_type4: bool = False
    delay: float = 0.0
    corrupt_reads: bool = False


def _sw(data: bytes | bytearray, sw: bytes = SW_OK) -> bytes:
    return bytes(data) + sw


def _random_uid() -> bytes:
    return b"\x04" + os.urandom(6)


class VirtualType4Card:
    """A citycard chip in one of the profiles `t4t`, `t4t-auth`, `compact` (CardModel)."""

    def __init__(
        self,
        profile: str = "t4t",
        uid: bytes | None = None,
        ndef_size: int | None = None,
        mapping_version: str = "2.0",
        mle: int | None = None,
        mlc: int | None = None,
        extended: bool = False,
        faults: Faults | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(
                f"Unknown chip profile {profile!r}; a virtual card is one of {', '.join(PROFILES)} "
                "(the `print` profile has no chip)."
            )
        if mapping_version not in ("2.0", "3.0"):
            raise ValueError(f"Mapping version {mapping_version!r} is not 2.0 or 3.0.")
        self.profile = profile
        self._uid = _random_uid() if uid is None else bytes(uid)
        if len(self._uid) not in (4, 7, 10):
            raise ValueError(f"A UID has 4, 7 or 10 bytes, not {len(self._uid)}.")
        self.mapping_version = mapping_version
        self.extended = extended
        self.ndef_size = _DEFAULT_NDEF_SIZE[profile] if ndef_size is None else ndef_size
        self.extended_tlv = mapping_version == "3.0"
        self.nlen_size = 4 if self.extended_tlv else 2
        if not self.nlen_size + 1 <= self.ndef_size <= _MAX_NDEF_SIZE:
            raise ValueError(
                f"An NDEF file of {self.ndef_size} bytes is outside "
                f"{self.nlen_size + 1}..{_MAX_NDEF_SIZE}."
            )
        default_ml = _EXTENDED_DEFAULT_ML if extended else 0xFF
        self.mle = default_ml if mle is None else mle
        self.mlc = default_ml if mlc is None else mlc
        short_limits = (0x0F <= self.mle <= 0x100) and (1 <= self.mlc <= 0xFF)
        ext_limits = (0x0F <= self.mle <= 0xFFFF) and (1 <= self.mlc <= 0xFFFF)
        if not (ext_limits if extended else short_limits):
            raise ValueError(
                f"MLe {self.mle} / MLc {self.mlc} do not fit a card "
                f"{'with' if extended else 'without'} extended APDUs."
            )
        self.faults = Faults() if faults is None else faults
        self._lock = threading.RLock()

        # persistent memory
        self._files: dict[int, bytearray] = {
            CC_FILE_ID: bytearray(self._initial_cc()),
            NDEF_FILE_ID: bytearray(self.ndef_size),
        }
        self._locked = False
        self._key: ec.EllipticCurvePrivateKey | None = None

        # fault state (survives power cycles: the pull is a physical event)
        self._writes = 0  # UPDATE BINARY commands applied or torn, ever
        self._pull_armed: int | None = None  # the pull_after_writes value being counted
        self._pull_base = 0  # writes before it was armed
        self._pull_spent = False
        self._pulled = False

        # volatile state
        self._powered = False
        self._applet: str | None = None
        self._file: int | None = None

    # -- CardModel ---------------------------------------------------------------------------

    @property
    def uid(self) -> bytes:
        return self._uid

    @property
    def historical_bytes(self) -> bytes:
        return _HISTORICAL[self.profile]

    @property
    def atr(self) -> bytes:
        """PC/SC part 3 ATR of a contactless ISO 14443-4 card: 3B 8n 80 01 <hist> TCK."""
        hist = self.historical_bytes
        body = bytes((0x80 | len(hist), 0x80, 0x01)) + hist
        tck = 0
        for byte in body:
            tck ^= byte
        return b"\x3b" + body + bytes((tck,))

    def power_on(self) -> bytes:
        """Field on: the card is (again) in a field, so a pulled card is present once more."""
        with self._lock:
            self._pulled = False
            self._powered = True
            self._applet = None
            self._file = None
            return self.atr

    def power_off(self) -> None:
        with self._lock:
            self._powered = False
            self._applet = None
            self._file = None

    def process(self, apdu: bytes) -> bytes:
        with self._lock:
            if self._pulled or not self._powered:
                raise CardPulled("The card is not in the field.")
            if self.faults.delay > 0:
                time.sleep(self.faults.delay)
            try:
                command = decode_command(apdu)
            except ValueError:
                return SW_WRONG_LENGTH
            if command.extended and not self.extended:
                return SW_WRONG_LENGTH
            return self._dispatch(command)

    # -- test helpers ------------------------------------------------------------------------

    def reinsert(self) -> None:
        """Present a pulled card again (unpowered until the reader powers it)."""
        with self._lock:
            self._pulled = False
            self._powered = False
            self._applet = None
            self._file = None

    def arm_pull(self, after_writes: int) -> None:
        """Pull the card during the `after_writes`-th UPDATE BINARY from now (see Faults)."""
        if after_writes < 1:
            raise ValueError("after_writes counts UPDATE BINARY commands from 1.")
        with self._lock:
            self.faults.pull_after_writes = after_writes
            self._pull_armed, self._pull_base, self._pull_spent = after_writes, self._writes, False

    @property
    def pulled(self) -> bool:
        return self._pulled

    @property
    def present(self) -> bool:
        return not self._pulled

    @property
    def locked(self) -> bool:
        """True when the NDEF file is read-only (CC write access FF or the profile LOCK)."""
        return (
            self._locked
            or self.faults.write_protected
            or self._files[CC_FILE_ID][self._write_access_offset] == 0xFF
        )

    @property
    def ndef_file(self) -> bytes:
        """The NDEF file's raw bytes (NLEN + message + the rest), for tests."""
        return bytes(self._files[NDEF_FILE_ID])

    @property
    def cc_file(self) -> bytes:
        return bytes(self._files[CC_FILE_ID])

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey | None:
        """The chip-authentication public key (t4t-auth, after GENERATE KEY)."""
        return None if self._key is None else self._key.public_key()

    # -- internals ---------------------------------------------------------------------------

    @property
    def _java_card(self) -> bool:
        return self.profile in ("t4t", "t4t-auth")

    @property
    def _write_access_offset(self) -> int:
        return 16 if self.extended_tlv else 14

    def _initial_cc(self) -> bytes:
        version = 0x30 if self.extended_tlv else 0x20
        head = bytes((version,)) + self.mle.to_bytes(2, "big") + self.mlc.to_bytes(2, "big")
        if self.extended_tlv:
            tlv = b"\x06\x08" + NDEF_FILE_ID.to_bytes(2, "big") + self.ndef_size.to_bytes(4, "big")
        else:
            tlv = b"\x04\x06" + NDEF_FILE_ID.to_bytes(2, "big") + self.ndef_size.to_bytes(2, "big")
        body = head + tlv + b"\x00\x00"  # read and write access granted
        return (len(body) + 2).to_bytes(2, "big") + body

    def _dispatch(self, c: CommandApdu) -> bytes:
        if c.cla == CLA_PCSC:
            if c.ins == INS_GET_DATA:
                return self._get_data(c)
            return SW_INS
        if c.cla & 0x10:
            return SW_CHAINING
        if c.cla == CLA_ISO:
            if c.ins == INS_SELECT:
                return self._select(c)
            if c.ins == INS_READ_BINARY:
                return self._read_binary(c)
            if c.ins == INS_UPDATE_BINARY:
                return self._update_binary(c)
            return SW_INS
        if c.cla == CLA_PROPRIETARY and self._java_card:
            if c.ins == INS_LOCK and self._applet in ("ndef", "auth"):
                return self._lock_card(c)
            if self._applet == "auth":
                if c.ins == INS_GENERATE_KEY:
                    return self._generate_key(c)
                if c.ins == INS_INTERNAL_AUTHENTICATE:
                    return self._internal_authenticate(c)
            return SW_INS
        return SW_CLA

    def _get_data(self, c: CommandApdu) -> bytes:
        """PC/SC part 3 GET DATA: P1 00 the UID, P1 01 the historical bytes."""
        if c.p2 != 0x00 or c.p1 not in (0x00, 0x01):
            return SW_WRONG_P1P2
        value = self._uid if c.p1 == 0x00 else self.historical_bytes
        if c.le is not None and c.le < len(value):
            return bytes((0x6C, len(value)))
        return _sw(value)

    def _select(self, c: CommandApdu) -> bytes:
        if c.p2 not in (0x00, 0x0C):
            return SW_WRONG_P1P2
        if c.p1 == 0x04:  # by DF name (AID)
            if c.data == NDEF_AID and not self.faults.not_type4:
                self._applet, self._file = "ndef", None
                return SW_OK
            if c.data == AUTH_AID and self.profile == "t4t-auth":
                self._applet, self._file = "auth", None
                return SW_OK
            self._applet, self._file = None, None  # a failed SELECT leaves nothing selected
            return SW_NOT_FOUND
        if c.p1 == 0x00:  # by file identifier
            if len(c.data) != 2:
                return SW_WRONG_LENGTH
            fid = int.from_bytes(c.data, "big")
            if self._applet != "ndef" or fid not in self._files:
                return SW_NOT_FOUND
            self._file = fid
            return SW_OK
        return SW_WRONG_P1P2

    def _current_file(self, c: CommandApdu) -> tuple[bytearray | None, bytes]:
        if c.p1 & 0x80:  # short EF identifier addressing is not supported
            return None, SW_FILE_INCOMPATIBLE
        if self._applet != "ndef" or self._file is None:
            return None, SW_NO_CURRENT_EF
        return self._files[self._file], SW_OK

    def _read_binary(self, c: CommandApdu) -> bytes:
        data, sw = self._current_file(c)
        if data is None:
            return sw
        if c.data or c.le is None:
            return SW_WRONG_LENGTH
        if c.le > self.mle:
            return SW_WRONG_LENGTH
        offset = (c.p1 << 8) | c.p2
        if offset >= len(data):
            return SW_OFFSET
        out = bytearray(data[offset : offset + c.le])
        at = self._write_access_offset - offset
        if self._file == CC_FILE_ID and self.faults.write_protected and 0 <= at < len(out):
            out[at] = 0xFF
        if self.faults.corrupt_reads and self._file == NDEF_FILE_ID:
            self._corrupt(out, offset)
        return _sw(out, SW_OK if len(out) == c.le else SW_EOF)

    def _corrupt(self, out: bytearray, offset: int) -> None:
        ndef = self._files[NDEF_FILE_ID]
        nlen = int.from_bytes(ndef[: self.nlen_size], "big")
        lo = max(offset, self.nlen_size)
        hi = min(offset + len(out), self.nlen_size + nlen)
        at = (lo + hi) // 2 - offset if lo < hi else len(out) // 2
        if out:
            out[at] ^= 0x01

    def _update_binary(self, c: CommandApdu) -> bytes:
        data, sw = self._current_file(c)
        if data is None:
            return sw
        if not c.data or c.le is not None or len(c.data) > self.mlc:
            return SW_WRONG_LENGTH
        offset = (c.p1 << 8) | c.p2
        if offset + len(c.data) > len(data):
            return SW_NO_MEMORY
        if self._file == CC_FILE_ID:
            new = bytearray(data)
            new[offset : offset + len(c.data)] = c.data
            at = self._write_access_offset
            changed = [i for i in range(len(new)) if new[i] != data[i]]
            if any(i != at for i in changed) or (changed and new[at] != 0xFF):
                return SW_SECURITY  # only "write access -> FF" is allowed, and it is permanent
        elif self.locked:
            return SW_SECURITY
        self._writes += 1
        pull = self.faults.pull_after_writes
        if pull != self._pull_armed:  # (re)armed: count from this write on
            self._pull_armed, self._pull_base, self._pull_spent = pull, self._writes - 1, False
        if pull is not None and not self._pull_spent and self._writes - self._pull_base >= pull:
            torn = b"" if len(c.data) <= _ATOMIC_WRITE else c.data[: len(c.data) // 2]
            data[offset : offset + len(torn)] = torn
            self._pull_spent = True
            self._pulled = True
            self._powered = False
            self._applet = self._file = None
            raise CardPulled(f"The card left the field during write {self._writes}.")
        data[offset : offset + len(c.data)] = c.data
        return SW_OK

    def _lock_card(self, c: CommandApdu) -> bytes:
        if (c.p1, c.p2) != (0x00, 0x00):
            return SW_WRONG_P1P2
        if c.data:
            return SW_WRONG_LENGTH
        self._locked = True
        self._files[CC_FILE_ID][self._write_access_offset] = 0xFF
        return SW_OK

    def _public_point(self) -> bytes:
        assert self._key is not None
        return self._key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def _generate_key(self, c: CommandApdu) -> bytes:
        if c.p2 != 0x00 or c.p1 not in (P1_GENERATE, P1_READ_PUBLIC):
            return SW_WRONG_P1P2
        if c.data:
            return SW_WRONG_LENGTH
        if c.p1 == P1_GENERATE:
            if self._locked or self._key is not None:
                return SW_CONDITIONS
            self._key = ec.generate_private_key(ec.SECP256R1())
        elif self._key is None:
            return SW_CONDITIONS
        point = self._public_point()
        if c.le is not None and c.le < len(point):
            return bytes((0x6C, len(point)))
        return _sw(point)

    def _internal_authenticate(self, c: CommandApdu) -> bytes:
        if (c.p1, c.p2) != (0x00, 0x00):
            return SW_WRONG_P1P2
        if not CHALLENGE_MIN <= len(c.data) <= CHALLENGE_MAX:
            return SW_WRONG_LENGTH
        if self._key is None:
            return SW_CONDITIONS
        if c.le is not None and c.le < 64:
            return bytes((0x6C, 64))
        der = self._key.sign(AUTH_DOMAIN + c.data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return _sw(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
