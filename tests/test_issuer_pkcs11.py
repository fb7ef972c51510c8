"""An issuer whose keys live in a SoftHSM2 token: nothing secret is written to its directory.

Every issuer and key store opened here is closed before its test ends: SoftHSM2 only sees tokens
made later in the process after a re-initialise, which needs no open session (tests/softhsm.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.issuer import cli
from api.issuer.registry import Registry
from api.issuer.service import PIN_ENV, Issuer
from api.terminal import cli as reader_cli
from cardio.credential import Holder
from cardio.errors import KeyStoreError
from cardio.keys import point_bytes
from cardio.published import load_root_key, load_trust_list, load_verifier
from cardio.verdict import Verdict
from tests.conftest import NOW
from tests.softhsm import make_token, softhsm_util

if softhsm_util() is None:
    pytest.skip("softhsm2-util is not on PATH (apt install softhsm2)", allow_module_level=True)

from cardio.keys_pkcs11 import Pkcs11KeyStore

pytestmark = pytest.mark.hsm

Token = tuple[Path, str, str]


@pytest.fixture
def token(tmp_path: Path) -> Token:
    module, label, pin, _env = make_token(tmp_path)
    return module, label, pin


def pkcs11_config(token: Token) -> dict[str, str]:
    module, label, _pin = token
    return {"module": str(module), "token": label}


def assert_no_secrets_on_disk(directory: Path, pin: str) -> None:
    assert not (directory / "keys").exists()
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files, "the issuer directory is empty"
    for path in files:
        data = path.read_bytes()
        assert b"PRIVATE KEY" not in data, path
        assert pin.encode() not in data, path
    pems = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.pem"))
    assert pems == ["public/root-key.pem"]


def test_issuer_keys_stay_in_the_token(
    tmp_path: Path, token: Token, holder: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, label, pin = token
    monkeypatch.setenv(PIN_ENV, pin)
    directory = tmp_path / "issuer"
    issuer = Issuer.init(directory, pkcs11=pkcs11_config(token), now=NOW)
    try:
        issued = issuer.issue(holder, now=NOW)
        issuer.publish(NOW)
        labels = issuer.keystore.labels()
    finally:
        issuer.close()
    assert labels == ["kiosk-1", "root", "status-1"]

    config = json.loads((directory / "issuer.json").read_text("utf-8"))
    assert config["keystore"] == {"type": "pkcs11", "module": str(module), "token": label}
    assert_no_secrets_on_disk(directory, pin)

    verifier, problems = load_verifier(directory)
    assert problems == []
    res = verifier.verify(issued.print_cose, now=NOW + 60)
    assert res.verdict is Verdict.VALID, res.message
    assert res.claims is not None
    assert res.claims["document_number"] == issued.credential.document_number
    assert res.claims["family_name"] == holder.family_name

    # The published keys are the token's keys.
    trust = load_trust_list(directory)
    with Pkcs11KeyStore(module, label, pin) as store:
        assert point_bytes(store.signer("root").public_key) == point_bytes(load_root_key(directory))
        assert {k.label: k.kid for k in trust.keys} == {
            name: store.signer(name).kid for name in ("kiosk-1", "status-1")
        }

    # A later session (a new Issuer, as each CLI command makes) finds the same keys.
    again = Issuer(directory)
    try:
        second = again.issue(holder, now=NOW + 10)
        again.set_status(issued.status_index, "revoked")
        again.publish(NOW + 20)
    finally:
        again.close()
    verifier, problems = load_verifier(directory)
    assert problems == []
    assert verifier.verify(second.print_cose, now=NOW + 60).verdict is Verdict.VALID
    assert verifier.verify(issued.print_cose, now=NOW + 60).verdict is Verdict.REVOKED
    assert_no_secrets_on_disk(directory, pin)


def test_missing_pin_is_a_sentence_naming_the_variable(
    tmp_path: Path, token: Token, holder: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _module, _label, pin = token
    monkeypatch.delenv(PIN_ENV, raising=False)
    directory = tmp_path / "issuer"
    with pytest.raises(KeyStoreError) as info:
        Issuer.init(directory, pkcs11=pkcs11_config(token), now=NOW)
    message = str(info.value)
    assert "CITYCARD_PKCS11_PIN" in message
    assert re.fullmatch(r"[A-Z].*\.", message), message
    # The failed init leaves no half-made issuer behind: with the PIN set it simply works.
    assert not (directory / "issuer.json").exists()

    monkeypatch.setenv(PIN_ENV, pin)
    Issuer.init(directory, pkcs11=pkcs11_config(token), now=NOW).close()

    # An existing token issuer refuses to sign without the PIN, and allocates nothing.
    monkeypatch.delenv(PIN_ENV)
    registry = Registry.for_directory(directory)
    before = registry.dump()
    issuer = Issuer(directory)
    with pytest.raises(KeyStoreError, match="CITYCARD_PKCS11_PIN"):
        issuer.issue(holder, now=NOW)
    issuer.close()
    assert registry.dump() == before
    registry.close()


def test_wrong_pin_leaves_no_issuer(
    tmp_path: Path, token: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    _module, _label, pin = token
    monkeypatch.setenv(PIN_ENV, pin[::-1] + "9")
    directory = tmp_path / "issuer"
    with pytest.raises(KeyStoreError, match="rejected") as info:
        Issuer.init(directory, pkcs11=pkcs11_config(token), now=NOW)
    assert pin not in str(info.value)
    assert not (directory / "issuer.json").exists()


def test_cli_issuer_on_the_token(
    tmp_path: Path, token: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, label, pin = token
    directory = tmp_path / "issuer"
    runner = CliRunner()
    init = [
        "init",
        "--dir",
        str(directory),
        "--pkcs11-module",
        str(module),
        "--pkcs11-token",
        label,
    ]

    monkeypatch.delenv(PIN_ENV, raising=False)
    result = runner.invoke(cli.main, init)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: Set CITYCARD_PKCS11_PIN to the token's user PIN, then run the command again."
    )

    monkeypatch.setenv(PIN_ENV, pin)
    result = runner.invoke(cli.main, init)
    assert result.exit_code == 0, result.output
    assert re.search(r"^Root key fingerprint \(SHA-256\): [0-9A-F]{64}$", result.stdout, re.M)

    resident = tmp_path / "resident.json"
    resident.write_text(
        json.dumps(
            {"family_name": "Tokenfrau-Fiktiv", "given_name": "Hedda", "birth_date": "1971-03-04"}
        ),
        encoding="utf-8",
    )
    result = runner.invoke(
        cli.main,
        [
            "issue",
            "--dir",
            str(directory),
            "--resident",
            str(resident),
            "--out",
            str(tmp_path / "c"),
            "--qr",
        ],
    )
    assert result.exit_code == 0, result.output
    qr = [line for line in result.stdout.splitlines() if line.startswith("CC1:")]
    assert len(qr) == 1
    assert runner.invoke(cli.main, ["publish", "--dir", str(directory)]).exit_code == 0

    result = runner.invoke(
        reader_cli.main, ["verify", "--trust", str(directory / "public"), "--qr", qr[0], "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "VALID"
    assert data["claims"]["family_name"] == "Tokenfrau-Fiktiv"
    assert_no_secrets_on_disk(directory, pin)
