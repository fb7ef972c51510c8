"""Benchmark: verifying a wallet presentation against raw ES256 verifies of as many signatures.

An SD-JWT VC presentation and an mdoc DeviceResponse, each answering a pool request (photo and
pool entitlement), are verified offline by `cardio.presentation.verify_wallet` (parsing,
issuer signature, digests, key binding to the request, status list). Each holds two ES256
signatures (issuer and holder), so each is measured against two raw `cryptography` verifies,
interleaved in rounds so that frequency scaling and noise hit them alike. Two cases: the same
answer verified again and again (every cache keyed by exact bytes hits: the holder's key, an
mdoc's MSO; an SD-JWT goes through its one compiled pass each time), and, per format, 1100
distinct cards with their own holder keys, each answering its own request, in turn (more than
any cache holds: each card is read as if seen for the first time, as at a venue's door). Ends
with `ratio: X.XX` = the lower of the two formats' first-seen rates / the raw rate of the same
signatures (target >= 0.70).

Also reports the pool answer's size as QR text: bytes, the QR version at level M when it is
one code, and how many version 15 codes it takes as parts (`cardio.presentation.split_qr`),
with the photo and without it.

    .venv/bin/python bench/presentation.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbor2
import qrcode
from cryptography.hazmat.primitives.asymmetric import ec

from api.issuer.service import Issuer
from cardio import cose, jws, mdoc, sdjwt
from cardio.credential import ChipBinding, Credential, Holder
from cardio.keys import ECDSA_SHA256, Signer, SoftwareSigner, der_from_raw
from cardio.presentation import (
    VenueRequest,
    present_mdoc,
    present_sdjwt,
    response_qr,
    split_qr,
    verify_wallet,
)
from cardio.published import load_verifier
from cardio.sdjwt_vc import issue_vc
from cardio.verdict import Verdict


def _photo() -> bytes:
    from tests.conftest import synthetic_photo

    return synthetic_photo(3072)


def qr_version(text: str) -> str:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    try:
        qr.make(fit=True)
    except ValueError:
        return "> 40"
    return str(qr.version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="total measuring time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer.init(Path(tmp) / "issuer")
        typical = Holder("demo", "Müller", "Anna", date(1985, 6, 15), "F", ("library", "pool"),
                         ("de",), _photo())  # fmt: skip
        kiosk = issuer.keystore.signer("kiosk-1")
        # one card shown again and again (the caches keyed by exact bytes all hit), then
        # FIRST_SEEN distinct cards with their own holder keys for each format (two decks: a
        # card's two answers share its holder key), each answering its own request, shown in
        # turn: more than any cache holds, so each verify reads its card afresh
        cards = [_card(issuer, kiosk, typical, i) for i in range(1 + 2 * FIRST_SEEN)]
        issuer.publish()
        verifier, problems = load_verifier(Path(tmp) / "issuer")
        assert not problems, problems
        for card in cards[:2] + cards[-1:]:
            for answer in (card.sd_answer, card.mdoc_answer):
                assert verify_wallet(verifier, answer, card.request).verdict is Verdict.VALID
        same, sd_deck, mdoc_deck = cards[0], cards[1 : 1 + FIRST_SEEN], cards[1 + FIRST_SEEN :]
        cred, card_sd, card_mdoc, device = same.cred, same.card_sd, same.card_mdoc, same.device
        request, sd_answer, mdoc_answer = same.request, same.sd_answer, same.mdoc_answer

        def raw(sigs: list[tuple[ec.EllipticCurvePublicKey, bytes, bytes]]) -> Callable[[], None]:
            def run() -> None:
                for k, sig, data in sigs:
                    k.verify(sig, data, ECDSA_SHA256)

            return run

        def in_turn(kind: str, deck: list[_Card]) -> Callable[[], None]:
            turn = [0]

            def run() -> None:
                card = deck[turn[0] % len(deck)]
                turn[0] += 1
                if kind == "raw sd-jwt":
                    raw(card.sd_sigs)()
                elif kind == "raw mdoc":
                    raw(card.mdoc_sigs)()
                else:
                    answer = card.sd_answer if kind == "sd-jwt" else card.mdoc_answer
                    verify_wallet(verifier, answer, card.request)

            return run

        runs: dict[str, Callable[[], object]] = {
            "sd-jwt, same answer again": lambda: verify_wallet(verifier, sd_answer, request),
            "mdoc, same answer again": lambda: verify_wallet(verifier, mdoc_answer, request),
            "raw 2x ES256 (sd-jwt's)": raw(same.sd_sigs),
            "raw 2x ES256 (mdoc's)": raw(same.mdoc_sigs),
            "sd-jwt, card seen first": in_turn("sd-jwt", sd_deck),
            "mdoc, card seen first": in_turn("mdoc", mdoc_deck),
            "raw 2x ES256 (first-seen sd-jwts')": in_turn("raw sd-jwt", sd_deck),
            "raw 2x ES256 (first-seen mdocs')": in_turn("raw mdoc", mdoc_deck),
        }
        totals = dict.fromkeys(runs, 0.0)
        counts = dict.fromkeys(runs, 0)
        batch, r = 50, 0
        deadline = time.perf_counter() + args.seconds
        while r < 10 or time.perf_counter() < deadline:
            order = list(runs.items())
            random.shuffle(order)
            for name, fn in order:
                t0 = time.perf_counter()
                for _ in range(batch):
                    fn()
                totals[name] += time.perf_counter() - t0
                counts[name] += batch
            r += 1
        rate = {k: counts[k] / totals[k] for k in runs}
        ratio_sd = rate["sd-jwt, same answer again"] / rate["raw 2x ES256 (sd-jwt's)"]
        ratio_mdoc = rate["mdoc, same answer again"] / rate["raw 2x ES256 (mdoc's)"]
        first_sd = rate["sd-jwt, card seen first"] / rate["raw 2x ES256 (first-seen sd-jwts')"]
        first_mdoc = rate["mdoc, card seen first"] / rate["raw 2x ES256 (first-seen mdocs')"]

        print(f"{'measure':<52} {'value':>14}")
        print("-" * 67)
        for name in runs:
            print(f"{name + ' (per second)':<52} {rate[name]:>14.0f}")
        print(f"{'ratio sd-jwt / raw':<52} {ratio_sd:>14.2f}")
        print(f"{'ratio mdoc / raw':<52} {ratio_mdoc:>14.2f}")
        print(f"{'ratio sd-jwt / raw, card seen first':<52} {first_sd:>14.2f}")
        print(f"{'ratio mdoc / raw, card seen first':<52} {first_mdoc:>14.2f}")
        no_photo = VenueRequest.new("pool", ("entitlement:pool",), request.issued_at)
        answers: dict[str, tuple[str | bytes, VenueRequest]] = {
            "sd-jwt, photo + pool": (present_sdjwt(card_sd, request, device), request),
            "mdoc, photo + pool": (mdoc_answer, request),
            "sd-jwt, pool only": (present_sdjwt(card_sd, no_photo, device), no_photo),
            "mdoc, pool only": (present_mdoc(card_mdoc, no_photo, device), no_photo),
        }
        print(f"{'photo on the chip (bytes)':<52} {len(_photo_of(cred)):>14}")
        for label, (answer, req) in answers.items():
            text = response_qr(answer, req)
            size = len(answer)
            print(f"{label + ': answer (bytes)':<52} {size:>14}")
            print(f"{label + ': QR text (characters)':<52} {len(text):>14}")
            print(f"{label + ': one QR, version at level M':<52} {qr_version(text):>14}")
            print(f"{label + ': version 15 QR codes as parts':<52} {len(split_qr(text)):>14}")
        print(f"{'request QR (characters), pool':<52} {len(request.to_qr()):>14}")
        print(f"{'rounds x batch':<52} {f'{r} x {batch}':>14}")
        print(f"{'cards seen first (in turn), per format':<52} {FIRST_SEEN:>14}")
        # the headline is the harder case: a venue mostly sees a card for the first time today
        print(f"ratio: {min(first_sd, first_mdoc):.2f}")


FIRST_SEEN = 1100
"""More cards than the largest cache (1024 holder keys; 32 issued parts and MSOs)."""


@dataclass(frozen=True)
class _Card:
    cred: Credential
    device: SoftwareSigner
    card_sd: str
    card_mdoc: bytes
    request: VenueRequest
    sd_answer: str
    mdoc_answer: bytes
    sd_sigs: list[tuple[ec.EllipticCurvePublicKey, bytes, bytes]]
    mdoc_sigs: list[tuple[ec.EllipticCurvePublicKey, bytes, bytes]]


def _card(issuer: Issuer, kiosk: Signer, holder: Holder, i: int) -> _Card:
    """Card `i` (its own number, chip and holder key) answering its own pool request, and the
    two signatures of each answer for the raw side."""
    issued = issuer.issue(holder, chip_binding=ChipBinding(uid=b"\x04" + i.to_bytes(6, "big")))
    assert issued.chip_cose is not None
    cred = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
    device = SoftwareSigner.generate()
    card_sd = issue_vc(kiosk, cred, device.public_key).compact()
    card_mdoc = mdoc.issue_mdoc(kiosk, cred, device.public_key)
    request = VenueRequest.new("pool", ("photo", "entitlement:pool"))
    sd_answer = present_sdjwt(card_sd, request, device)
    mdoc_answer = present_mdoc(card_mdoc, request, device)
    key = kiosk.public_key
    sd = sdjwt.SdJwt.parse(sd_answer)
    assert sd.kb_jwt is not None
    issuer_jws, kb_jws = jws.parse(sd.jwt), jws.parse(sd.kb_jwt)
    sd_sigs = [(key, der_from_raw(issuer_jws.signature), issuer_jws.signing_input),
               (device.public_key, der_from_raw(kb_jws.signature), kb_jws.signing_input)]  # fmt: skip
    doc = cbor2.loads(mdoc_answer)["documents"][0]
    auth = doc["issuerSigned"]["issuerAuth"]
    dev = doc["deviceSigned"]["deviceAuth"]["deviceSignature"]
    dev_tbs = cose.sig_structure(dev[0], mdoc._device_authentication(
        request.transcript(), doc["deviceSigned"]["nameSpaces"]))  # fmt: skip
    mdoc_sigs = [(key, der_from_raw(auth[3]), cose.sig_structure(auth[0], auth[2])),
                 (device.public_key, der_from_raw(dev[3]), dev_tbs)]  # fmt: skip
    return _Card(cred, device, card_sd, card_mdoc, request, sd_answer, mdoc_answer, sd_sigs,
                 mdoc_sigs)  # fmt: skip


def _photo_of(cred: Credential) -> bytes:
    return cred.holder.photo or b""


if __name__ == "__main__":
    main()
