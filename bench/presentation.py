"""Benchmark: verifying a wallet presentation against raw ES256 verifies of as many signatures.

An SD-JWT VC presentation and an mdoc DeviceResponse, each answering a pool request (photo and
pool entitlement), are verified offline by `cardio.presentation.verify_wallet` (parsing,
issuer signature, digests, key binding to the request, status list). Each holds two ES256
signatures (issuer and holder), so each is measured against two raw `cryptography` verifies,
interleaved in rounds so that frequency scaling and noise hit them alike. Ends with
`ratio: X.XX` = the lower of the two formats' rates / the raw rate (target >= 0.70).

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
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbor2
import qrcode
from cryptography.hazmat.primitives.asymmetric import ec

from api.issuer.service import Issuer
from cardio import cose, jws, mdoc, sdjwt
from cardio.credential import ChipBinding, Credential, Holder
from cardio.keys import ECDSA_SHA256, SoftwareSigner, der_from_raw
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
        issued = issuer.issue(typical, chip_binding=ChipBinding(uid=b"\x04" * 7))
        issuer.publish()
        verifier, problems = load_verifier(Path(tmp) / "issuer")
        assert not problems, problems
        assert issued.chip_cose is not None
        cred = Credential.from_payload(cose.parse_sign1(issued.chip_cose).payload)
        kiosk = issuer.keystore.signer("kiosk-1")
        device = SoftwareSigner.generate()
        card_sd = issue_vc(kiosk, cred, device.public_key).compact()
        card_mdoc = mdoc.issue_mdoc(kiosk, cred, device.public_key)
        request = VenueRequest.new("pool", ("photo", "entitlement:pool"))
        sd_answer = present_sdjwt(card_sd, request, device)
        mdoc_answer = present_mdoc(card_mdoc, request, device)
        for answer in (sd_answer, mdoc_answer):
            assert verify_wallet(verifier, answer, request).verdict is Verdict.VALID

        # the same two signatures of each, checked raw
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

        def raw(sigs: list[tuple[ec.EllipticCurvePublicKey, bytes, bytes]]) -> Callable[[], None]:
            def run() -> None:
                for k, sig, data in sigs:
                    k.verify(sig, data, ECDSA_SHA256)

            return run

        runs: dict[str, Callable[[], None]] = {
            "sd-jwt": lambda: verify_wallet(verifier, sd_answer, request),
            "mdoc": lambda: verify_wallet(verifier, mdoc_answer, request),
            "raw 2x ES256 (sd-jwt's)": raw(sd_sigs),
            "raw 2x ES256 (mdoc's)": raw(mdoc_sigs),
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
        ratio_sd = rate["sd-jwt"] / rate["raw 2x ES256 (sd-jwt's)"]
        ratio_mdoc = rate["mdoc"] / rate["raw 2x ES256 (mdoc's)"]

        print(f"{'measure':<52} {'value':>14}")
        print("-" * 67)
        for name in runs:
            print(f"{name + ' (per second)':<52} {rate[name]:>14.0f}")
        print(f"{'ratio sd-jwt / raw':<52} {ratio_sd:>14.2f}")
        print(f"{'ratio mdoc / raw':<52} {ratio_mdoc:>14.2f}")
        no_photo = VenueRequest.new("pool", ("entitlement:pool",), request.issued_at)
        answers = {
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
        print(f"ratio: {min(ratio_sd, ratio_mdoc):.2f}")


def _photo_of(cred: Credential) -> bytes:
    return cred.holder.photo or b""


if __name__ == "__main__":
    main()
