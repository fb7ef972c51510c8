"""Offline verification: any byte string in, a typed verdict out, never an exception.

A `Verifier` holds one trust list (already checked against the pinned root) and the status
lists it accepted under that trust list's status keys. `verify` follows a fixed order so the
same input always gets the same verdict: structure, key, signature, key state, claims, issuer,
key window, revocation, time, freshness.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature

from . import cose, fastpath
from .chip_auth import AUTH_DOMAIN, CHALLENGE_LENGTH
from .credential import Credential, Variant, display, from_qr, status_list_id
from .errors import MalformedError, StatusListError
from .fastpath import Claims
from .keys import ECDSA_SHA256, p256_from_xy, verify_es256
from .statuslist import SUPERSEDED, FutureStatusListError, Status, StatusListToken, parse_token
from .trustlist import KeyPurpose, KeyState, TrustList
from .verdict import Verdict, VerificationResult, result

log = logging.getLogger(__name__)


EXPIRY_GRACE = 12 * 3600
"""Seconds after `exp` before a card is EXPIRED. `exp` is 00:00 UTC after the printed last day
D, and D ends last at UTC-12, 12 h later: a card printed "valid until D" is valid through the
whole of D wherever it is read, "anywhere on earth" (docs/credential.md sections 2.1, 4.4)."""


@dataclass(frozen=True)
class Policy:
    clock_skew: int = 300  # seconds a reader's clock may be behind the kiosk's
    max_status_age: int = 7 * 86400  # a status list older than this is not trusted at all
    expiry_grace: int = EXPIRY_GRACE  # EXPIRED from exp + this


CHIP_NOT_CHECKED = (
    "Signature and claims genuine; the chip binding was not checked — read the card itself to "
    "check it."
)
"""The warning on a chip credential verified without its chip (`Verifier.verify_without_chip`)."""

REFRESH_DUE = "The revocation list is due for a refresh; connect the reader soon."
"""The warning on a verdict whose status list is past its ttl but not yet too old to trust."""

COMPARE_PRINTED_CARD = (
    "This chip carries no name or photo: compare the name and photo printed on the card with "
    "the holder."
)
"""The warning on every VALID compact credential (a 256-byte chip holds neither)."""

# Verdicts that say more than "this chip is a copy" and so are reported instead of it.
_STRONGER_THAN_CLONE = frozenset(
    {
        Verdict.REVOKED,
        Verdict.SUSPENDED,
        Verdict.SUPERSEDED,
        Verdict.KEY_REVOKED,
        Verdict.MALFORMED,
        Verdict.WRONG_ISSUER,
    }
)


def _binding_holds(
    claims: Claims, uid: bytes, authenticate: Callable[[bytes], bytes] | None
) -> bool:
    if claims.variant == Variant.PRINT:
        return False  # a print credential (from the QR) written onto a chip
    if claims.chip_uid is not None:
        return hmac.compare_digest(claims.chip_uid, uid)
    if claims.chip_key is None or authenticate is None:
        return False
    challenge = os.urandom(CHALLENGE_LENGTH)
    signature = authenticate(challenge)
    return verify_es256(p256_from_xy(*claims.chip_key), signature, AUTH_DOMAIN + challenge)


def _status_uris_by_list_id(uris: tuple[str, ...]) -> dict[str, str]:
    """The trust list's status list URIs by their last path segment, the list id a compact
    credential carries; an id two URIs share names neither (docs/credential.md section 4.1)."""
    by_id: dict[str, str] = {}
    shared: set[str] = set()
    for uri in uris:
        list_id = status_list_id(uri)
        if list_id in by_id:
            shared.add(list_id)
        by_id[list_id] = uri
    return {k: v for k, v in by_id.items() if k not in shared}


class Verifier:
    def __init__(self, trust_list: TrustList, policy: Policy | None = None) -> None:
        self.trust = trust_list
        self.policy = policy or Policy()
        self._status: dict[str, StatusListToken] = {}
        self._compact_status_uris = _status_uris_by_list_id(trust_list.status_lists)

    @property
    def status_lists(self) -> dict[str, StatusListToken]:
        return dict(self._status)

    def status_token(self, uri: str) -> StatusListToken | None:
        """The status list token held for `uri` (a lookup: `status_lists` copies them all)."""
        return self._status.get(uri)

    def add_status_list(self, data: bytes, now: float | None = None) -> StatusListToken:
        """Accept a status list token signed by one of the trust list's status keys.

        StatusListError when it is malformed, signed by anyone else, not listed in the trust
        list, or older than the one already held for the same URI; FutureStatusListError when
        its `iat` is more than the clock skew ahead of `now`. A held token that is itself that
        far ahead (accepted while the clock ran fast) never blocks a newer one: it is replaced.
        """
        now = time.time() if now is None else now
        token = parse_token(data)
        key = self.trust.by_kid.get(token.kid)
        if key is None or key.purpose is not KeyPurpose.STATUS or key.state is KeyState.REVOKED:
            raise StatusListError(
                "The status list is not signed by one of the city's status keys; it was refused. "
                "Refresh the trust list, then the status list."
            )
        if not token.sign1.verify(key.public_key):
            raise StatusListError("The status list's signature is not genuine; it was refused.")
        if not key.covers(token.iat):
            raise StatusListError(
                "The status list was signed outside its key's validity; it was refused."
            )
        if token.uri not in self.trust.status_lists:
            raise StatusListError(
                f"The trust list does not name the status list {token.uri}; it was refused."
            )
        skew = self.policy.clock_skew
        if token.iat > now + skew:
            raise FutureStatusListError(
                f"The status list is dated {int(token.iat - now)} s in the future, more than "
                f"the {skew} s this reader's clock may be behind; it was refused. Check the "
                "reader's clock."
            )
        held = self._status.get(token.uri)
        if held is not None and token.iat < held.iat and held.iat <= now + skew:
            raise StatusListError(
                "The status list offered is older than the one held; it was refused."
            )
        self._status[token.uri] = token
        return token

    def verify_qr(self, text: str, now: float | None = None) -> VerificationResult:
        try:
            data = from_qr(text)
        except MalformedError:
            return result(Verdict.MALFORMED)
        return self.verify(data, now, variant=Variant.PRINT)

    def verify(
        self, data: bytes, now: float | None = None, *, variant: Variant | None = None
    ) -> VerificationResult:
        try:
            return self._check(data, time.time() if now is None else now, variant)[0]
        except Exception:  # last line of defence: hostile bytes must never raise
            log.exception("verification failed unexpectedly; reported as malformed")
            return result(Verdict.MALFORMED)

    def verify_without_chip(self, data: bytes, now: float | None = None) -> VerificationResult:
        """Credential bytes given without the chip they were read from (a file, a venue system).

        A print credential is verified as from its QR code. A chip credential gets the verdict
        of its signature and claims, with the warning `CHIP_NOT_CHECKED` first: its binding to
        a chip (UID or key) can only be checked by reading that chip (`check_chip`).
        """
        try:
            res, claims = self._check(data, time.time() if now is None else now, None)
        except Exception:  # last line of defence: hostile bytes must never raise
            log.exception("verification failed unexpectedly; reported as malformed")
            return result(Verdict.MALFORMED)
        if claims is None or claims.variant == Variant.PRINT:
            return res
        return replace(res, warnings=(CHIP_NOT_CHECKED, *res.warnings))

    def check(
        self, data: bytes, now: float | None = None, *, variant: Variant | None = None
    ) -> tuple[VerificationResult, Credential | None]:
        """The verdict and, when the signature held, the decoded credential (for chip checks).

        A compact credential makes no Credential (it does not carry the holder's name): None
        with its verdict.
        """
        try:
            res, claims = self._check(data, time.time() if now is None else now, variant)
            return res, _credential(claims)
        except Exception:  # last line of defence: hostile bytes must never raise
            log.exception("verification failed unexpectedly; reported as malformed")
            return result(Verdict.MALFORMED), None

    def check_chip(
        self,
        data: bytes,
        uid: bytes,
        authenticate: Callable[[bytes], bytes] | None = None,
        now: float | None = None,
    ) -> tuple[VerificationResult, Credential | None]:
        """Verify a credential read from a chip, including its binding to that chip.

        `uid` is the UID the reader reported; `authenticate` sends a challenge to the chip's
        own key (t4t-auth) and returns its raw signature. A credential bound to another UID,
        a chip that fails the challenge, or a print credential copied onto a chip is
        CLONE_SUSPECTED. Revocation and key withdrawal still take precedence. The credential
        returned is None for a compact credential (see `check`).
        """
        try:
            res, claims = self._check(data, time.time() if now is None else now, None)
            cred = _credential(claims)
        except Exception:  # last line of defence: hostile bytes must never raise
            log.exception("verification failed unexpectedly; reported as malformed")
            return result(Verdict.MALFORMED), None
        if claims is None or res.verdict in _STRONGER_THAN_CLONE:
            return res, cred
        try:
            genuine = _binding_holds(claims, uid, authenticate)
        except Exception:  # a chip that misbehaves during the challenge is not genuine
            log.info("chip authentication failed with an error; treated as a clone")
            genuine = False
        if not genuine:
            return result(Verdict.CLONE_SUSPECTED), cred
        return res, cred

    def _check(
        self, data: bytes, now: float, variant: Variant | None
    ) -> tuple[VerificationResult, Claims | None]:
        # The hot path of every reader: kept flat, and the parsing is compiled (see
        # cardio/_fastpath.c for why), so a verify costs little more than its ES256 check.
        try:
            kid, tbs, signature, payload = cose.prepare_sign1(data, "card data")
        except MalformedError:
            return result(Verdict.MALFORMED), None
        key = self.trust.by_kid.get(kid)
        if key is None or key.purpose is not KeyPurpose.ISSUE:
            return result(Verdict.UNKNOWN_KEY), None
        try:
            key.public_key.verify(signature, tbs, ECDSA_SHA256)
        except (InvalidSignature, ValueError):
            return result(Verdict.BAD_SIGNATURE), None
        if key.state is KeyState.REVOKED:
            return result(Verdict.KEY_REVOKED), None
        try:
            c = fastpath.claims(payload)
            if c.chip_key is not None:
                p256_from_xy(*c.chip_key)  # a chip key off the curve is malformed, not VALID
        except (ValueError, MalformedError):
            return result(Verdict.MALFORMED), None
        if variant is not None and c.variant != variant:
            return result(Verdict.MALFORMED), c
        if c.issuer != self.trust.issuer:
            return result(Verdict.WRONG_ISSUER), c
        if not key.covers(c.issued_at):
            return result(Verdict.KEY_EXPIRED), c

        warnings: list[str] = []
        if c.variant == Variant.COMPACT:
            # it names its list by id: the trust list's URI with that last path segment
            token = self._status.get(self._compact_status_uris.get(c.status_uri, ""))
            warnings.append(COMPARE_PRINTED_CARD)
        else:
            token = self._status.get(c.status_uri)
        status: int | None = None
        if token is not None and c.status_index < token.status_list.size:
            status = token.status_list.get(c.status_index)
        if status == Status.SUSPENDED:
            return result(Verdict.SUSPENDED), c
        if status == SUPERSEDED:
            return result(Verdict.SUPERSEDED), c
        if status is not None and status != Status.VALID:
            return result(Verdict.REVOKED), c
        if c.issued_at > now + self.policy.clock_skew:
            return result(Verdict.NOT_YET_VALID), c
        if now >= c.expires_at + self.policy.expiry_grace:
            return result(Verdict.EXPIRED), c
        if token is None or status is None:
            return result(Verdict.STATUS_UNAVAILABLE), c
        if now - token.iat > self.policy.max_status_age or (
            token.exp is not None and now > token.exp
        ):
            return result(Verdict.STALE_STATUS), c
        if token.ttl is not None and now > token.iat + token.ttl:
            warnings.append(REFRESH_DUE)
        return (
            VerificationResult(Verdict.VALID, Verdict.VALID.sentence, display(c), tuple(warnings)),
            c,
        )


def _credential(claims: Claims | None) -> Credential | None:
    if claims is None or claims.variant == Variant.COMPACT:
        return None
    return Credential.from_fields(claims)
