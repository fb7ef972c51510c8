"""P-256 signing keys on a PKCS#11 token (SoftHSM2 in tests, an HSM in production).

The private key never leaves the token: it is generated there (sensitive, non-extractable) and
signs through raw CKM_ECDSA over a SHA-256 digest computed here, because SoftHSM2 2.6 offers no
CKM_ECDSA_SHA256. Each key pair carries CKA_LABEL = the citycard label and CKA_ID = the kid.

Two facts about PKCS#11 shape this module:

* Login state belongs to the whole process, not to one session: a second C_Login on the same
  token fails with CKR_USER_ALREADY_LOGGED_IN, and closing any logged-in session logs every
  session out. Stores opened on the same token in one process therefore share one session,
  counted, and the last `close()` logs out.
* SoftHSM2 reads its token directory only at C_Initialize, and python-pkcs11 loads each module
  once per process (`pkcs11.lib` caches by path). When a token is not found and no store of this
  process has a session on that module, the module is re-initialised once to rescan tokens.

Every PKCS#11 failure surfaces as a `KeyStoreError` whose message says what to do next. The PIN
is never logged, stored or put in a message.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e

from .errors import KeyStoreError
from .keys import KeyStore, Signer, check_label, kid_for, raw_from_der

__all__ = [
    "P256_EC_PARAMS",
    "Pkcs11KeyStore",
    "Pkcs11Signer",
    "public_key_from_ec_point",
    "raw_ecdsa_signature",
]

# DER of the named-curve OID 1.2.840.10045.3.1.7 (prime256v1 / secp256r1): CKA_EC_PARAMS.
P256_EC_PARAMS = bytes.fromhex("06082a8648ce3d030107")
_POINT_LENGTHS = (33, 65)  # compressed, uncompressed SEC1 point on P-256
_SIGNATURE_LENGTH = 64

_PIN_ERRORS = (p11e.PinIncorrect, p11e.PinInvalid, p11e.PinLenRange)


def public_key_from_ec_point(value: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from CKA_EC_POINT.

    PKCS#11 says CKA_EC_POINT is a DER OCTET STRING wrapping the SEC1 point; some tokens return
    the bare point. Both are accepted; for P-256 the lengths cannot be confused (wrapped: 35 or
    67 bytes, bare: 33 or 65).
    """
    point = bytes(value)
    if len(point) - 2 in _POINT_LENGTHS and point[0] == 0x04 and point[1] == len(point) - 2:
        point = point[2:]
    if len(point) not in _POINT_LENGTHS:
        raise KeyStoreError(
            "The token returned a public key point that is not a P-256 point; check that the key "
            "on the token is a P-256 (secp256r1) key."
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise KeyStoreError(
            "The token returned a public key that is not a point on P-256; check that the key on "
            "the token is a P-256 (secp256r1) key."
        ) from exc


def raw_ecdsa_signature(signature: bytes) -> bytes:
    """ES256 raw r || s (64 bytes) from what a token returned: raw r || s, or DER if it must."""
    sig = bytes(signature)
    if len(sig) == _SIGNATURE_LENGTH:
        return sig
    try:
        raw = raw_from_der(sig)
    except (ValueError, OverflowError) as exc:
        raise KeyStoreError(
            f"The token returned a {len(sig)}-byte ECDSA signature that is neither raw r || s nor "
            "DER; check that the key is a P-256 key and the token supports CKM_ECDSA."
        ) from exc
    if len(raw) != _SIGNATURE_LENGTH:  # pragma: no cover - raw_from_der pads to 32 + 32
        raise KeyStoreError("The token returned an ECDSA signature of the wrong size.")
    return raw


def _module_key(module: str | Path) -> str:
    """Identity of a module: its real path when a path was given, else the bare name."""
    text = os.fspath(module)
    if os.sep in text:
        return os.path.realpath(text)
    return text  # a bare library name, left to the dynamic loader's search path


def _library_name(module: str, module_key: str) -> str:
    """The name to hand `pkcs11.lib`: the spelling it already loaded this library under, if any.

    `pkcs11.lib` caches by the exact string; loading one library under a second spelling (Debian's
    /usr/lib/softhsm/libsofthsm2.so is a symlink) runs C_Initialize twice, which fails.
    """
    loaded: dict[str, Any] = getattr(pkcs11, "_loaded", {})
    for name in loaded:
        if _module_key(name) == module_key:
            return name
    return module


def _pin_digest(salt: bytes, pin: str) -> bytes:
    return hashlib.sha256(salt + pin.encode("utf-8")).digest()


@dataclass
class _SharedSession:
    """One logged-in session per (module, token) in this process, shared by its stores."""

    session: Any  # pkcs11.Session
    salt: bytes
    pin_digest: bytes
    users: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock)


_REGISTRY: dict[tuple[str, str], _SharedSession] = {}
_REGISTRY_LOCK = threading.Lock()


def _describe(exc: BaseException) -> str:
    return type(exc).__name__


class Pkcs11Signer:
    """A P-256 key on a PKCS#11 token; `sign` returns raw ES256 r || s (64 bytes)."""

    def __init__(
        self,
        store: Pkcs11KeyStore,
        label: str,
        private_key: Any,
        public_key: ec.EllipticCurvePublicKey,
    ) -> None:
        self._store = store
        self._label = label
        self._private = private_key
        self._public = public_key
        self._kid = kid_for(public_key)

    @property
    def label(self) -> str:
        return self._label

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """ES256 over `data`: SHA-256 here, raw CKM_ECDSA on the token, raw r || s out."""
        digest = hashlib.sha256(data).digest()
        shared = self._store._shared_or_raise()
        try:
            with shared.lock:
                signature = self._private.sign(digest, mechanism=Mechanism.ECDSA)
        except p11e.PKCS11Error as exc:
            raise KeyStoreError(
                f"Signing with key {self._label!r} on PKCS#11 token {self._store.token_label!r} "
                f"failed ({_describe(exc)}); check that the token is still connected, then open "
                "the key store again."
            ) from exc
        return raw_ecdsa_signature(signature)

    def __repr__(self) -> str:
        return f"<Pkcs11Signer label={self._label!r} kid={self._kid.hex()}>"


class Pkcs11KeyStore(KeyStore):
    """P-256 signing keys on one PKCS#11 token, found by CKA_LABEL.

    Opens a read/write session and logs in as the user at construction, so a wrong PIN, a
    missing token or a missing module fails here. Use as a context manager or call `close()`.
    """

    def __init__(self, module: str | Path, token_label: str, user_pin: str) -> None:
        if not token_label:
            raise KeyStoreError(
                "The PKCS#11 token label is empty; give the label the token was initialised with."
            )
        self.module = os.fspath(module)
        self.token_label = token_label
        self._module_key = _module_key(module)
        self._key = (self._module_key, token_label)
        self._shared: _SharedSession | None = None
        self._shared = self._acquire(user_pin)

    # -- context manager --------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._shared is None else "open"
        return f"<Pkcs11KeyStore module={self.module!r} token={self.token_label!r} {state}>"

    # -- session handling -------------------------------------------------------------------

    def _load_module(self) -> Any:
        if os.sep in self.module and not Path(self._module_key).is_file():
            raise KeyStoreError(
                f"The PKCS#11 module {self.module} does not exist; install the token's PKCS#11 "
                "library (for SoftHSM2: apt install softhsm2) or fix the module path."
            )
        try:
            return pkcs11.lib(_library_name(self.module, self._module_key))
        except p11e.PKCS11Error as exc:
            if type(exc) is p11e.PKCS11Error:  # the loader itself failed (dlopen, dlsym)
                raise KeyStoreError(
                    f"The PKCS#11 module {self.module} could not be loaded ({exc}); point the "
                    "module path at the token vendor's PKCS#11 library."
                ) from exc
            raise KeyStoreError(
                f"The PKCS#11 module {self.module} failed to initialise ({_describe(exc)}); check "
                "its configuration (for SoftHSM2, the SOFTHSM2_CONF file and its token directory)."
            ) from exc

    def _find_token(self, lib: Any) -> Any:
        not_found = KeyStoreError(
            f"The PKCS#11 token {self.token_label!r} was not found in module {self.module}; "
            f"create it with softhsm2-util --init-token --free --label {self.token_label} "
            "(SoftHSM2), or check the token label and that the token is connected."
        )
        for attempt in range(2):
            try:
                return lib.get_token(token_label=self.token_label)
            except p11e.NoSuchToken as exc:
                if attempt == 0 and self._may_rescan():
                    try:
                        lib.reinitialize()  # SoftHSM2 only sees new tokens after C_Initialize
                    except p11e.PKCS11Error:
                        raise not_found from exc
                    continue
                raise not_found from exc
            except p11e.MultipleTokensReturned as exc:
                raise KeyStoreError(
                    f"Several PKCS#11 tokens are labelled {self.token_label!r} in module "
                    f"{self.module}; give each token a unique label."
                ) from exc
            except p11e.PKCS11Error as exc:
                raise KeyStoreError(
                    f"The tokens of PKCS#11 module {self.module} could not be listed "
                    f"({_describe(exc)}); check that the token is connected and the module is "
                    "configured."
                ) from exc
        raise not_found  # pragma: no cover - the loop always returns or raises

    def _may_rescan(self) -> bool:
        """Re-initialising drops every session of the module, so only when none is open."""
        return not any(module == self._module_key for module, _ in _REGISTRY)

    def _acquire(self, user_pin: str) -> _SharedSession:
        with _REGISTRY_LOCK:
            shared = _REGISTRY.get(self._key)
            if shared is not None:
                if not hmac.compare_digest(_pin_digest(shared.salt, user_pin), shared.pin_digest):
                    raise self._pin_rejected()
                shared.users += 1
                return shared
            lib = self._load_module()
            token = self._find_token(lib)
            session = self._login(token, user_pin)
            salt = secrets.token_bytes(16)
            shared = _SharedSession(session, salt, _pin_digest(salt, user_pin))
            _REGISTRY[self._key] = shared
            return shared

    def _pin_rejected(self) -> KeyStoreError:
        return KeyStoreError(
            f"The user PIN for PKCS#11 token {self.token_label!r} was rejected; enter the "
            "correct PIN (repeated failures may lock the token)."
        )

    def _login(self, token: Any, user_pin: str) -> Any:
        tok = self.token_label
        try:
            return token.open(rw=True, user_pin=user_pin)
        except _PIN_ERRORS as exc:
            raise self._pin_rejected() from exc
        except p11e.PinLocked as exc:
            raise KeyStoreError(
                f"The user PIN of PKCS#11 token {tok!r} is locked; ask the token's security "
                "officer to reset it."
            ) from exc
        except p11e.PinExpired as exc:
            raise KeyStoreError(
                f"The user PIN of PKCS#11 token {tok!r} has expired; set a new one with the token "
                "vendor's tool."
            ) from exc
        except p11e.UserPinNotInitialized as exc:
            raise KeyStoreError(
                f"PKCS#11 token {tok!r} has no user PIN yet; initialise it (softhsm2-util "
                "--init-token sets one for SoftHSM2)."
            ) from exc
        except (p11e.UserAlreadyLoggedIn, p11e.AnotherUserAlreadyLoggedIn) as exc:
            raise KeyStoreError(
                f"PKCS#11 token {tok!r} is already logged in by other code in this process; "
                "open it through Pkcs11KeyStore only, or close the other session first."
            ) from exc
        except p11e.TokenWriteProtected as exc:
            raise KeyStoreError(
                f"PKCS#11 token {tok!r} is write-protected; use a writable token."
            ) from exc
        except p11e.PKCS11Error as exc:
            raise KeyStoreError(
                f"Could not open a session on PKCS#11 token {tok!r} ({_describe(exc)}); check "
                "that the token is connected and not in use by too many programs."
            ) from exc

    def _shared_or_raise(self) -> _SharedSession:
        shared = self._shared
        if shared is None:
            raise KeyStoreError(
                f"The key store for PKCS#11 token {self.token_label!r} is closed; open it again."
            )
        return shared

    def close(self) -> None:
        """Release this store's use of the session; the last store on the token logs out."""
        with _REGISTRY_LOCK:
            shared, self._shared = self._shared, None
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            if _REGISTRY.get(self._key) is shared:
                del _REGISTRY[self._key]
            # Token gone or module re-initialised: nothing is left to release.
            with shared.lock, contextlib.suppress(p11e.PKCS11Error):
                shared.session.close()

    # -- key operations ---------------------------------------------------------------------

    def _objects(
        self,
        object_class: ObjectClass,
        *,
        label: str | None = None,
        key_id: bytes | None = None,
        key_type: KeyType | None = None,
    ) -> list[Any]:
        attrs: dict[Attribute, Any] = {Attribute.CLASS: object_class}
        if label is not None:
            attrs[Attribute.LABEL] = label
        if key_id is not None:
            attrs[Attribute.ID] = key_id
        if key_type is not None:
            attrs[Attribute.KEY_TYPE] = key_type
        shared = self._shared_or_raise()
        with shared.lock:
            return list(shared.session.get_objects(attrs))

    def _token_error(self, action: str, exc: BaseException) -> KeyStoreError:
        return KeyStoreError(
            f"Could not {action} on PKCS#11 token {self.token_label!r} ({_describe(exc)}); check "
            "that the token is still connected, then open the key store again."
        )

    def create(self, label: str) -> Signer:
        check_label(label)
        shared = self._shared_or_raise()
        with shared.lock:
            try:
                taken = self._objects(ObjectClass.PRIVATE_KEY, label=label)
                taken += self._objects(ObjectClass.PUBLIC_KEY, label=label)
            except p11e.PKCS11Error as exc:
                raise self._token_error("look up keys", exc) from exc
            if taken:
                raise KeyStoreError(
                    f"A key labelled {label!r} already exists on PKCS#11 token "
                    f"{self.token_label!r}; pick another label."
                )
            try:
                public, private = shared.session.generate_keypair(
                    KeyType.EC,
                    id=secrets.token_bytes(16),  # replaced by the kid once the point is known
                    label=label,
                    store=True,
                    capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                    public_template={
                        Attribute.EC_PARAMS: P256_EC_PARAMS,
                        Attribute.TOKEN: True,
                        Attribute.VERIFY: True,
                    },
                    private_template={
                        Attribute.TOKEN: True,
                        Attribute.PRIVATE: True,
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.SIGN: True,
                        Attribute.DERIVE: False,
                    },
                )
            except p11e.PKCS11Error as exc:
                raise KeyStoreError(
                    f"Could not create key {label!r} on PKCS#11 token {self.token_label!r} "
                    f"({_describe(exc)}); check that the token has free space and supports P-256 "
                    "key generation."
                ) from exc
            try:
                public_key = public_key_from_ec_point(public[Attribute.EC_POINT])
                kid = kid_for(public_key)
                public[Attribute.ID] = kid
                private[Attribute.ID] = kid
            except (p11e.PKCS11Error, KeyStoreError) as exc:
                for obj in (private, public):
                    with contextlib.suppress(p11e.PKCS11Error):
                        obj.destroy()
                if isinstance(exc, KeyStoreError):
                    raise
                raise self._token_error(f"link the new key {label!r} to its id", exc) from exc
        return Pkcs11Signer(self, label, private, public_key)

    def signer(self, label: str) -> Signer:
        check_label(label)
        shared = self._shared_or_raise()
        tok = self.token_label
        with shared.lock:
            try:
                privates = self._objects(ObjectClass.PRIVATE_KEY, label=label)
            except p11e.PKCS11Error as exc:
                raise self._token_error("look up keys", exc) from exc
            if not privates:
                raise KeyStoreError(
                    f"There is no key labelled {label!r} on PKCS#11 token {tok!r}; create it first."
                )
            if len(privates) > 1:
                raise KeyStoreError(
                    f"Several keys are labelled {label!r} on PKCS#11 token {tok!r}; remove the "
                    "duplicates with the token's management tool."
                )
            private = privates[0]
            try:
                if private.key_type != KeyType.EC:
                    raise KeyStoreError(
                        f"The key labelled {label!r} on PKCS#11 token {tok!r} is not an EC key; "
                        "citycard keys are P-256 (ES256)."
                    )
                public = self._public_for(label, private)
                params = bytes(public[Attribute.EC_PARAMS])
                point = public[Attribute.EC_POINT]
            except p11e.PKCS11Error as exc:
                raise self._token_error(f"read key {label!r}", exc) from exc
        if params != P256_EC_PARAMS:
            raise KeyStoreError(
                f"The key labelled {label!r} on PKCS#11 token {tok!r} is not a P-256 key; "
                "citycard keys are P-256 (ES256)."
            )
        return Pkcs11Signer(self, label, private, public_key_from_ec_point(point))

    def _public_for(self, label: str, private: Any) -> Any:
        """The public key object paired with `private`: same CKA_ID, else the same label."""
        key_id = bytes(private[Attribute.ID])
        candidates: list[Any] = []
        if key_id:
            candidates = self._objects(ObjectClass.PUBLIC_KEY, key_id=key_id)
        if len(candidates) != 1:
            candidates = self._objects(ObjectClass.PUBLIC_KEY, label=label)
        if len(candidates) != 1:
            raise KeyStoreError(
                f"The key labelled {label!r} on PKCS#11 token {self.token_label!r} has "
                f"{'no' if not candidates else 'more than one'} matching public key object; "
                "import its public key with the same CKA_ID and CKA_LABEL."
            )
        return candidates[0]

    def labels(self) -> list[str]:
        try:
            keys = self._objects(ObjectClass.PRIVATE_KEY, key_type=KeyType.EC)
            names = {str(key[Attribute.LABEL]) for key in keys}
        except p11e.PKCS11Error as exc:
            raise self._token_error("list keys", exc) from exc
        return sorted(name for name in names if name)
