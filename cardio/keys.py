"""Signing keys behind one interface, and the public-key encodings the formats use.

A `Signer` produces raw ES256 signatures (r || s, 64 bytes, as COSE wants them). A `KeyStore`
creates and finds signers by label. Two stores exist: `FileKeyStore` (PEM files, for
development) and `Pkcs11KeyStore` (any PKCS#11 token: SoftHSM2 in tests, an HSM in production,
in `cardio.keys_pkcs11`).
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .errors import KeyStoreError, MalformedError

ES256 = -7
KID_LENGTH = 8
_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")

# COSE_Key (RFC 9052 section 7, RFC 9053 section 7.1): kty EC2, crv P-256.
_KTY, _CRV, _X, _Y = 1, -1, -2, -3
_KTY_EC2, _CRV_P256 = 2, 1


class Signer(Protocol):
    """Something that signs with one P-256 key."""

    @property
    def kid(self) -> bytes: ...

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def sign(self, data: bytes) -> bytes:
        """ES256 over `data`: raw r || s, 64 bytes."""
        ...


def check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise KeyStoreError(
            f"Key label {label!r} is not usable: use 1 to 63 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit."
        )
    return label


def point_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed SEC1 point (65 bytes)."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def kid_for(key: ec.EllipticCurvePublicKey) -> bytes:
    """Key id: the first 8 bytes of SHA-256 over the uncompressed point.

    Deterministic, so any party can recompute it; it is only a lookup hint, the signature is
    always checked against the full key.
    """
    return hashlib.sha256(point_bytes(key)).digest()[:KID_LENGTH]


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the SubjectPublicKeyInfo, as colon-free upper-case hex (what technicians compare)."""
    return hashlib.sha256(spki_der(key)).hexdigest().upper()


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(data: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyStoreError(
            "The public key file is not a PEM public key; export it again."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyStoreError("The public key is not a P-256 key; citycard keys are P-256 (ES256).")
    return key


def p256_xy(key: ec.EllipticCurvePublicKey) -> tuple[bytes, bytes]:
    """The affine coordinates of a P-256 public key, 32 bytes each."""
    nums = key.public_numbers()
    return nums.x.to_bytes(32, "big"), nums.y.to_bytes(32, "big")


def p256_from_xy(x: bytes, y: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its coordinates; MalformedError when they are not a point on it."""
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError as exc:
        raise MalformedError("The public key is not a point on P-256.") from exc


def cose_key(key: ec.EllipticCurvePublicKey) -> dict[int, int | bytes]:
    x, y = p256_xy(key)
    return {_KTY: _KTY_EC2, _CRV: _CRV_P256, _X: x, _Y: y}


def from_cose_key(obj: object) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a COSE_Key map; MalformedError for anything else."""
    if not isinstance(obj, dict) or set(obj) != {_KTY, _CRV, _X, _Y}:
        raise MalformedError("The public key is not an EC2 COSE_Key.")
    x, y = obj[_X], obj[_Y]
    if obj[_KTY] != _KTY_EC2 or obj[_CRV] != _CRV_P256:
        raise MalformedError("The public key is not a P-256 key.")
    if not (isinstance(x, bytes) and isinstance(y, bytes) and len(x) == 32 and len(y) == 32):
        raise MalformedError("The public key coordinates are not 32 bytes each.")
    return p256_from_xy(x, y)


def raw_from_der(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def der_from_raw(raw: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def verify_es256(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """True when `signature` (raw r || s) is a valid ES256 signature of `data` under `key`."""
    if len(signature) != 64:
        return False
    try:
        key.verify(der_from_raw(signature), data, ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


class SoftwareSigner:
    """A signer holding a private key in process memory (file store, tests)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise KeyStoreError("Only P-256 keys can sign citycard data.")
        self._key = private_key
        self._public = private_key.public_key()
        self._kid = kid_for(self._public)

    @classmethod
    def generate(cls) -> SoftwareSigner:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return raw_from_der(self._key.sign(data, ECDSA_SHA256))

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


class KeyStore(ABC):
    """Creates and finds P-256 signing keys by label."""

    @abstractmethod
    def create(self, label: str) -> Signer:
        """Create a new key under `label`; KeyStoreError if the label is taken."""

    @abstractmethod
    def signer(self, label: str) -> Signer:
        """The signer for `label`; KeyStoreError if there is none."""

    @abstractmethod
    def labels(self) -> list[str]:
        """Labels of the keys in the store, sorted."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release the store's resources (sessions, handles)."""


class FileKeyStore(KeyStore):
    """Keys as unencrypted PKCS#8 PEM files, mode 0600, one per label. For development only."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, label: str) -> Path:
        """Where the key labelled `label` is kept."""
        return self.directory / f"{check_label(label)}.pem"

    def create(self, label: str) -> Signer:
        path = self.path(label)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        signer = SoftwareSigner.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeyStoreError(
                f"A key labelled {label!r} already exists in {self.directory}; pick another label."
            ) from exc
        with os.fdopen(fd, "wb") as fh:
            fh.write(signer.private_pem())
            fh.flush()
            os.fsync(fh.fileno())
        return signer

    def signer(self, label: str) -> Signer:
        path = self.path(label)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyStoreError(
                f"There is no key labelled {label!r} in {self.directory}; create it first."
            ) from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(
                f"{path} is not an unencrypted PEM private key; restore it from backup."
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"{path} does not hold a P-256 key.")
        return SoftwareSigner(key)

    def labels(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.pem"))
