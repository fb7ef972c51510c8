"""python-cwt (https://github.com/dajiaji/python-cwt) run on citycard's signed objects, for the
interop tests in tests/test_cwt_interop.py. It runs in its own venv (`.venv-interop`, made by
the Makefile), because python-cwt pins cbor2 below the 6.x that citycard needs; so this file
imports nothing of citycard's, and speaks JSON on stdout.

    python cwt_tool.py verify KEY.pem KID_HEX FILE...      # COSE signature, then cwt.decode
    python cwt_tool.py sign KEY.pem KID_HEX PAYLOAD OUT    # COSE_Sign1 over PAYLOAD's bytes
    python cwt_tool.py encode KEY.pem KID_HEX CLAIMS OUT   # cwt.encode of the claims in CLAIMS

KEY.pem is a public key to verify with and a private key to sign with. CLAIMS is a CBOR file
of a claims map. `plain` turns CBOR values into JSON the test compares with its own reading.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def plain(value: Any) -> Any:
    """JSON for a decoded CBOR value: map keys as text, byte strings as {"hex": ...}."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _key(path: str, kid: str) -> Any:
    from cwt import COSEKey

    return COSEKey.from_pem(Path(path).read_bytes(), alg="ES256", kid=bytes.fromhex(kid))


def verify(pem: str, kid: str, files: list[str]) -> list[dict[str, Any]]:
    import cwt
    from cwt import COSE

    key, results = _key(pem, kid), []
    for name in files:
        data = Path(name).read_bytes()
        result: dict[str, Any] = {"signed": False, "claims": None}
        try:  # the COSE layer: envelope and signature
            protected, unprotected, _ = COSE.new().decode_with_headers(data, keys=[key])
            result.update(signed=True, protected=plain(protected), unprotected=plain(unprotected))
            result["claims"] = plain(cwt.decode(data, keys=[key]))  # the CWT layer: claims
        except Exception as exc:  # the test reads the refusal's type
            result["error"] = type(exc).__name__
        results.append(result)
    return results


def sign(pem: str, kid: str, payload: str, out: str) -> None:
    from cwt import COSE

    data = COSE.new().encode_and_sign(
        Path(payload).read_bytes(), _key(pem, kid), protected={1: -7, 4: bytes.fromhex(kid)},
        unprotected={},
    )  # fmt: skip
    Path(out).write_bytes(data)


def encode(pem: str, kid: str, claims: str, out: str) -> None:
    import cbor2
    import cwt

    Path(out).write_bytes(cwt.encode(cbor2.loads(Path(claims).read_bytes()), _key(pem, kid)))


def main(argv: list[str]) -> None:
    command, pem, kid, *rest = argv
    if command == "verify":
        print(json.dumps(verify(pem, kid, rest)))
    elif command == "sign":
        sign(pem, kid, *rest)
    else:
        encode(pem, kid, *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
