"""The citycard mdoc (ISO/IEC 18013-5): IssuerSigned, its MSO, and DeviceResponse presentations.

IssuerSigned = {"nameSpaces": {NAMESPACE: [#6.24(bstr .cbor IssuerSignedItem), ...]},
                "issuerAuth": COSE_Sign1(#6.24(bstr .cbor MobileSecurityObject))}

One IssuerSignedItem per item of `cardio.wallet_claims` (`photo` as bytes, `birth_date` as a
full-date, tag 1004), one `entitlement_<code>: true` element per entitlement. The MSO holds the
SHA-256 digest of each item's tagged bytes, the holder's COSE_Key (`deviceKeyInfo`), the
validity and, as the Token Status List draft puts it in an MSO, `status` (the same list entry
as the chip credential). issuerAuth is signed ES256 by the kiosk key: protected header
`{1: -7, 4: kid}`, unprotected `{33: document-signer certificate}`.

A presentation is a DeviceResponse with only the elements the venue asked for and a
`deviceSignature` by the holder's key over DeviceAuthentication, whose SessionTranscript for
citycard's QR flow is `[null, null, ["org.citycard.qr-handover.1", audience, nonce,
request time]]` (in the manner of the ISO 18013-7 / OpenID4VP handovers: no device
engagement, the verifier's nonce and identity signed by the device). docs/credential.md
section 8 shows one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from . import fastpath
from .cbor import head
from .cose import sig_structure
from .credential import Credential
from .errors import MalformedError
from .jwk import p256_cached
from .jws import verify_es256
from .keys import ES256, KID_LENGTH, Signer, cose_key, point_bytes
from .presentation_errors import PresentationError, PresentationReason
from .wallet_claims import ITEMS, WalletClaims, personal_values

DOCTYPE = "org.citycard.resident.1"
NAMESPACE = "org.citycard.resident.1"
FORMAT = "mdoc"
HANDOVER = "org.citycard.qr-handover.1"
ENTITLEMENT_ELEMENT = "entitlement_"
MAX_MDOC = 64 * 1024
_X5CHAIN = 33
_ALG, _KID = 1, 4
_COSE_KEY_LABELS = frozenset({1, -1, -2, -3})  # kty, crv, x, y
_CERT_CACHE_SIZE = 64
_ITEM_MEMBERS = frozenset({"digestID", "random", "elementIdentifier", "elementValue"})
_ES256_HEADER = b"\xa1\x01\x26"  # {1: -7}, as citycard's wallets encode it
_RESPONSE_MEMBERS = {"version", "documents", "status"}  # a DeviceResponse without documentErrors
_DOCUMENT_MEMBERS = {"docType", "issuerSigned", "deviceSigned"}  # a Document without errors
_R = PresentationReason

Element = tuple[str, Any, Any, bytes]
"""An element read: (elementIdentifier, digestID, elementValue, its #6.24 bytes as digested)."""
FastResponse = tuple[list[Any], list[Element], bytes]
"""A DeviceResponse in the one shape citycard's wallets write, as `cardio.fastpath` reads it:
(issuerAuth, the elements, the device signature)."""


def _loads(data: bytes, what: str) -> Any:
    """CBOR inside what a signature or a digest covers (an MSO, an element, a header): read as
    cbor2 reads it; what a signer put behind the item cannot have ridden in afterwards."""
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_MDOC:
        raise PresentationError(_R.MALFORMED, f"The {what} is not CBOR of acceptable size.")
    try:
        return cbor2.loads(
            bytes(data), allow_duplicate_keys=False, allow_indefinite=False, max_depth=16
        )
    except Exception as exc:  # cbor2 raises several types on hostile input
        raise PresentationError(_R.MALFORMED, f"The {what} is not valid CBOR.") from exc


def loads_whole(data: bytes, what: str) -> Any:
    """CBOR that no signature covers (a DeviceResponse, an IssuerSigned file, a QR's envelope):
    one item and nothing after it, so that a text has one reading (slower than `_loads`, so
    kept off the signed parts a verify reads on its hot path)."""
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_MDOC:
        raise PresentationError(_R.MALFORMED, f"The {what} is not CBOR of acceptable size.")
    fp = io.BytesIO(bytes(data))
    try:
        obj = cbor2.CBORDecoder(
            fp, allow_duplicate_keys=False, allow_indefinite=False, max_depth=16
        ).decode()
    except Exception as exc:  # cbor2 raises several types on hostile input
        raise PresentationError(_R.MALFORMED, f"The {what} is not valid CBOR.") from exc
    if fp.tell() != len(data):  # nothing may ride behind the item
        raise PresentationError(_R.MALFORMED, f"The {what} has bytes after its end.")
    return obj


@functools.lru_cache(maxsize=64)
def _loads_header(data: bytes) -> Any:
    return _loads(data, "COSE header")


def _header(data: object) -> Any:
    """A COSE protected header, decoded once per distinct bytes (every card of a kiosk key
    carries the same few bytes); the caller gets its own copy."""
    if type(data) is not bytes or len(data) > 64:
        return _loads(data, "COSE header")  # type: ignore[arg-type]
    obj = _loads_header(data)
    return dict(obj) if isinstance(obj, dict) else obj


def _embedded(data: bytes, what: str) -> bytes:
    """The bytes inside `data` = #6.24(bstr): read straight from the heads when `data` is
    exactly one such item (the common encoding), else through the CBOR decoder as before."""
    if len(data) > 3 and data[0] == 0xD8 and data[1] == 24 and data[2] >> 5 == 2:
        info = data[2] & 0x1F
        start, length = 3, info
        if 24 <= info <= 27:
            start = 3 + (1 << (info - 24))
            length = int.from_bytes(data[3:start], "big") if len(data) >= start else -1
        if info <= 27 and length == len(data) - start:
            return data[start:]
    wrapped = _loads(data, what)
    if not (isinstance(wrapped, cbor2.CBORTag) and wrapped.tag == 24 and isinstance(wrapped.value, bytes)):
        raise PresentationError(_R.MALFORMED, f"The {what} is not tagged CBOR bytes.")
    return wrapped.value


def _dumps(obj: Any) -> bytes:
    return cbor2.dumps(obj, canonical=True)


def tag24(obj: Any) -> cbor2.CBORTag:
    """#6.24(bstr .cbor obj): embedded CBOR, so its digest covers exactly these bytes."""
    return cbor2.CBORTag(24, _dumps(obj))


def _tdate(t: int) -> cbor2.CBORTag:
    return cbor2.CBORTag(0, datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _sign1(signer: Signer, protected: dict[int, Any], unprotected: dict[int, Any],
           payload: bytes, detached: bool = False) -> list[Any]:  # fmt: skip
    head = _dumps(protected)
    signature = signer.sign(sig_structure(head, payload))
    return [head, unprotected, None if detached else payload, signature]


def element_values(credential: Credential) -> dict[str, Any]:
    """The mdoc element of each item: CBOR types (photo bytes, birth date a full-date)."""
    values = personal_values(credential)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "photo":
            value = base64.b64decode(value)
        elif name == "birth_date":
            value = cbor2.CBORTag(1004, value)
        out[name] = value
    for code in credential.holder.entitlements:
        out[ENTITLEMENT_ELEMENT + code] = True
    return out


def issue_mdoc(
    signer: Signer,
    credential: Credential,
    holder_key: ec.EllipticCurvePublicKey,
    *,
    x5chain: list[bytes] | None = None,
    signed_at: int | None = None,
) -> bytes:
    """The CBOR IssuerSigned of `credential` for the holder key, every element included."""
    items: list[cbor2.CBORTag] = []
    digests: dict[int, bytes] = {}
    for digest_id, (name, value) in enumerate(element_values(credential).items()):
        item = tag24(
            {
                "digestID": digest_id,
                "random": secrets.token_bytes(16),
                "elementIdentifier": name,
                "elementValue": value,
            }
        )
        items.append(item)
        digests[digest_id] = hashlib.sha256(_dumps(item)).digest()
    mso = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "docType": DOCTYPE,
        "valueDigests": {NAMESPACE: digests},
        "deviceKeyInfo": {"deviceKey": cose_key(holder_key)},
        "validityInfo": {
            "signed": _tdate(credential.issued_at if signed_at is None else signed_at),
            "validFrom": _tdate(credential.issued_at),
            "validUntil": _tdate(credential.expires_at),
        },
        "status": {
            "status_list": {"idx": credential.status_index, "uri": credential.status_uri}
        },
    }
    unprotected: dict[int, Any] = {}
    if x5chain:
        unprotected[_X5CHAIN] = x5chain[0] if len(x5chain) == 1 else list(x5chain)
    auth = _sign1(signer, {_ALG: ES256, _KID: signer.kid}, unprotected, _dumps(tag24(mso)))
    return _dumps({"nameSpaces": {NAMESPACE: items}, "issuerAuth": auth})


@dataclass(frozen=True)
class IssuerSigned:
    """A parsed IssuerSigned: items by element id (tagged bytes kept as they came) and the
    issuerAuth array."""

    items: dict[str, cbor2.CBORTag]
    issuer_auth: list[Any]
    elements: dict[str, dict[str, Any]]  # the items decoded
    @classmethod
    def parse(cls, obj: object) -> IssuerSigned:
        if isinstance(obj, bytes | bytearray):
            obj = loads_whole(bytes(obj), "mdoc")
        if not isinstance(obj, dict) or set(obj) - {"nameSpaces", "issuerAuth"} or "issuerAuth" not in obj:
            raise PresentationError(_R.MALFORMED, "This is not an mdoc IssuerSigned.")
        spaces = obj.get("nameSpaces", {})
        if not isinstance(spaces, dict) or set(spaces) - {NAMESPACE}:
            raise PresentationError(_R.WRONG_FORMAT)
        items: dict[str, cbor2.CBORTag] = {}
        elements: dict[str, dict[str, Any]] = {}
        for raw in spaces.get(NAMESPACE, []) if isinstance(spaces.get(NAMESPACE, []), list) else [None]:
            if not (isinstance(raw, cbor2.CBORTag) and raw.tag == 24 and isinstance(raw.value, bytes)):
                raise PresentationError(_R.MALFORMED, "An mdoc element is not tagged CBOR bytes.")
            item = _loads(raw.value, "mdoc element")
            if not isinstance(item, dict) or item.keys() != _ITEM_MEMBERS:
                raise PresentationError(_R.MALFORMED, "An mdoc element has the wrong members.")
            name = item["elementIdentifier"]
            if not isinstance(name, str) or name in items:
                raise PresentationError(_R.REPEATED_DISCLOSURE)
            items[name] = raw
            elements[name] = item
        auth = obj["issuerAuth"]
        if not (isinstance(auth, list) and len(auth) == 4 and isinstance(auth[0], bytes)
                and isinstance(auth[1], dict) and isinstance(auth[2], bytes)
                and isinstance(auth[3], bytes)):  # fmt: skip
            raise PresentationError(_R.MALFORMED, "The mdoc's issuerAuth is not a COSE_Sign1.")
        return cls(items, auth, elements)

    def select(self, keep: Callable[[str], bool]) -> IssuerSigned:
        names = [k for k in self.items if keep(k)]
        return IssuerSigned({k: self.items[k] for k in names}, self.issuer_auth,
                            {k: self.elements[k] for k in names})  # fmt: skip

    def to_cbor(self) -> dict[str, Any]:
        return {"nameSpaces": {NAMESPACE: list(self.items.values())}, "issuerAuth": self.issuer_auth}

    def chain_points(self) -> list[bytes]:
        """The P-256 point of each certificate in `x5chain` (see `_chain_points`)."""
        return _chain_points(self.issuer_auth[1])

    def rows(self) -> list[Element]:
        """Each element as (identifier, digestID, value, its #6.24 bytes as digested)."""
        return [(name, self.elements[name]["digestID"], self.elements[name]["elementValue"],
                 b"\xd8\x18" + head(2, len(raw.value)) + raw.value)
                for name, raw in self.items.items()]  # fmt: skip

    def x5chain(self) -> list[x509.Certificate]:
        chain = self.issuer_auth[1].get(_X5CHAIN)
        ders = [chain] if isinstance(chain, bytes) else chain if isinstance(chain, list) else []
        try:
            return [x509.load_der_x509_certificate(d) for d in ders]
        except (ValueError, TypeError) as exc:
            raise PresentationError(_R.MALFORMED, "The mdoc's certificate cannot be read.") from exc


def element_item(name: str) -> str:
    """The wallet item an mdoc element stands for."""
    if name.startswith(ENTITLEMENT_ELEMENT):
        return "entitlement:" + name[len(ENTITLEMENT_ELEMENT) :]
    return name


def _chain_points(unprotected: dict[Any, Any]) -> list[bytes]:
    """The P-256 point of each certificate in `x5chain` (b"" for another key type), document
    signer first; each certificate is parsed once per process (cached by its DER bytes), and
    one that cannot be read is MALFORMED as in `x5chain`."""
    chain = unprotected.get(_X5CHAIN)
    ders = [chain] if isinstance(chain, bytes) else chain if isinstance(chain, list) else []
    if not all(type(d) is bytes for d in ders):
        raise PresentationError(_R.MALFORMED, "The mdoc's certificate cannot be read.")
    return [_cert_point(d) for d in ders]


def read_issuer_signed(
    signed: IssuerSigned, issuer_key: Callable[[bytes], ec.EllipticCurvePublicKey]
) -> tuple[WalletClaims, ec.EllipticCurvePublicKey]:
    """Verify issuerAuth (key from the trust list by kid) and every element's digest.

    Returns the claims of the elements present and the holder's (device) key.
    """
    return _read_signed(signed.issuer_auth, signed.rows(), issuer_key)


def _read_signed(
    issuer_auth: list[Any], elements: list[Element], issuer_key: Callable[[bytes], ec.EllipticCurvePublicKey]
) -> tuple[WalletClaims, ec.EllipticCurvePublicKey]:
    """`read_issuer_signed` of an issuerAuth and its elements, however they were read."""
    protected_raw, unprotected, payload, signature = issuer_auth
    protected = _header(protected_raw)
    if not isinstance(protected, dict) or protected.get(_ALG) != ES256:
        raise PresentationError(_R.MALFORMED, "The mdoc is not signed with ES256.")
    kid = protected.get(_KID)
    chain = _chain_points(unprotected)
    if kid is None and chain:
        if not chain[0]:
            raise PresentationError(_R.MALFORMED, "The mdoc's certificate is not a P-256 key.")
        kid = hashlib.sha256(chain[0]).digest()[:KID_LENGTH]  # as cardio.keys.kid_for
    if not isinstance(kid, bytes):
        raise PresentationError(_R.UNKNOWN_KEY)
    key = issuer_key(kid)
    if chain and chain[0] != point_bytes(key):
        raise PresentationError(_R.MALFORMED, "The mdoc's certificate is not the signing key's.")
    if not verify_es256(key, signature, sig_structure(protected_raw, payload)):
        raise PresentationError(_R.BAD_ISSUER_SIGNATURE)
    digests, device_key, issued, expires, idx, uri = read_signed_mso(payload)
    disclosed, entitlements = read_elements(digests, elements)
    # The MSO names no issuer: it is the trust list's whose key signed it (the caller's).
    claims = WalletClaims(FORMAT, "", issued, expires, idx, uri, kid, disclosed, entitlements)
    return claims, device_key


def signed_kid(protected: bytes) -> bytes | None:
    """The kid of an issuerAuth protected header in the one shape citycard's kiosks write,
    {1: -7, 4: kid}; None for any other bytes (`_header` decodes them)."""
    if len(protected) == len(_CITYCARD_PROTECTED) + KID_LENGTH and protected.startswith(_CITYCARD_PROTECTED):
        return protected[len(_CITYCARD_PROTECTED) :]
    return None


_CITYCARD_PROTECTED = b"\xa2\x01\x26\x04\x48"  # {1: -7, 4: h'...'} with 8 bytes to come


def read_signed_mso(
    payload: bytes,
) -> tuple[dict[Any, Any], ec.EllipticCurvePublicKey, int, int, int, str]:
    """`_read_mso` of an issuerAuth payload whose signature the caller has just checked,
    through the cache of MSOs read before."""
    read = _mso_cache.get(payload)
    if read is None:
        read = _read_mso(payload)
        if len(_mso_cache) >= _MSO_CACHE_SIZE:
            _mso_cache.clear()  # bounded: a flood of new credentials costs reads, never memory
        _mso_cache[payload] = read
    return read


def read_elements(
    digests: dict[Any, Any], elements: list[Element]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The disclosed items (as a venue shows them) and entitlements of `elements`, each checked
    against the MSO's value `digests`; PresentationError for one the issuer did not sign, one
    given twice, or one no citycard holds."""
    disclosed: dict[str, Any] = {}
    entitlements: list[str] = []
    seen_ids: set[int] = set()
    sha256 = hashlib.sha256
    for name, digest_id, value, tagged in elements:
        expected = digests.get(digest_id) if type(digest_id) is int else None
        if expected is None or sha256(tagged).digest() != expected:
            raise PresentationError(_R.UNSIGNED_DISCLOSURE)
        if digest_id in seen_ids:
            raise PresentationError(_R.REPEATED_DISCLOSURE)
        seen_ids.add(digest_id)
        if name.startswith(ENTITLEMENT_ELEMENT):
            if value is True:
                entitlements.append(name[len(ENTITLEMENT_ELEMENT) :])
            continue
        if name not in ITEMS:
            raise PresentationError(_R.MALFORMED, f"The mdoc carries {name!r}, which a citycard never holds.")
        disclosed[name] = _shown(name, value)
    return disclosed, tuple(entitlements)


_MSO_CACHE_SIZE = 32  # small on purpose, as sdjwt._CACHE_SIZE
_mso_cache: dict[bytes, tuple[dict[Any, Any], ec.EllipticCurvePublicKey, int, int, int, str]] = {}
"""What `_read_mso` found in an issuerAuth payload, keyed by those exact bytes: a pure function
of them, read after their signature was checked (as it is on every presentation). Only MSOs
that passed every check are here; another payload is another entry, read in full."""


def _read_mso(
    payload: bytes,
) -> tuple[dict[Any, Any], ec.EllipticCurvePublicKey, int, int, int, str]:
    """The MSO's value digests, the holder's key, validity and status entry, checked."""
    fast = fastpath.mso(payload)
    if fast is not None:  # citycard's own deterministic shape, read without cbor2
        digests, x, y, signed, valid_from, valid_until, idx, uri = fast
        try:  # as below: the key, then the times (all three, as cbor2 decodes them all)
            device_key = p256_cached(x + y)
            _tdate_epoch(signed)
            return digests, device_key, _tdate_epoch(valid_from), _tdate_epoch(valid_until), idx, uri
        except MalformedError as exc:
            raise PresentationError(_R.MALFORMED, str(exc)) from exc
    mso = _loads(_embedded(payload, "MSO"), "MSO")
    try:
        if mso["docType"] != DOCTYPE or mso["digestAlgorithm"] != "SHA-256":
            raise PresentationError(_R.WRONG_FORMAT)
        digests = mso["valueDigests"][NAMESPACE]
        device_key = _device_key(mso["deviceKeyInfo"]["deviceKey"])
        valid = mso["validityInfo"]
        issued, expires = _epoch(valid["validFrom"]), _epoch(valid["validUntil"])
        status = mso["status"]["status_list"]
        idx, uri = status["idx"], status["uri"]
    except (KeyError, TypeError) as exc:
        raise PresentationError(_R.MALFORMED, "The MSO lacks a member every citycard has.") from exc
    except MalformedError as exc:
        raise PresentationError(_R.MALFORMED, str(exc)) from exc
    if not (isinstance(digests, dict) and type(idx) is int and isinstance(uri, str)):
        raise PresentationError(_R.MALFORMED, "The MSO's members have wrong types.")
    return digests, device_key, issued, expires, idx, uri


@functools.lru_cache(maxsize=_CERT_CACHE_SIZE)
def _cert_point(der: bytes) -> bytes:
    """The P-256 point of a document-signer certificate (b"" for another key type), cached by
    the certificate's DER bytes: parsing X.509 on every presentation costs more than the
    digests. Keyed by the whole certificate, so another certificate is always parsed."""
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # a key of a type unknown
        raise PresentationError(_R.MALFORMED, "The mdoc's certificate cannot be read.") from exc
    return point_bytes(key) if isinstance(key, ec.EllipticCurvePublicKey) else b""


def _device_key(obj: object) -> ec.EllipticCurvePublicKey:
    """The holder's P-256 key from its COSE_Key (as `cardio.keys.from_cose_key` reads it),
    loaded through the cache keyed by its coordinate bytes."""
    if not isinstance(obj, dict) or set(obj) != _COSE_KEY_LABELS:
        raise MalformedError("The public key is not an EC2 COSE_Key.")
    x, y = obj[-2], obj[-3]
    if obj[1] != 2 or obj[-1] != 1:
        raise MalformedError("The public key is not a P-256 key.")
    if not (type(x) is bytes and type(y) is bytes and len(x) == 32 and len(y) == 32):
        raise MalformedError("The public key coordinates are not 32 bytes each.")
    return p256_cached(x + y)


def _epoch(value: object) -> int:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return int(value.timestamp())
    if isinstance(value, cbor2.CBORTag) and value.tag == 0 and isinstance(value.value, str):
        return _tdate_epoch(value.value)
    raise MalformedError("An MSO time is not a tdate.")


@functools.lru_cache(maxsize=256)
def _tdate_epoch(text: str) -> int:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError as exc:
        raise MalformedError("An MSO time is not a tdate.") from exc


def _shown(name: str, value: Any) -> Any:
    """An element's value as a venue shows it (the SD-JWT VC's JSON types)."""
    if name == "photo" and isinstance(value, bytes):
        return fastpath.b64encode(bytes(value))
    if name == "birth_date":
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, cbor2.CBORTag) and value.tag == 1004 and isinstance(value.value, str):
            return value.value
    if name in ("age_over_18", "age_over_65") and isinstance(value, bool):
        return value
    if name == "languages" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, str) and name not in ("photo", "birth_date", "languages"):
        return value
    raise PresentationError(_R.MALFORMED, f"The mdoc's {name} has the wrong type.")


def session_transcript(audience: str, nonce: str, request_time: int) -> list[Any]:
    """The SessionTranscript of citycard's QR flow (see the module doc)."""
    return [None, None, [HANDOVER, audience, nonce, request_time]]


def _device_authentication(transcript: list[Any], namespaces_bytes: cbor2.CBORTag) -> bytes:
    return _dumps(tag24(["DeviceAuthentication", transcript, DOCTYPE, namespaces_bytes]))


_DEVICE_AUTH_HEAD = b"\x84" + _dumps("DeviceAuthentication")
_DOCTYPE_CBOR = _dumps(DOCTYPE)


def _device_authentication_bytes(transcript_cbor: bytes, namespaces: bytes) -> bytes:
    """`_device_authentication` put together from its parts' bytes (the same bytes: an array's
    deterministic encoding is its head and its items'), for the verifier: two encoder calls
    fewer on every presentation."""
    inner = b"".join((_DEVICE_AUTH_HEAD, transcript_cbor, _DOCTYPE_CBOR, b"\xd8\x18",
                      head(2, len(namespaces)), namespaces))  # fmt: skip
    return b"\xd8\x18" + head(2, len(inner)) + inner


def device_response(
    issuer_signed: bytes | IssuerSigned,
    keep: Callable[[str], bool],
    device: Signer,
    transcript: list[Any],
) -> bytes:
    """A DeviceResponse with only the elements whose item `keep` accepts, device-signed."""
    signed = issuer_signed if isinstance(issuer_signed, IssuerSigned) else IssuerSigned.parse(issuer_signed)
    chosen = signed.select(lambda name: keep(element_item(name)))
    namespaces = tag24({})
    signature = _sign1(device, {_ALG: ES256}, {}, _device_authentication(transcript, namespaces),
                       detached=True)  # fmt: skip
    document = {
        "docType": DOCTYPE,
        "issuerSigned": chosen.to_cbor(),
        "deviceSigned": {"nameSpaces": namespaces, "deviceAuth": {"deviceSignature": signature}},
    }
    return _dumps({"version": "1.0", "documents": [document], "status": 0})


def without_x5chain(response: bytes) -> bytes:
    """The DeviceResponse without the certificate in issuerAuth's unprotected header (not
    signed, so removing it leaves every signature whole): 400 bytes fewer for a QR."""
    obj = loads_whole(response, "mdoc response")
    try:
        for doc in obj["documents"]:
            doc["issuerSigned"]["issuerAuth"][1].pop(_X5CHAIN, None)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise PresentationError(_R.MALFORMED, "The mdoc response lacks a required member.") from exc
    return _dumps(obj)


def fast_response(data: bytes) -> FastResponse | None:
    """A DeviceResponse's bytes read in one compiled pass when they are in the one shape
    citycard's wallets write, else None (cbor2 then reads them and decides; the pure-Python
    reader is held equal by the tests but is no faster than cbor2, so it is not used here)."""
    return fastpath.device_response(data) if fastpath.IMPLEMENTATION == "c" else None


def read_device_response(
    data: bytes | dict[str, Any] | FastResponse,
    issuer_key: Callable[[bytes], ec.EllipticCurvePublicKey],
) -> tuple[WalletClaims, Callable[[list[Any]], bool]]:
    """Verify a DeviceResponse (its bytes, them decoded, or `fast_response`'s reading)'s
    issuerAuth and digests.

    Returns the claims and `bound_to(transcript)`: whether the device signature holds over
    that SessionTranscript (the caller's request decides which one).
    """
    fast = data if isinstance(data, tuple) else fast_response(data) if isinstance(data, bytes) else None
    if fast is not None:  # no device-signed elements, the device signature {1: -7}, detached
        issuer_auth, elements, signature = fast
        claims, device_key = _read_signed(issuer_auth, elements, issuer_key)
        protected, namespaces_value = _ES256_HEADER, b"\xa0"
    else:
        assert not isinstance(data, tuple)
        claims, device_key, protected, signature, namespaces_value = _read_decoded(data, issuer_key)

    def bound_to(transcript: list[Any]) -> bool:
        if not protected:  # not a detached ES256 COSE_Sign1 (_read_decoded): it cannot hold
            return False
        return verify_es256(device_key, signature, device_signed(transcript, protected, namespaces_value))

    return claims, bound_to


def device_signed(transcript: list[Any], protected: bytes = _ES256_HEADER, namespaces: bytes = b"\xa0") -> bytes:
    """The Sig_structure a holder's device signature covers (detached): DeviceAuthentication
    over `transcript` with the device-signed `namespaces` (none, as citycard's wallets sign)."""
    return sig_structure(protected, _device_authentication_bytes(_dumps(transcript), namespaces))


def _read_decoded(
    data: bytes | dict[str, Any], issuer_key: Callable[[bytes], ec.EllipticCurvePublicKey]
) -> tuple[WalletClaims, ec.EllipticCurvePublicKey, bytes, bytes, bytes]:
    """`read_device_response` through cbor2: the claims, the device key, and the device
    signature's protected header, signature and signed namespaces' bytes."""
    response = loads_whole(data, "mdoc response") if isinstance(data, bytes | bytearray) else data
    try:
        documents = response["documents"]
        if response["version"] != "1.0" or not isinstance(documents, list) or len(documents) != 1:
            raise PresentationError(_R.MALFORMED, "The mdoc response holds not exactly one document.")
        # Outside every signature, yet read: a response that says it failed (status 10 and
        # up, ISO/IEC 18013-5 8.3.2.1.2.3) or carries errors is not an answer to verify.
        status = response["status"]
        if type(status) is not int or status != 0 or set(response) != _RESPONSE_MEMBERS:
            raise PresentationError(_R.MALFORMED, "The mdoc response reports an error or has unknown members.")
        doc = documents[0]
        if not isinstance(doc, dict) or set(doc) != _DOCUMENT_MEMBERS:
            raise PresentationError(_R.MALFORMED, "The mdoc document has missing or unknown members.")
        if doc["docType"] != DOCTYPE:
            raise PresentationError(_R.WRONG_FORMAT)
        signed = IssuerSigned.parse(doc["issuerSigned"])
        device_signed = doc["deviceSigned"]
        namespaces = device_signed["nameSpaces"]
        device_auth = device_signed["deviceAuth"]
        if not isinstance(device_auth, dict) or set(device_auth) != {"deviceSignature"}:
            raise PresentationError(_R.MALFORMED, "The mdoc's device authentication is not one signature.")
        device_sig = device_auth["deviceSignature"]
    except (KeyError, TypeError) as exc:
        raise PresentationError(_R.MALFORMED, "The mdoc response lacks a required member.") from exc
    claims, device_key = read_issuer_signed(signed, issuer_key)
    if not (isinstance(namespaces, cbor2.CBORTag) and namespaces.tag == 24
            and isinstance(namespaces.value, bytes)
            and (namespaces.value == b"\xa0"  # {}, as citycard's wallets encode it
                 or _loads(namespaces.value, "device namespaces") == {})):  # fmt: skip
        raise PresentationError(_R.MALFORMED, "The device signed elements citycard never asks of it.")
    # A device signature that could never verify (not a detached ES256 COSE_Sign1) is a binding
    # that fails, not a refusal of its own: the card's status still outranks it (section 9 of
    # docs/credential.md), and a check without a request does not look at it.
    if not (isinstance(device_sig, list) and len(device_sig) == 4 and device_sig[2] is None
            and isinstance(device_sig[0], bytes) and isinstance(device_sig[3], bytes)):  # fmt: skip
        return claims, device_key, b"", b"", namespaces.value
    # {1: -7} as citycard's wallets encode it, else decoded and compared
    if device_sig[0] != _ES256_HEADER and _header_or_none(device_sig[0]) != {_ALG: ES256}:
        return claims, device_key, b"", b"", namespaces.value
    return claims, device_key, device_sig[0], device_sig[3], namespaces.value


def _header_or_none(protected: bytes) -> object:
    try:
        return _header(protected)
    except PresentationError:
        return None
