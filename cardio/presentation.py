"""Wallet presentations: a venue's request, the holder's answer, and its offline verification.

1. The venue shows a **request** QR: `CCQ1:` + base64url(JSON {"v": 1, "aud": venue id,
   "nonce": 128 random bits, "iat": time, "items": [what it needs]}) — items as in
   `cardio.wallet_claims` (`photo`, `given_name`, `age_over_18`, `entitlement:pool`, ...).
2. The holder's wallet answers with only those items: an SD-JWT VC presentation (the
   disclosures asked for and a KB-JWT over the nonce, the venue id as `aud`, and the time),
   or an mdoc DeviceResponse (the elements asked for, device-signed over the SessionTranscript
   `cardio.mdoc.session_transcript` of that request). As a QR: `CCS1:` (SD-JWT) or `CCM1:`
   (mdoc, CBOR [aud, nonce, request time, DeviceResponse]) + base45(zlib(bytes)).
3. The venue verifies offline (`verify_wallet`): issuer signature against the trust list,
   disclosures against the signed digests, the key binding against its own request and a
   time window, the status list, validity; the verdicts are the chip's, each refusal also
   has a typed `PresentationReason`, and the claims shown are only the disclosed ones.

The issued credentials themselves (the demo's `card.sd-jwt` and `card.mdoc`) verify too,
with a warning that no holder binding was checked (as a chip credential read from a file).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from . import base45, cose, fastpath, jws, mdoc, sdjwt, sdjwt_vc
from .errors import MalformedError
from .jwk import b64u, b64u_decode, kid_bytes, p256_cached
from .keys import ECDSA_SHA256, Signer
from .presentation_errors import PresentationError, PresentationReason
from .sentences import FilledSentence
from .statuslist import SUPERSEDED, Status
from .trustlist import KeyPurpose, KeyState, TrustedKey
from .venues import VenueProfile
from .verdict import Verdict, VerificationResult
from .verify import REFRESH_DUE, Verifier
from .wallet_claims import ITEMS, WalletClaims, check_item, entitlement_item

log = logging.getLogger(__name__)

REQUEST_PREFIX = "CCQ1:"
SDJWT_PREFIX = "CCS1:"
MDOC_PREFIX = "CCM1:"
REQUEST_WINDOW = 300
"""Seconds a venue's request may be answered in (the answer's time, and the venue's now)."""
MAX_RESPONSE = 64 * 1024
NOT_BOUND = (
    "Signature and claims genuine; the holder's key binding was not checked against a request "
    "of this reader — ask the holder to answer the venue's request QR."
)
"""The warning on a wallet credential verified without a request of this reader."""
NOT_SHARED = "The holder did not share: %(items)s."
"""The warning on an answer without some of the items its request asked for: a
`FilledSentence` whose list `items` holds their codes (a screen says them in its own words)."""
WARNINGS = (NOT_BOUND, NOT_SHARED)
"""Every warning a wallet verdict adds to the chip's, `NOT_SHARED` as its template (a
terminal's catalogues hold them)."""
_R = PresentationReason
_STRONGER_THAN_BINDING = frozenset(
    {Verdict.REVOKED, Verdict.SUSPENDED, Verdict.SUPERSEDED, Verdict.KEY_REVOKED,
     Verdict.MALFORMED, Verdict.WRONG_ISSUER}
)


@dataclass(frozen=True)
class PresentationResult(VerificationResult):
    """A verdict on a wallet credential or presentation, with its typed reason when refused."""

    reason: PresentationReason | None = None
    format: str | None = None
    missing: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.update(
            reason=None if self.reason is None else self.reason.value,
            format=self.format,
            missing=list(self.missing),
        )
        return out


def refusal(reason: PresentationReason, fmt: str | None = None) -> PresentationResult:
    """The verdict `reason` gives, with its sentence and typed reason."""
    return PresentationResult(reason.verdict, reason.sentence, reason=reason, format=fmt)


@dataclass(frozen=True)
class VenueRequest:
    """What a venue asks a wallet for, with a fresh nonce; its QR text is `to_qr()`."""

    venue: str
    nonce: str
    issued_at: int
    items: tuple[str, ...]

    @classmethod
    def new(cls, venue: str, items: tuple[str, ...], now: float | None = None) -> VenueRequest:
        for item in items:
            check_item(item)
        when = int(time.time() if now is None else now)
        return cls(venue, b64u(secrets.token_bytes(16)), when, tuple(dict.fromkeys(items)))

    def to_qr(self) -> str:
        body = {"v": 1, "aud": self.venue, "nonce": self.nonce, "iat": self.issued_at,
                "items": list(self.items)}  # fmt: skip
        return REQUEST_PREFIX + b64u(jws.json_bytes(body))

    @classmethod
    def from_qr(cls, text: object) -> VenueRequest:
        """The request in a scanned request QR; MalformedError when it is not one."""
        if not isinstance(text, str) or not text.startswith(REQUEST_PREFIX) or len(text) > 2048:
            raise MalformedError("This is not a citycard venue request (it does not start CCQ1:).")
        body = jws.loads_json(b64u_decode(text[len(REQUEST_PREFIX) :], "request"), "request")
        if not isinstance(body, dict) or set(body) != {"v", "aud", "nonce", "iat", "items"}:
            raise MalformedError("The venue request has missing or unexpected members.")
        venue, nonce, iat, items = body["aud"], body["nonce"], body["iat"], body["items"]
        if type(body["v"]) is not int or body["v"] != 1 or not isinstance(venue, str) or not 0 < len(venue) <= 64:
            raise MalformedError("The venue request names no venue.")
        if not isinstance(nonce, str) or len(b64u_decode(nonce, "nonce")) < 16:
            raise MalformedError("The venue request's nonce is shorter than 128 bits.")
        if type(iat) is not int or not 0 <= iat < 2**40 or not isinstance(items, list) or not 0 < len(items) <= 32:
            raise MalformedError("The venue request's time or items are malformed.")
        return cls(venue, nonce, iat, tuple(check_item(i) for i in items))

    def transcript(self) -> list[Any]:
        return mdoc.session_transcript(self.venue, self.nonce, self.issued_at)


def request_items(profile: VenueProfile) -> tuple[str, ...]:
    """What a venue asks a wallet for: its profile's `request` when it has one, else the items
    its profile shows and every code of each entitlement line (a card carries the code its own
    programme issues, which may be any of them; the shipped profiles' requests stay one
    phone-sized QR)."""
    if profile.request:
        return profile.request
    shown = tuple(s for s in profile.show if s in ITEMS)
    codes = (entitlement_item(c) for e in profile.entitlements for c in e.codes)
    return shown + tuple(dict.fromkeys(codes))


def venue_request(profile: VenueProfile, now: float | None = None) -> VenueRequest:
    return VenueRequest.new(profile.name, request_items(profile), now)


# -- the holder's side ----------------------------------------------------------------------


def present_sdjwt(
    issued: str, request: VenueRequest, holder: Signer, now: float | None = None
) -> str:
    """The SD-JWT presentation answering `request`: only the disclosures it asks for."""
    wanted = set(request.items)
    sd = sdjwt.SdJwt.parse(issued)
    when = int(time.time() if now is None else now)
    answer = sd.present(
        lambda d: sdjwt_vc.item_of(d) in wanted, holder, request.nonce, request.venue, when
    )
    return answer.compact()


def present_mdoc(issued: bytes, request: VenueRequest, holder: Signer) -> bytes:
    """The DeviceResponse answering `request`: only the elements it asks for."""
    wanted = set(request.items)
    return mdoc.device_response(issued, lambda item: item in wanted, holder, request.transcript())


def response_qr(presentation: str | bytes, request: VenueRequest | None = None) -> str:
    """The QR text of a presentation (an mdoc one needs its request: the QR names it)."""
    if isinstance(presentation, str):
        return SDJWT_PREFIX + base45.encode(zlib.compress(presentation.encode("ascii"), 9))
    if request is None:
        raise ValueError("An mdoc presentation's QR names the request it answers.")
    # the document-signer certificate (unprotected, so not signed) stays out of the QR: a
    # citycard reader finds the key by the kid the signature covers
    envelope = cbor2.dumps(
        [request.venue, request.nonce, request.issued_at, mdoc.without_x5chain(presentation)]
    )
    return MDOC_PREFIX + base45.encode(zlib.compress(envelope, 9))


PART_PREFIX = "CCP1:"
_PART_NUMBERS = re.compile(r"([1-9][0-9]{0,3})/([1-9][0-9]{0,3})")
"""A part's `<i>/<n>`: ASCII digits only (str.isdigit takes "²", which int() refuses), and
few of them (int() refuses more than 4300)."""
QR_CHARS = 600
"""Alphanumeric characters a version 15 QR holds at level M."""


def split_qr(text: str, chars: int = QR_CHARS) -> list[str]:
    """A response QR text too long for one small QR, as a sequence of parts the wallet shows
    one after another: `CCP1:<i>/<n>:<piece>` (all QR alphanumeric characters), each at most
    `chars` long."""
    count = 1
    while True:  # the head's length depends on how many parts there are
        room = chars - len(f"{PART_PREFIX}{count}/{count}:")
        pieces = [text[i : i + room] for i in range(0, len(text), room)] or [""]
        if len(pieces) <= count:
            break
        count = len(pieces)
    return [f"{PART_PREFIX}{i}/{len(pieces)}:{p}" for i, p in enumerate(pieces, 1)]


def join_qr(parts: list[str]) -> str:
    """The response QR text from its scanned parts, in any order, a part scanned twice taken
    once (as a camera sees it again); MalformedError when one is missing, two differ under
    one number, or a text is not a part."""
    pieces: dict[int, str] = {}
    total = None
    for part in parts:
        head, sep, piece = part[len(PART_PREFIX) :].partition(":")
        numbers = _PART_NUMBERS.fullmatch(head)
        if not (part.startswith(PART_PREFIX) and sep and numbers):
            raise MalformedError("A scanned code is not part of a citycard answer (CCP1:).")
        number, count = int(numbers[1]), int(numbers[2])
        if total not in (None, count) or pieces.get(number, piece) != piece or not number <= count:
            raise MalformedError("The scanned parts do not belong to one answer; scan them again.")
        total = count
        pieces[number] = piece
    if total is None or len(pieces) != total:
        raise MalformedError("Some parts of the answer are missing; scan every code the phone shows.")
    return "".join(pieces[i] for i in range(1, total + 1))


_LINE_ENDS = re.compile(r"\r\n|\n|\r")


def answer_lines(text: str) -> list[str]:
    """The codes of an answer pasted or typed as text, one a line, as the venue page reads
    them (presentation.js answerLines): blank lines and white space before a code go; after
    it, everything but spaces goes, and the spaces too where its text ends a whole answer (a
    `CCS1:`/`CCM1:` code, the last part): base45 has the space, but never ends with one."""
    lines = []
    for raw in _LINE_ENDS.split(text):
        line = raw.lstrip()
        body = line.rstrip()
        if len(body) < len(line):
            tail = line[len(body) :]
            part = None
            if body.startswith(PART_PREFIX):
                part = _PART_NUMBERS.match(body[len(PART_PREFIX) :])
            last_part = part is not None and part[1] == part[2]
            ends = body.startswith((SDJWT_PREFIX, MDOC_PREFIX)) or last_part
            line = body if ends else body + tail[: len(tail) - len(tail.lstrip(" "))]
        if line:
            lines.append(line)
    return lines


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_RESPONSE)
    except zlib.error as exc:
        raise MalformedError("The answer's QR is not compressed as citycard's are.") from exc
    if d.unconsumed_tail or not d.eof:
        raise MalformedError("The answer's QR is too large or truncated.")
    if d.unused_data:  # one reading per text: nothing may ride behind the compressed answer
        raise MalformedError("The answer's QR has bytes after its end.")
    return out


# -- the venue's side -----------------------------------------------------------------------


class _Parsed(NamedTuple):  # a tuple: built on every verify
    format: str
    sd_text: str | None = None  # an SD-JWT in compact form (or its QR form unwrapped)
    issuer_signed: mdoc.IssuerSigned | None = None
    response: bytes | dict[str, Any] | mdoc.FastResponse | None = None
    claimed: tuple[str, str, int] | None = None  # an mdoc QR's (aud, nonce, request time)


_WALLET_PREFIXES = (b"ey", SDJWT_PREFIX.encode(), MDOC_PREFIX.encode(), PART_PREFIX.encode())


def is_wallet_data(data: bytes) -> bool:
    """Whether `data` (a file's bytes) is a wallet credential or presentation in any of its
    forms (SD-JWT text, presentation QR text, mdoc CBOR), rather than a chip or QR credential."""
    # white space before a code's text: a paste (answer_lines drops it); copied only then
    if (data.lstrip() if data[:1].isspace() else data).startswith(_WALLET_PREFIXES):
        return True
    if data[:1] not in (b"\xa2", b"\xa3"):  # a map of two or three: IssuerSigned, DeviceResponse
        return False
    try:
        obj = mdoc.loads_whole(data, "mdoc")
    except PresentationError:
        return False
    return isinstance(obj, dict) and ("issuerAuth" in obj or "documents" in obj)


def _parse(data: str | bytes) -> _Parsed:
    if isinstance(data, bytes) and data[:1] in (b"\xa2", b"\xa3"):
        fast = mdoc.fast_response(data)
        if fast is not None:  # a DeviceResponse in the shape citycard's wallets write
            return _Parsed(mdoc.FORMAT, response=fast)
        obj = mdoc.loads_whole(data, "mdoc")
        if isinstance(obj, dict) and "issuerAuth" in obj:
            return _Parsed(mdoc.FORMAT, issuer_signed=mdoc.IssuerSigned.parse(obj))
        if isinstance(obj, dict) and "documents" in obj:
            return _Parsed(mdoc.FORMAT, response=obj)
        raise PresentationError(_R.WRONG_FORMAT)
    try:
        text = data.decode("ascii") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise PresentationError(_R.WRONG_FORMAT) from exc
    lines = answer_lines(text)  # a code a line, as pasted (base45 has spaces)
    text = join_qr(lines) if lines and lines[0].startswith(PART_PREFIX) else "\n".join(lines)
    if text.startswith(SDJWT_PREFIX):
        text = _inflate(base45.decode(text[len(SDJWT_PREFIX) :])).decode("ascii", "replace")
    elif text.startswith(MDOC_PREFIX):
        envelope = mdoc.loads_whole(_inflate(base45.decode(text[len(MDOC_PREFIX) :])), "answer")
        if not (isinstance(envelope, list) and len(envelope) == 4
                and isinstance(envelope[0], str) and isinstance(envelope[1], str)
                and type(envelope[2]) is int and isinstance(envelope[3], bytes)):  # fmt: skip
            raise PresentationError(_R.MALFORMED, "The mdoc answer's QR is not citycard's.")
        # read once here, as a DeviceResponse file is above: the lean and general paths share it
        return _Parsed(mdoc.FORMAT, response=mdoc.fast_response(envelope[3]) or envelope[3],
                       claimed=(envelope[0], envelope[1], envelope[2]))  # fmt: skip
    return _Parsed(sdjwt_vc.FORMAT, sd_text=text)


def verify_wallet(
    verifier: Verifier,
    data: str | bytes,
    request: VenueRequest | None = None,
    now: float | None = None,
) -> PresentationResult:
    """The verdict on a wallet credential or presentation, never an exception.

    With `request`, the answer must be bound to it (nonce, venue, time window) and the claims
    shown are the requested ones that were disclosed; without, the credential's signature,
    disclosures and status are checked and it carries the warning `NOT_BOUND`.
    """
    when = time.time() if now is None else now
    try:
        parsed: _Parsed | None = None
        text: str | None
        if isinstance(data, str) and data.startswith("ey"):
            text = data  # an SD-JWT as a wallet sends it: nothing to unwrap (the QR form has)
        else:
            parsed = _parse(data)
            text = parsed.sd_text
        if text is not None and fastpath.IMPLEMENTATION == "c":
            # the compiled pass when it reads the presentation and both signatures hold (its
            # Python twin is slower than what follows); anything else is read and decided below
            fast = _verify_sd_jwt_fast(verifier, text, request, when)
            if fast is not None:
                return fast
        return _verify(verifier, parsed or _parse(data), request, when)
    except PresentationError as exc:
        return refusal(exc.reason)
    except MalformedError:
        return refusal(_R.MALFORMED)
    except Exception as exc:  # last line of defence: hostile bytes must never raise
        # the type only: a traceback's values could hold what the holder disclosed
        log.warning("wallet verification failed unexpectedly (%s); reported as malformed",
                    type(exc).__name__)  # fmt: skip
        return refusal(_R.MALFORMED)


def _issuing_key(verifier: Verifier, kid: bytes) -> TrustedKey | None:
    """The trust list's key `kid` when it is one that issues credentials."""
    key = verifier.trust.by_kid.get(kid)
    return key if key is not None and key.purpose is KeyPurpose.ISSUE else None


def _issuer_key(verifier: Verifier) -> Any:
    def find(kid: bytes) -> ec.EllipticCurvePublicKey:
        key = _issuing_key(verifier, kid)
        if key is None:
            raise PresentationError(_R.UNKNOWN_KEY)
        return key.public_key

    return find


def _verify_sd_jwt_fast(
    verifier: Verifier, text: str, request: VenueRequest | None, now: float
) -> PresentationResult | None:
    """The verdict on an SD-JWT VC presentation that `fastpath.sd_presentation` reads (every
    check of `sdjwt_vc.read_vc` and `sdjwt.verify_key_binding` that needs no key) and whose
    issuer key, holder key and both signatures hold; None for anything else, which `_verify`
    then reads and decides in full."""
    read = fastpath.sd_presentation(text)
    if read is None:
        return None
    (kid_text, issuer_input, issuer_der, iss, iat, exp, idx, uri, disclosed, entitlements,
     holder_xy, kb_input, kb_der, nonce, aud, kb_iat) = read  # fmt: skip
    try:
        kid = kid_bytes(kid_text)
        holder = p256_cached(holder_xy)  # the reader checked the JWK as from_jwk does
    except MalformedError:  # a kid of another form, a point off the curve
        return None
    key = _issuing_key(verifier, kid)
    if key is None:
        return None
    try:
        key.public_key.verify(issuer_der, issuer_input, ECDSA_SHA256)
        holder.verify(kb_der, kb_input, ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return None
    claims = WalletClaims(sdjwt_vc.FORMAT, iss, iat, exp, idx, uri, kid, disclosed, entitlements)
    binding = None
    if request is not None:
        binding = _binding_problem(nonce, aud, kb_iat, request, now, verifier.policy.clock_skew)
    return _conclude(verifier, claims, binding, request is not None, request, now)


def _verify_mdoc_fast(
    verifier: Verifier,
    fast: mdoc.FastResponse,
    claimed: tuple[str, str, int] | None,
    request: VenueRequest,
    now: float,
) -> PresentationResult | None:
    """The verdict on an mdoc DeviceResponse answering `request` in the one shape citycard's
    wallets write (`mdoc.fast_response`), signed by a trusted issuing key named in citycard's
    protected header without a certificate beside it, bound to `request` without a problem,
    whose elements, issuer signature and device signature all hold; None for anything else,
    which `_verify` then reads and decides in full (as `_verify_sd_jwt_fast` for SD-JWT)."""
    (protected, unprotected, payload, signature), elements, device_signature = fast
    kid = mdoc.signed_kid(protected)
    if kid is None or unprotected:  # a certificate beside the signature: the general path compares it
        return None
    key = _issuing_key(verifier, kid)
    if key is None:
        return None
    aud, nonce, iat = claimed or (request.venue, request.nonce, request.issued_at)
    if _binding_problem(nonce, aud, iat, request, now, verifier.policy.clock_skew) is not None:
        return None
    issuer_der, device_der = fastpath.der_signature(signature), fastpath.der_signature(device_signature)
    if issuer_der is None or device_der is None:
        return None
    try:
        key.public_key.verify(issuer_der, cose.sig_structure(protected, payload), ECDSA_SHA256)
        digests, holder, issued, expires, idx, uri = mdoc.read_signed_mso(payload)
        disclosed, entitlements = mdoc.read_elements(digests, elements)
        holder.verify(device_der, mdoc.device_signed(request.transcript()), ECDSA_SHA256)
    except (InvalidSignature, ValueError, PresentationError, MalformedError):
        return None
    claims = WalletClaims(mdoc.FORMAT, "", issued, expires, idx, uri, kid, disclosed, entitlements)
    return _conclude(verifier, claims, None, True, request, now)


def _verify(
    verifier: Verifier, p: _Parsed, request: VenueRequest | None, now: float
) -> PresentationResult:
    find = _issuer_key(verifier)
    binding: PresentationReason | None = None
    bound = False
    if p.sd_text is not None:
        sd = sdjwt.SdJwt.parse(p.sd_text)
        claims, holder_jwk = sdjwt_vc.read_vc(sd, find)
        if sd.kb_jwt is not None or request is not None:
            try:
                kb = sdjwt.verify_key_binding(sd, holder_jwk)
                bound = request is not None
                if request is not None:
                    binding = _binding_problem(kb.nonce, kb.audience, kb.issued_at, request, now,
                                               verifier.policy.clock_skew)  # fmt: skip
            except PresentationError as exc:
                if exc.reason.verdict is not Verdict.CLONE_SUSPECTED:
                    raise
                binding = exc.reason
    elif p.issuer_signed is not None:
        claims, _device_key = mdoc.read_issuer_signed(p.issuer_signed, find)
        if request is not None:
            binding = _R.NO_KEY_BINDING
    else:
        assert p.response is not None
        if request is not None and isinstance(p.response, tuple):
            lean = _verify_mdoc_fast(verifier, p.response, p.claimed, request, now)
            if lean is not None:
                return lean
        claims, bound_to = mdoc.read_device_response(p.response, find)
        if request is not None:
            aud, nonce, iat = p.claimed or (request.venue, request.nonce, request.issued_at)
            binding = _binding_problem(nonce, aud, iat, request, now, verifier.policy.clock_skew)
            if binding is None and not bound_to(request.transcript()):
                binding = _R.BAD_KEY_BINDING
            bound = True
    return _conclude(verifier, claims, binding, bound, request, now)


def _conclude(
    verifier: Verifier,
    claims: WalletClaims,
    binding: PresentationReason | None,
    bound: bool,
    request: VenueRequest | None,
    now: float,
) -> PresentationResult:
    """The verdict on verified claims: the status checks, then the binding's problem, then
    what was asked for against what was disclosed."""
    # an mdoc names no issuer: it is the trust list's whose key signed it
    issuer = claims.issuer or verifier.trust.issuer
    base, base_warnings = _status_verdict(verifier, claims, issuer, now)
    if base is not Verdict.VALID and (base in _STRONGER_THAN_BINDING or binding is None):
        return PresentationResult(base, base.sentence, None, base_warnings, format=claims.format)
    if binding is not None:
        return refusal(binding, claims.format)
    items = claims.items()  # once: it builds a set
    missing: tuple[str, ...] = ()
    if request is None:
        shown = claims.display(None)
    else:
        asked = request.items
        if not items.issubset(asked):
            # citycard's wallet sends exactly what was asked: more is someone else's doing (an
            # mdoc's device signature does not cover which issuer-signed elements ride along)
            return refusal(_R.UNREQUESTED_DISCLOSURE, claims.format)
        shown = claims.display(asked)
        if len(items) != len(asked):  # equal: everything asked for was shared
            missing = tuple(i for i in asked if i not in items)
    warnings = base_warnings
    if missing or not bound:  # the common answer, bound and complete, builds no list
        more = list(base_warnings)
        if missing:
            more.append(FilledSentence(NOT_SHARED, lists={"items": missing}))
        if not bound:
            more.insert(0, NOT_BOUND)
        warnings = tuple(more)
    return PresentationResult(
        Verdict.VALID, _VALID_SENTENCE, shown, warnings, format=claims.format, missing=missing
    )


_VALID_SENTENCE = Verdict.VALID.sentence


def _binding_problem(
    nonce: str, audience: str, issued_at: int, request: VenueRequest, now: float, skew: int
) -> PresentationReason | None:
    if nonce != request.nonce:
        return _R.WRONG_NONCE
    if audience != request.venue:
        return _R.WRONG_AUDIENCE
    if not (request.issued_at - skew <= issued_at <= now + skew) or now - request.issued_at > REQUEST_WINDOW:
        return _R.OUTSIDE_TIME_WINDOW
    return None


def _status_verdict(
    verifier: Verifier, c: WalletClaims, issuer: str, now: float
) -> tuple[Verdict, tuple[str, ...]]:
    """The chip's checks after the signature, in the chip's order (cardio.verify): the verdict
    and its warnings (the caller builds one result, not two, for a valid answer)."""
    key = verifier.trust.by_kid[c.kid]
    if key.state is KeyState.REVOKED:
        return Verdict.KEY_REVOKED, ()
    if issuer != verifier.trust.issuer:
        return Verdict.WRONG_ISSUER, ()
    if not key.covers(c.issued_at):
        return Verdict.KEY_EXPIRED, ()
    token = verifier.status_token(c.status_uri)
    status: int | None = None
    if token is not None and c.status_index < token.status_list.size:
        status = token.status_list.get(c.status_index)
    if status == Status.SUSPENDED:
        return Verdict.SUSPENDED, ()
    if status == SUPERSEDED:
        return Verdict.SUPERSEDED, ()
    if status is not None and status != Status.VALID:
        return Verdict.REVOKED, ()
    policy = verifier.policy
    if c.issued_at > now + policy.clock_skew:
        return Verdict.NOT_YET_VALID, ()
    if now >= c.expires_at + policy.expiry_grace:  # the printed last day, anywhere
        return Verdict.EXPIRED, ()
    if token is None or status is None:
        return Verdict.STATUS_UNAVAILABLE, ()
    if now - token.iat > policy.max_status_age or (token.exp is not None and now > token.exp):
        return Verdict.STALE_STATUS, ()
    if token.ttl is not None and now > token.iat + token.ttl:
        return Verdict.VALID, (REFRESH_DUE,)
    return Verdict.VALID, ()


def wallet_verdict(
    verifier: Verifier,
    data: str | bytes,
    request_qr: str | VenueRequest | None = None,
    now: float | None = None,
) -> PresentationResult | None:
    """The verdict on `data` when it is a wallet credential or presentation (a file's bytes or
    a scanned QR's text), checked against the venue request `request_qr` (its QR text, or the
    request read from it) when given; None for anything else (a chip or print credential: the
    caller's). MalformedError for a request QR that is not one."""
    request = VenueRequest.from_qr(request_qr) if isinstance(request_qr, str) else request_qr
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if not is_wallet_data(raw):
        if request is not None:
            return refusal(_R.WRONG_FORMAT)
        return None
    return verify_wallet(verifier, data, request, now)
