"""Selective Disclosure for JWTs (RFC 9901): disclosures, issuance, presentation, verification.

Compact form: `<issuer-signed JWT>~<disclosure>~...~<disclosure>~[<KB-JWT>]`. A disclosure is
base64url(JSON [salt, name, value]) for an object member or [salt, value] for an array
element; the issuer signs only its digest, base64url(SHA-256(disclosure text)), in an `_sd`
array (members) or a `{"...": digest}` array element. The holder shows a disclosure to reveal
its claim, and proves possession of the key in `cnf.jwk` with a key binding JWT (`kb+jwt`)
over the venue's nonce and audience and the hash (`sd_hash`) of everything before it.

Verification follows RFC 9901 section 7: every disclosure must be referenced by exactly one
digest the issuer signed, no digest may appear twice, a disclosed name may not overwrite a
claim; anything else is refused with a typed `PresentationReason`, never half-read.
"""

from __future__ import annotations

import binascii
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from . import fastpath, jws
from .errors import MalformedError
from .jwk import b64u, from_jwk
from .keys import Signer
from .presentation_errors import PresentationError, PresentationReason

SD_ALG = "sha-256"
KB_TYP = "kb+jwt"
SALT_BYTES = 16
MAX_DISCLOSURES = 64
_RESERVED = frozenset({"_sd", "...", "_sd_alg"})
_CACHE_SIZE = 32
"""Small on purpose: a card is seen again within moments (a re-scan) or not for hours, and
entries freed long after they were made are cold; at 256 they cost a first-seen verify ~10 µs."""
_parsed: dict[str, tuple[str, tuple[Disclosure, ...]]] = {}
"""SdJwt.parse's reading of `<JWT>~<disclosure>~...~`, keyed by exactly that text: a holder
shows the same issued disclosures again and again, and reading them (base64url, JSON, SHA-256
of a 5 KB photo) is a pure function of the text. Nothing is verified here, so the cache
decides nothing: a different text is a different entry, read in full."""


def digest(text: str) -> str:
    """The digest of a disclosure (or of a presentation, for `sd_hash`): sha-256, base64url."""
    # b64u of the 32 bytes, inline: 44 base64 characters, the last one "=" (dropped)
    raw = binascii.b2a_base64(hashlib.sha256(text.encode("ascii")).digest(), newline=False)
    return raw[:43].translate(_TO_URL).decode("ascii")


_TO_URL = bytes.maketrans(b"+/", b"-_")


def decoy_digest() -> str:
    """A digest no disclosure has (RFC 9901 section 4.2.5): hides how many claims there are."""
    return b64u(hashlib.sha256(secrets.token_bytes(32)).digest())


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One disclosure: `name` is None for an array element."""

    encoded: str
    salt: str
    name: str | None
    value: Any
    digest: str  # of `encoded`: what the issuer signs
    @classmethod
    def new(cls, name: str | None, value: Any, salt: str | None = None) -> Disclosure:
        """A disclosure with a fresh 128-bit salt from `secrets` (or the one given)."""
        salt = b64u(secrets.token_bytes(SALT_BYTES)) if salt is None else salt
        parts = [salt, value] if name is None else [salt, name, value]
        encoded = b64u(jws.json_bytes(parts))
        return cls(encoded, salt, name, value, digest(encoded))

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        """A disclosure from its text; MalformedError when it is not one."""
        parts = jws.loads_json(jws.b64u_decode(encoded, "disclosure"), "disclosure")
        if not isinstance(parts, list) or len(parts) not in (2, 3):
            raise MalformedError("A disclosure is not an array of two or three items.")
        salt = parts[0]
        if not isinstance(salt, str) or not salt:
            raise MalformedError("A disclosure's salt is not text.")
        if len(parts) == 2:
            return cls(encoded, salt, None, parts[1], digest(encoded))
        name = parts[1]
        if not isinstance(name, str) or name in _RESERVED:
            raise MalformedError("A disclosure's claim name is not an acceptable name.")
        return cls(encoded, salt, name, parts[2], digest(encoded))


@dataclass(frozen=True, slots=True)
class SdJwt:
    """An SD-JWT: the issuer-signed JWT, the disclosures it carries, and a KB-JWT if any."""

    jwt: str
    disclosures: tuple[Disclosure, ...]
    kb_jwt: str | None = None
    # the parsed text before the KB-JWT; not an argument, so an SdJwt built or replaced from
    # parts always rebuilds it from them
    signed: str | None = field(default=None, init=False, compare=False, repr=False)

    def without_key_binding(self) -> str:
        """`<JWT>~<disclosure>~...~`: what `sd_hash` covers (and the issued form)."""
        if self.signed is not None:
            return self.signed
        return "".join([self.jwt, "~", *(d.encoded + "~" for d in self.disclosures)])

    def compact(self) -> str:
        return self.without_key_binding() + (self.kb_jwt or "")

    @classmethod
    def parse(cls, text: object) -> SdJwt:
        """Split a compact SD-JWT (with or without KB-JWT); MalformedError when it is not one."""
        if not isinstance(text, str) or len(text) > jws.MAX_JWS or "~" not in text:
            raise MalformedError("This is not an SD-JWT in compact form.")
        cut = text.rfind("~") + 1
        signed = text[:cut]
        found = _parsed.get(signed)
        if found is None:
            found = _read_issued(signed)
            if len(_parsed) >= _CACHE_SIZE:
                _parsed.clear()  # bounded: a flood of new texts costs reads, never memory
            _parsed[signed] = found
        out = cls(found[0], found[1], text[cut:] or None)
        object.__setattr__(out, "signed", signed)
        return out

    def present(
        self,
        keep: Callable[[Disclosure], bool],
        holder: Signer,
        nonce: str,
        audience: str,
        issued_at: int,
    ) -> SdJwt:
        """The presentation holding only the disclosures `keep` accepts, bound to the holder's
        key by a KB-JWT over `nonce`, `audience` and `issued_at`.

        A disclosure inside another (an entitlement inside the list) is kept with its parent
        only when `keep` accepts both; the verifier refuses one whose parent is missing.
        """
        kept = SdJwt(self.jwt, tuple(d for d in self.disclosures if keep(d)))
        payload = {
            "iat": issued_at,
            "aud": audience,
            "nonce": nonce,
            "sd_hash": digest(kept.without_key_binding()),
        }
        return SdJwt(kept.jwt, kept.disclosures, jws.sign(holder, {"typ": KB_TYP}, payload))


def _read_issued(signed: str) -> tuple[str, tuple[Disclosure, ...]]:
    """The JWT and the disclosures of `<JWT>~<disclosure>~...~`; MalformedError when it is not
    an SD-JWT's issued part."""
    # the compiled reader when it reads every disclosure (its Python twin is slower than what
    # follows); what follows decides everything else
    fast = fastpath.disclosures(signed) if fastpath.IMPLEMENTATION == "c" else None
    if fast is not None:
        return fast[0], tuple(Disclosure(e, salt, name, value, digest(e)) for e, salt, name, value in fast[1])
    parts = signed.split("~")  # the JWT, the disclosures, and "" after the last ~
    if len(parts) - 2 > MAX_DISCLOSURES:
        raise MalformedError("The SD-JWT carries too many disclosures.")
    if any(not p for p in parts[1:-1]):
        raise MalformedError("The SD-JWT has an empty disclosure.")
    return parts[0], tuple(Disclosure.parse(p) for p in parts[1:-1])


def issue(
    signer: Signer,
    header: dict[str, Any],
    payload: dict[str, Any],
    disclosures: Iterable[Disclosure],
) -> SdJwt:
    """Sign `payload` (which already holds the disclosures' digests) as an SD-JWT."""
    return SdJwt(jws.sign(signer, header, payload), tuple(disclosures))


def conceal(claims: dict[str, Any], decoys: int = 0) -> tuple[dict[str, Any], list[Disclosure]]:
    """Every member of `claims` made selectively disclosable: `({"_sd": [...]}, disclosures)`.

    The digests are sorted (their order says nothing about the claims) with `decoys` decoy
    digests among them.
    """
    made = [Disclosure.new(name, value) for name, value in claims.items()]
    digests = sorted([d.digest for d in made] + [decoy_digest() for _ in range(decoys)])
    return {"_sd": digests}, made


def conceal_elements(values: Iterable[Any]) -> tuple[list[dict[str, str]], list[Disclosure]]:
    """Each array element made selectively disclosable: `[{"...": digest}], disclosures`."""
    made = [Disclosure.new(None, v) for v in values]
    return [{"...": d.digest} for d in made], made


@dataclass(frozen=True, slots=True)
class Verified:
    """What a verified SD-JWT says: its header, the processed claims (only what was disclosed),
    and the disclosures used."""

    header: dict[str, Any]
    claims: dict[str, Any]
    disclosed: tuple[Disclosure, ...]
    issuer_payload: dict[str, Any]
    token: jws.Jws | None = None  # the issuer-signed JWT, as parsed


def verify(
    sd_jwt: SdJwt,
    issuer_key: Callable[[dict[str, Any], dict[str, Any]], ec.EllipticCurvePublicKey],
) -> Verified:
    """Check the issuer's signature and every disclosure (RFC 9901 section 7.1).

    `issuer_key(header, payload)` returns the key to check the signature with, or raises
    PresentationError (UNKNOWN_KEY). The key binding is checked by `verify_key_binding`.
    """
    try:
        token = jws.parse(sd_jwt.jwt, "SD-JWT")
    except MalformedError as exc:
        raise PresentationError(PresentationReason.MALFORMED, str(exc)) from exc
    key = issuer_key(token.header, token.payload)
    if not token.verify(key):
        raise PresentationError(PresentationReason.BAD_ISSUER_SIGNATURE)
    payload = token.payload
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise PresentationError(PresentationReason.MALFORMED, "The SD-JWT uses a digest other than sha-256.")
    by_digest: dict[str, Disclosure] = {}
    for d in sd_jwt.disclosures:
        if d.digest in by_digest:
            raise PresentationError(PresentationReason.REPEATED_DISCLOSURE)
        by_digest[d.digest] = d
    node = {k: v for k, v in payload.items() if k != "_sd_alg"}
    # the compiled walk when it does not refuse (its Python twin is slower than _unfold);
    # _unfold decides every refusal
    fast = fastpath.unfold(node, by_digest) if fastpath.IMPLEMENTATION == "c" else None
    if fast is not None:
        claims, used = fast
    else:
        used = set()
        claims = _unfold(node, by_digest, used, set())
    if used != set(by_digest):
        raise PresentationError(PresentationReason.UNSIGNED_DISCLOSURE)
    used_in_order = tuple(d for d in sd_jwt.disclosures if d.digest in used)
    return Verified(token.header, claims, used_in_order, payload, token)


def _take(digest_text: object, seen: set[str]) -> str:
    if not isinstance(digest_text, str):
        raise PresentationError(PresentationReason.MALFORMED, "An SD-JWT digest is not text.")
    if digest_text in seen:
        raise PresentationError(PresentationReason.MALFORMED, "The SD-JWT names one digest twice.")
    seen.add(digest_text)
    return digest_text


_NESTS = (dict, list)  # only containers can hold digests


def _unfold(node: Any, by_digest: dict[str, Disclosure], used: set[str], seen: set[str]) -> Any:
    # _take's checks are written out in the loops: this runs for every digest of every
    # presentation, and a call per digest was a tenth of it
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        digests = node.get("_sd", [])
        if not isinstance(digests, list):
            raise PresentationError(PresentationReason.MALFORMED, "An SD-JWT `_sd` is not an array.")
        for name, value in node.items():
            if name == "_sd":
                continue
            if name in _RESERVED:
                raise PresentationError(PresentationReason.MALFORMED, f"The SD-JWT misplaces {name!r}.")
            out[name] = _unfold(value, by_digest, used, seen) if isinstance(value, _NESTS) else value
        for item in digests:
            if not isinstance(item, str) or item in seen:
                _take(item, seen)  # raises its refusal
            seen.add(item)
            found = by_digest.get(item)
            if found is None:
                continue  # undisclosed, or a decoy
            if found.name is None:
                raise PresentationError(
                    PresentationReason.MALFORMED, "An array element's disclosure stands for an object member."
                )
            if found.name in out:
                raise PresentationError(
                    PresentationReason.MALFORMED, f"A disclosure would overwrite the claim {found.name!r}."
                )
            used.add(found.digest)
            value = found.value
            out[found.name] = _unfold(value, by_digest, used, seen) if isinstance(value, _NESTS) else value
        return out
    if isinstance(node, list):
        items: list[Any] = []
        for element in node:
            if isinstance(element, dict) and "..." in element:
                if len(element) != 1:
                    raise PresentationError(
                        PresentationReason.MALFORMED, "An SD-JWT array element digest has other members."
                    )
                item = element["..."]
                if not isinstance(item, str) or item in seen:
                    _take(item, seen)  # raises its refusal
                seen.add(item)
                found = by_digest.get(item)
                if found is None:
                    continue
                if found.name is not None:
                    raise PresentationError(
                        PresentationReason.MALFORMED, "An object member's disclosure stands for an element."
                    )
                used.add(found.digest)
                value = found.value
                items.append(_unfold(value, by_digest, used, seen) if isinstance(value, _NESTS) else value)
            else:
                items.append(
                    _unfold(element, by_digest, used, seen) if isinstance(element, _NESTS) else element
                )
        return items
    return node


@dataclass(frozen=True, slots=True)
class KeyBinding:
    nonce: str
    audience: str
    issued_at: int


def verify_key_binding(sd_jwt: SdJwt, holder_jwk: object) -> KeyBinding:
    """Check the KB-JWT: signed by the key in `cnf.jwk`, typ `kb+jwt`, and `sd_hash` over this
    very presentation (so no disclosure was added or removed after the holder signed).

    The caller compares the nonce, audience and time it returns with its own request.
    """
    if sd_jwt.kb_jwt is None:
        raise PresentationError(PresentationReason.NO_KEY_BINDING)
    try:
        key = from_jwk(holder_jwk)
    except MalformedError as exc:
        raise PresentationError(PresentationReason.MALFORMED, "The credential names no usable holder key.") from exc
    try:
        token = jws.parse(sd_jwt.kb_jwt, "key binding JWT")
    except MalformedError as exc:
        # text that is no JWS at all (a truncated file ends in half a disclosure) cannot be
        # read; only a readable key binding that fails says "a copy"
        raise PresentationError(PresentationReason.MALFORMED, str(exc)) from exc
    if token.header.get("typ") != KB_TYP:
        raise PresentationError(PresentationReason.BAD_KEY_BINDING, "The key binding JWT is not a kb+jwt.")
    if not token.verify(key):
        raise PresentationError(PresentationReason.BAD_KEY_BINDING)
    p = token.payload
    if p.get("sd_hash") != digest(sd_jwt.without_key_binding()):
        raise PresentationError(PresentationReason.DISCLOSURES_CHANGED)
    nonce, aud, iat = p.get("nonce"), p.get("aud"), p.get("iat")
    if not (isinstance(nonce, str) and isinstance(aud, str)):
        raise PresentationError(PresentationReason.BAD_KEY_BINDING, "The key binding names no nonce or audience.")
    if type(iat) is not int:
        raise PresentationError(PresentationReason.BAD_KEY_BINDING, "The key binding carries no time.")
    return KeyBinding(nonce, aud, iat)
