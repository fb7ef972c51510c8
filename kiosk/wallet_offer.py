"""The kiosk's wallet offer: the new card, sealed for the resident's phone, and its two QR codes.

At the last step the kiosk still holds the card's credential in memory. `make_offer` makes the
SD-JWT VC and the mdoc for a holder key it draws for this card, seals them in a package
(cardio.wallet_package) under a key K of its own, uploads only the ciphertext and the proof the
wallet page must show to take it (a one-way function of K) to the issuer (`POST
/wallet/pickups`, signed with the kiosk's API key) and returns what the done page shows:

- `wallet_url`: our wallet page, P and K in the URL fragment;
- `offer_uri`: the OpenID4VCI credential offer for a standard wallet, with `tx_code`, the six
  digits shown beside it (never inside the QR).

Nothing here is written to disk: the offer lives as long as the done page's session
(docs/wallet.md). `write_offer_file` is for `citycard-kiosk demo --api` only.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cardio import cose
from cardio.credential import ChipBinding, Credential, Holder
from cardio.errors import CitycardError
from cardio.jwk import b64u, private_jwk
from cardio.keys import Signer, SoftwareSigner
from cardio.kiosk_auth import KioskCredential
from cardio.mdoc import issue_mdoc
from cardio.sdjwt_vc import issue_vc
from cardio.wallet_package import (
    PACKAGE_VERSION,
    OfferSecrets,
    credential_offer_uri,
    seal,
)

from .allocator import (
    Allocation,
    ChipRoomCheck,
    CredentialSigner,
    KioskKeySigner,
    SignedCard,
)
from .http_allocator import NoRedirect

if TYPE_CHECKING:
    from cardio.chip import CardProfile

    from .job import Station

log = logging.getLogger(__name__)

PICKUPS_PATH = "/wallet/pickups"
OFFER_FILE = "offer.txt"


class WalletOfferError(CitycardError):
    """The offer could not be left with the issuer; the card itself is fine."""


MAX_ANSWER = 16 * 1024  # the issuer's answer to an upload: a small JSON object


# A redirect is not followed, as the registry client follows none: the kiosk's signature
# covers the path, and an offer left anywhere but the issuer would never reach a phone.
_OPENER = urllib.request.build_opener(NoRedirect())


def _read_answer(res: http.client.HTTPResponse, deadline: float) -> bytes:
    """The answer's body, read in pieces so that an issuer sending it a byte at a time cannot
    hold the card's last step past `deadline` (each socket read has only its own timeout)."""
    body = b""
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the issuer's answer did not come in time")
        piece = res.read1(4096)
        if not piece:
            return body
        body += piece
        if len(body) > MAX_ANSWER:
            raise ValueError("the issuer's answer is far larger than an answer to an offer")


@dataclass(frozen=True)
class WalletOffer:
    """What the done page shows. Secrets: keep it in memory only."""

    wallet_url: str
    offer_uri: str
    tx_code: str
    expires_at: int
    issuer_url: str = ""  # the issuer's public address, where phones and wallets go


def make_package(
    signer: Signer,
    card_cose: bytes,
    *,
    programme: str,
    language: str,
    chain: list[bytes] | None = None,
) -> dict[str, Any]:
    """The package (docs/wallet.md) of the card whose credential is `card_cose`, signed by
    the kiosk key `signer`, bound to a holder key drawn here."""
    credential = Credential.from_payload(cose.parse_sign1(card_cose).payload)
    holder = SoftwareSigner.generate()
    return {
        "v": PACKAGE_VERSION,
        "sd_jwt": issue_vc(signer, credential, holder.public_key, x5c=chain).compact(),
        "mdoc": b64u(issue_mdoc(signer, credential, holder.public_key, x5chain=chain)),
        "holder_key": private_jwk(holder),
        "credential": b64u(card_cose),
        "display": {
            "programme": programme,
            "issuer": credential.issuer,
            "valid_from": credential.issued_at,
            "valid_until": credential.expires_at,
            "language": language,
        },
    }


def upload(
    api_url: str,
    kiosk: KioskCredential,
    pickup_id: str,
    ciphertext: bytes,
    timeout: float = 10,
    proof: str | None = None,
) -> tuple[int, str]:
    """POST the ciphertext to the issuer as this kiosk: the pickup's expiry time and the
    issuer's public base URL (the kiosk may reach the issuer by another address than phones)."""
    base = api_url.rstrip("/")
    path = urlsplit(base).path + PICKUPS_PATH
    fields = {"pickup_id": pickup_id, "ciphertext": b64u(ciphertext)}
    if proof is not None:
        fields["proof"] = proof
    body = json.dumps(fields).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers.update(kiosk.headers("POST", path, body))
    req = urllib.request.Request(base + PICKUPS_PATH, data=body, headers=headers, method="POST")
    deadline = time.monotonic() + 2 * timeout  # the whole exchange, however the bytes come
    try:
        with _OPENER.open(req, timeout=timeout) as res:
            raw = _read_answer(res, deadline)
    except urllib.error.HTTPError as exc:  # a redirect too: not followed
        message = _message(exc)
        raise WalletOfferError(
            f"The issuer refused the phone offer (HTTP {exc.code}): {message} "
            "The card is made; the resident can ask at the office for the phone card."
        ) from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        # http.client's own errors (a broken status line, an answer cut short) are neither
        # URLError nor OSError; left out, one escaped the card job as "the card was not made"
        raise WalletOfferError(
            f"The issuer at {base} cannot be reached for the phone offer "
            f"({exc or type(exc).__name__}); the card is made, only the phone offer is missing."
        ) from exc
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    expires = answer.get("expires_at") if isinstance(answer, dict) else None
    public = answer.get("issuer_url") if isinstance(answer, dict) else None
    if (
        not isinstance(expires, int)
        or not isinstance(public, str)
        or urlsplit(public).scheme not in ("http", "https")
        or not urlsplit(public).netloc
    ):
        raise WalletOfferError(
            f"The issuer at {base} answered the phone offer with something it never sends; the "
            "card is made, only the phone offer is missing. Check --api (or the kiosk's "
            "registry address): it must be the city's issuer itself."
        )
    return expires, public.rstrip("/")


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read(16 * 1024))
        return str(data["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return "no reason given."
    finally:
        exc.close()


def make_offer(
    api_url: str,
    kiosk: KioskCredential,
    signer: Signer,
    card_cose: bytes,
    *,
    programme: str,
    language: str,
    chain: list[bytes] | None = None,
    timeout: float = 10,
) -> WalletOffer:
    """Seal the card for the phone, leave the ciphertext with the issuer, return the offer."""
    secrets = OfferSecrets.draw()
    package = make_package(signer, card_cose, programme=programme, language=language, chain=chain)
    ciphertext = seal(package, secrets.key())
    del package
    expires, public = upload(
        api_url, kiosk, secrets.pickup_id, ciphertext, timeout, secrets.pickup_proof()
    )
    return WalletOffer(
        wallet_url=secrets.wallet_url(public),
        offer_uri=credential_offer_uri(public, secrets),
        tx_code=secrets.tx_code,
        expires_at=expires,
        issuer_url=public,
    )


def qr_svg(text: str) -> str:
    """An inline SVG QR code of `text` (level M), for the done page."""
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    svg = out.getvalue().decode("utf-8")
    return svg[svg.index("<svg") :]  # inline: no XML declaration


def write_offer_file(wallet_dir: Path, offer: WalletOffer) -> Path:
    """`offer.txt` for the demo: the offer URI, then the transaction code (mode 0600)."""
    wallet_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = wallet_dir / OFFER_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"{offer.offer_uri}\n{offer.tx_code}\n")
    return path


def card_cose(out_dir: Path, print_cose: bytes) -> bytes:
    """The demo card's credential for the wallet: the chip's when it holds every claim (the
    photo too), else the printed QR's (as kiosk.wallet_files chooses)."""
    from cardio.credential import Variant
    from cardio.type4 import credential_from_ndef

    ndef = out_dir / "chip.ndef"
    if ndef.is_file():
        try:
            chip = credential_from_ndef(ndef.read_bytes())
            if Credential.from_payload(cose.parse_sign1(chip).payload).variant is Variant.CHIP:
                return chip
        except CitycardError:
            pass  # a compact chip (no names): the print credential has them
    return print_cose


def demo_offer(
    out_dir: Path,
    api_url: str,
    kiosk: KioskCredential,
    signer: Signer,
    print_cose: bytes,
    *,
    programme: str,
    language: str,
) -> tuple[Path, str]:
    """`citycard-kiosk demo --api`: leave the offer with the issuer and write
    OUT_DIR/wallet/offer.txt (the offer URI, then the transaction code). Returns the file and
    the issuer's public address the offer names."""
    from cardio.published import load_root_key
    from cardio.wallet_trust import document_signer_chain

    trust = out_dir / "trust"
    try:
        chain = document_signer_chain(trust, signer.public_key, load_root_key(trust))
    except CitycardError:
        chain = []
    offer = make_offer(
        api_url,
        kiosk,
        signer,
        card_cose(out_dir, print_cose),
        programme=programme,
        language=language,
        chain=chain,
    )
    return write_offer_file(out_dir / "wallet", offer), offer.issuer_url


# -- the web kiosk: offers kept in memory per request, until the resident leaves -------------


class OfferingSigner:
    """The station's signer, keeping the last card's credentials in memory until the card job
    adapter takes them for the phone offer (or the next card replaces them)."""

    def __init__(self, inner: CredentialSigner) -> None:
        self.inner = inner
        self._last: SignedCard | None = None
        self._lock = threading.Lock()

    def sign(
        self,
        allocation: Allocation,
        holder: Holder,
        binding: ChipBinding | None,
        issued_at: int,
        expires_at: int,
    ) -> SignedCard:
        signed = self.inner.sign(allocation, holder, binding, issued_at, expires_at)
        with self._lock:
            self._last = signed
        return signed

    def room_problem(
        self, program: str, entitlements: tuple[str, ...], profile: CardProfile
    ) -> str | None:
        if isinstance(self.inner, ChipRoomCheck):
            return self.inner.room_problem(program, entitlements, profile)
        return None

    def take(self) -> SignedCard | None:
        with self._lock:
            signed, self._last = self._last, None
        return signed


def wallet_cose(signed: SignedCard) -> bytes:
    """The credential the wallet gets: the chip's when it holds every claim, else the print."""
    from cardio.credential import Variant

    if signed.chip_cose is not None:
        try:
            chip = Credential.from_payload(cose.parse_sign1(signed.chip_cose).payload)
            if chip.variant is Variant.CHIP:
                return signed.chip_cose
        except CitycardError:
            pass  # a compact chip credential: the print one has the names
    return signed.print_cose


class PhoneOffers:
    """The web kiosk's phone offers, by request id, in memory only.

    Active when the station gets its numbers from the city's issuer API (the offer goes to the
    same server); a development kiosk on an in-process issuer makes no offer. A failed upload
    never fails the card: the done page then shows no phone QR."""

    def __init__(self, station: Station) -> None:
        from .http_allocator import HttpAllocator

        self._offers: dict[str, WalletOffer] = {}
        self._pending: set[str] = set()  # request ids whose offer is being left with the issuer
        self._lock = threading.Lock()
        allocator, signer = station.allocator, station.signer
        self.api: HttpAllocator | None = None
        self.signer: OfferingSigner | None = None
        if isinstance(allocator, HttpAllocator) and isinstance(signer, KioskKeySigner):
            self.api = allocator
            self.signer = OfferingSigner(signer)
            self._key = signer.signer
            station.signer = self.signer

    def made(self, request_id: str, programme: str, language: str) -> WalletOffer | None:
        """After a card was made: seal it for the phone and keep the offer for the done page."""
        if self.api is None or self.signer is None:
            return None
        signed = self.signer.take()
        if signed is None:  # a repeated request: the card was made before, nothing signed now
            return self.get(request_id)
        with self._lock:
            self._pending.add(request_id)
        try:
            offer = make_offer(
                self.api.base_url,
                self.api.credential,
                self._key,
                wallet_cose(signed),
                programme=programme,
                language=language,
                timeout=self.api.timeout,
            )
        except Exception as exc:  # whatever it is, the card is made: no offer, never a failure
            log.warning("no phone offer for this card: %s", type(exc).__name__)
            with self._lock:
                self._pending.discard(request_id)
            return None
        finally:
            del signed
        with self._lock:
            if request_id not in self._pending:  # the resident left while it was uploaded
                return None
            self._pending.discard(request_id)
            self._offers[request_id] = offer
        return offer

    def get(self, request_id: str) -> WalletOffer | None:
        with self._lock:
            return self._offers.get(request_id)

    def drop(self, request_id: str) -> None:
        """Forget the resident's offer, one still being uploaded, and a card signed for a job
        that failed after signing (its credential holds the resident's name)."""
        with self._lock:
            self._offers.pop(request_id, None)
            self._pending.discard(request_id)
        if self.signer is not None:
            self.signer.take()


def offer_of(job: object, request_id: str) -> WalletOffer | None:
    """The phone offer a card job port keeps for `request_id` (None: none, or a port without
    offers, such as a test's stand-in)."""
    offers = getattr(job, "offers", None)
    return offers.get(request_id) if isinstance(offers, PhoneOffers) else None


def done_page_view(job: object, request_id: str) -> dict[str, Any] | None:
    """What the done page shows of the phone offer: both QR codes (inline SVG) and the
    transaction code; None without an offer."""
    from markupsafe import Markup

    offer = offer_of(job, request_id)
    if offer is None:
        return None
    return {
        "page_qr": Markup(qr_svg(offer.wallet_url)),
        "offer_qr": Markup(qr_svg(offer.offer_uri)),
        "tx_code": offer.tx_code,
    }
