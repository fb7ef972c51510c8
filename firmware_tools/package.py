"""Signed firmware packages (`.ccfw`) and the trusted firmware-keys file.

A package is one deterministic CBOR map:

    {"format": "citycard-firmware/1",
     "manifest": bstr .cbor COSE_Sign1,   ; tagged, ES256, kid in the protected header,
                                          ; typ "citycard-firmware-manifest"
     "image": bstr}                       ; the bytes flashed over DFU

The COSE_Sign1 payload (the manifest) is a CBOR map:

    {"vid": uint, "pid": uint,            ; the runtime USB id of the device it is for
     "version": "MAJOR.MINOR.PATCH",      ; semver, digits only
     "sha256": bstr .size 32,             ; SHA-256 of the image
     "size": uint,                        ; image length in bytes
     ? "min_bootloader": "MAJOR.MINOR.PATCH"}

The trusted firmware-keys file holds PEM public keys (P-256) of the city and of the vendors it
accepts, one after the other; a line starting with `#` before a key names it. The manifest's
kid (first 8 bytes of SHA-256 over the key's point, `cardio.keys.kid_for`) picks the key.

Device version: the runtime descriptor's bcdDevice 0xJJMN is read as version JJ.MN (BCD
digits). A package is a downgrade when its (MAJOR, MINOR) is lower than that; the patch level
is not visible in bcdDevice, so a same-MAJOR.MINOR package is never called a downgrade.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from cardio import cbor
from cardio.cose import parse_sign1, sign1
from cardio.errors import CitycardError, KeyStoreError
from cardio.files import read_limited
from cardio.keys import Signer, kid_for, load_public_pem

FORMAT = "citycard-firmware/1"
MANIFEST_TYP = "citycard-firmware-manifest"
MAX_PACKAGE = 16 * 1024 * 1024
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
_PEM = re.compile(rb"(?:^#[^\n]*\n)?-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.S | re.M)


_PACKAGE_HEAD = 0xA3  # a CBOR map of three entries: how every package starts


class FirmwareError(CitycardError):
    """A firmware package that must not be flashed (the message says why and what to do)."""


_ASK_VENDOR = "ask the vendor for a correctly built package"
_GIVE_THREE_NUMBERS = "give it as three numbers, e.g. 1.2.0"


def parse_version(text: str, what: str = "version", remedy: str = _ASK_VENDOR) -> tuple[int, int, int]:
    m = _SEMVER.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise FirmwareError(f"The {what} '{text}' is not MAJOR.MINOR.PATCH; {remedy}.")
    return int(m[1]), int(m[2]), int(m[3])


@dataclass(frozen=True, slots=True)
class Manifest:
    vid: int
    pid: int
    version: str
    sha256: bytes
    size: int
    min_bootloader: str | None = None

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"

    def to_cbor(self) -> bytes:
        obj: dict[str, Any] = {
            "vid": self.vid,
            "pid": self.pid,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
        }
        if self.min_bootloader is not None:
            obj["min_bootloader"] = self.min_bootloader
        return cbor.dumps(obj)

    @classmethod
    def from_obj(cls, obj: Any) -> Manifest:
        if not isinstance(obj, dict):
            raise FirmwareError("The firmware manifest is not a map; ask the vendor for a correctly built package.")
        try:
            m = cls(
                vid=obj["vid"],
                pid=obj["pid"],
                version=obj["version"],
                sha256=obj["sha256"],
                size=obj["size"],
                min_bootloader=obj.get("min_bootloader"),
            )
        except KeyError as exc:
            raise FirmwareError(f"The firmware manifest lacks '{exc.args[0]}'; ask the vendor for a correctly built package.") from exc
        ok = (
            all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFF for v in (m.vid, m.pid))
            and isinstance(m.sha256, bytes)
            and len(m.sha256) == 32
            and isinstance(m.size, int)
            and m.size > 0
            and set(obj) <= {"vid", "pid", "version", "sha256", "size", "min_bootloader"}
        )
        if not ok:
            raise FirmwareError("The firmware manifest has wrong or unknown fields; ask the vendor for a correctly built package.")
        parse_version(m.version)
        if m.min_bootloader is not None:
            parse_version(m.min_bootloader, "minimum bootloader version")
        return m


@dataclass(frozen=True, slots=True)
class FirmwareSigningKey:
    """A vendor's public key from the trusted firmware-keys file, named by its `# name` line."""

    name: str
    key: ec.EllipticCurvePublicKey

    @property
    def kid(self) -> bytes:
        return kid_for(self.key)


MAX_KEYS_FILE = 1024 * 1024
"""A trusted firmware-keys file holds a few PEM public keys: a megabyte is thousands of them."""


def load_trusted_keys(path: Path) -> list[FirmwareSigningKey]:
    try:
        # bounded, regular files only: /dev/zero given as --keys must not fill the memory
        data = read_limited(path, MAX_KEYS_FILE, "The trusted firmware-keys file", "install the city's file again or pass --keys")
    except FileNotFoundError as exc:
        raise FirmwareError(
            f"The trusted firmware-keys file {path} does not exist; install it from the city's provisioning kit or pass --keys."
        ) from exc
    except IsADirectoryError as exc:
        raise FirmwareError(f"The trusted firmware-keys file {path} is a directory; pass --keys with the file.") from exc
    keys = []
    for n, m in enumerate(_PEM.finditer(data), 1):
        block = m.group(0)
        name = ""
        if block.startswith(b"#"):
            first, block = block.split(b"\n", 1)
            name = first[1:].decode("utf-8", "replace").strip()
        try:
            key = load_public_pem(block)
        except KeyStoreError as exc:
            which = f"'{name}'" if name else f"number {n}"
            raise FirmwareError(
                f"The trusted firmware-keys file {path} holds a damaged key ({which}); install the city's file again or pass --keys."
            ) from exc
        keys.append(FirmwareSigningKey(name or kid_for(key).hex(), key))  # unnamed: its kid
    if not keys:
        raise FirmwareError(f"The trusted firmware-keys file {path} holds no PEM public key; install the city's file again.")
    return keys


@dataclass(frozen=True, slots=True)
class Package:
    manifest: Manifest
    image: bytes
    signed_by: str  # the key's `# name` in the trusted firmware-keys file, else its kid in hex
    kid: bytes = b""

    @property
    def signer_text(self) -> str:
        """The signing key as `pack` names it ("key <kid>"), with its name when it has one."""
        if not self.kid or self.signed_by == self.kid.hex():
            return f"key {self.kid.hex() or self.signed_by}"
        return f"{self.signed_by} (key {self.kid.hex()})"


def pack(image: bytes, manifest: Manifest, signer: Signer) -> bytes:
    signed = sign1(signer, manifest.to_cbor(), typ=MANIFEST_TYP)
    return cbor.dumps({"format": FORMAT, "manifest": signed, "image": image})


def build_manifest(image: bytes, vid: int, pid: int, version: str, min_bootloader: str | None = None) -> Manifest:
    """A manifest for `image`, checked as `Manifest.from_obj` will check it when the package is
    verified or flashed: a package is refused when it is made, not at every later step."""
    parse_version(version, remedy=_GIVE_THREE_NUMBERS)
    if min_bootloader is not None:
        parse_version(min_bootloader, "minimum bootloader version", _GIVE_THREE_NUMBERS)
    return Manifest(vid, pid, version, hashlib.sha256(image).digest(), len(image), min_bootloader)


def read_package(data: bytes, keys: list[FirmwareSigningKey]) -> Package:
    """Parse and verify a package: signature by a trusted key, image length and SHA-256."""
    if len(data) > MAX_PACKAGE:
        raise FirmwareError(f"The firmware package is larger than {MAX_PACKAGE // 1048576} MiB; it is not a citycard package.")
    if not data:
        raise FirmwareError("The firmware package file is empty; download it again.")
    fp = io.BytesIO(data)
    try:
        obj = cbor2.CBORDecoder(fp, allow_duplicate_keys=False, allow_indefinite=False, max_depth=4).decode()
    except cbor2.CBORDecodeEOF as exc:
        if data[0] == _PACKAGE_HEAD:  # began like a package: cut short (a broken download or copy)
            raise FirmwareError("The firmware package is incomplete (cut short); download it again.") from exc
        raise FirmwareError("The file is not a citycard firmware package (not CBOR); check you picked the right file.") from exc
    except Exception as exc:  # cbor2 raises several types on hostile input
        raise FirmwareError("The file is not a citycard firmware package (not CBOR); check you picked the right file.") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise FirmwareError("The file is not a citycard firmware package (format citycard-firmware/1); check you picked the right file.")
    if fp.tell() != len(data):  # the format is one CBOR map, nothing after it
        raise FirmwareError(
            f"The firmware package has {len(data) - fp.tell()} extra byte(s) after the package (damaged in a download or copy); download it again."
        )
    image, manifest_bytes = obj.get("image"), obj.get("manifest")
    if not isinstance(image, bytes):
        raise FirmwareError("The firmware package has no image; ask the vendor for a complete package.")
    if manifest_bytes is None or not isinstance(manifest_bytes, bytes) or not manifest_bytes.startswith(b"\xd2"):
        raise FirmwareError("The firmware package is not signed; only packages signed by the city or a trusted vendor can be flashed.")
    try:
        signed = parse_sign1(manifest_bytes, "firmware manifest", max_size=8192)
    except CitycardError as exc:
        raise FirmwareError(f"The firmware package signature is malformed ({exc}); ask the vendor for a correctly signed package.") from exc
    if signed.typ != MANIFEST_TYP:
        raise FirmwareError("The signed part of the package is not a firmware manifest; ask the vendor for a correctly signed package.")
    by_kid = {k.kid: k for k in keys}
    key = by_kid.get(signed.kid)
    if key is None:
        raise FirmwareError(
            f"The firmware package is signed by key {signed.kid.hex()}, which is not in the trusted firmware-keys file; ask the city to confirm the vendor key."
        )
    if not signed.verify(key.key):
        raise FirmwareError("The firmware package signature does not verify; the package was altered or damaged — download it again.")
    manifest = Manifest.from_obj(cbor.loads_strict(signed.payload, "firmware manifest"))
    if len(image) != manifest.size or hashlib.sha256(image).digest() != manifest.sha256:
        raise FirmwareError("The firmware image does not match its signed hash; the package was altered or damaged — download it again.")
    return Package(manifest, image, key.name, key.kid)


def check_target(pkg: Package, vid: int, pid: int, bcd_device: int | None, force: bool) -> str | None:
    """Refuse a package for another device; refuse a downgrade unless forced. Returns a warning."""
    if (vid, pid) != (pkg.manifest.vid, pkg.manifest.pid):
        raise FirmwareError(
            f"The package is for USB device {pkg.manifest.usb_id}, not {vid:04x}:{pid:04x}; pick the package made for this device."
        )
    if bcd_device is None:
        return None
    from .dfu import bcd_version

    current = bcd_version(bcd_device)
    new = parse_version(pkg.manifest.version)
    if new[:2] < current:
        if not force:
            raise FirmwareError(
                f"Version {pkg.manifest.version} is older than the device's {current[0]}.{current[1]}; a downgrade is refused unless you pass --force."
            )
        return f"Downgrading from {current[0]}.{current[1]} to {pkg.manifest.version} (--force)."
    return None


def check_bootloader(pkg: Package, dfu_bcd_device: int) -> None:
    """Refuse a package whose `min_bootloader` is above the bootloader's version.

    The bootloader's version is the bcdDevice of the device in DFU mode (read as BCD JJ.MN,
    like the runtime version); only MAJOR.MINOR of `min_bootloader` can be compared.
    """
    if pkg.manifest.min_bootloader is None:
        return
    from .dfu import bcd_version

    need = parse_version(pkg.manifest.min_bootloader, "minimum bootloader version")[:2]
    have = bcd_version(dfu_bcd_device)
    if have < need:
        raise FirmwareError(
            f"The device's bootloader is {have[0]}.{have[1]} but the package needs {pkg.manifest.min_bootloader}; update the bootloader first (ask the vendor), then unplug and replug the device to return to its old firmware."
        )
