"""Benchmark: the full offline verify path against a raw ES256 verify of the same signature.

Both run in this process, interleaved in rounds so that frequency scaling and noise hit them
alike. Prints a table and ends with `ratio: X.XX` = full-path rate / raw rate (target >= 0.80).
Also reports credential sizes and the QR version at level M. It measures the compiled hot path
(cardio/_fastpath.c) and stops if the pure-Python fallback is active instead.

    .venv/bin/python bench/verify.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qrcode
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from api.issuer.service import Issuer
from cardio import cose, fastpath
from cardio.credential import ChipBinding, Holder, to_qr
from cardio.keys import der_from_raw
from cardio.published import load_verifier
from cardio.statuslist import StatusList
from cardio.verdict import Verdict


def _photo() -> bytes:
    from tests.conftest import synthetic_photo

    return synthetic_photo(3072)


def qr_version(text: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return int(qr.version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="total measuring time")
    args = parser.parse_args()
    if fastpath.IMPLEMENTATION != "c":
        sys.exit(
            "bench/verify.py measures the compiled cardio._fastpath, but the pure-Python fallback "
            f"is active ({fastpath.PURE_PYTHON_ENV} is set, or the C extension was not built)."
        )

    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer.init(Path(tmp) / "issuer")
        typical = Holder("demo", "Müller", "Anna", date(1985, 6, 15), "F", ("library", "pool"), ("de",))
        issued = issuer.issue(typical)
        chip = issuer.issue(
            replace(typical, photo=_photo()), chip_binding=ChipBinding(uid=b"\x04" * 7)
        )
        issuer.publish()
        verifier, problems = load_verifier(Path(tmp) / "issuer")
        assert not problems, problems

        data = issued.print_cose
        assert verifier.verify(data).verdict is Verdict.VALID
        msg = cose.parse_sign1(data)
        key = verifier.trust.by_kid[msg.kid].public_key
        der = der_from_raw(msg.signature)
        tbs = cose.sig_structure(msg.protected, msg.payload)
        algo = ec.ECDSA(hashes.SHA256())

        def full() -> None:
            verifier.verify(data)

        def raw() -> None:
            key.verify(der, tbs, algo)

        rounds, batch = 20, 200
        totals = {"full": 0.0, "raw": 0.0}
        counts = {"full": 0, "raw": 0}
        deadline = time.perf_counter() + args.seconds
        r = 0
        while r < rounds or time.perf_counter() < deadline:
            order = [("full", full), ("raw", raw)]
            random.shuffle(order)
            for name, fn in order:
                t0 = time.perf_counter()
                for _ in range(batch):
                    fn()
                totals[name] += time.perf_counter() - t0
                counts[name] += batch
            r += 1
            if r >= 200:
                break

        rate = {k: counts[k] / totals[k] for k in totals}
        ratio = rate["full"] / rate["raw"]
        qr = to_qr(data)
        lst = StatusList(1_000_000, 1)
        rng = random.Random(1)
        for i in rng.sample(range(1_000_000), 10_000):
            lst.set(i, 1)

        print(f"{'measure':<44} {'value':>14}")
        print("-" * 59)
        print(f"{'hot path implementation':<44} {fastpath.IMPLEMENTATION:>14}")
        print(f"{'full verify path (verifies/s)':<44} {rate['full']:>14.0f}")
        print(f"{'raw cryptography ES256 verify (verifies/s)':<44} {rate['raw']:>14.0f}")
        print(f"{'full path, microseconds per verify':<44} {1e6 / rate['full']:>14.1f}")
        print(f"{'raw verify, microseconds per verify':<44} {1e6 / rate['raw']:>14.1f}")
        print(f"{'print credential, typical resident (bytes)':<44} {len(data):>14}")
        print(f"{'QR text (characters)':<44} {len(qr):>14}")
        print(f"{'QR version at level M':<44} {qr_version(qr):>14}")
        assert chip.chip_cose is not None
        print(f"{'chip credential with 3 KB photo (bytes)':<44} {len(chip.chip_cose):>14}")
        print(f"{'status list, 1M cards at 1% revoked (bytes)':<44} {len(lst.compress()):>14}")
        print(f"{'rounds x batch':<44} {f'{r} x {batch}':>14}")
        print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
