"""`citycard-provision kiosk enroll / request-check / install` with a real issuer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.issuer.service import Issuer
from cardio.keys import fingerprint, load_public_pem
from firmware_tools import provlog
from firmware_tools.cli import main
from hardware.pcscd import PcscdService
from hardware.virtual_t4t import VirtualType4Card
from tests.pcsc_fixtures import (  # noqa: F401 - fixtures
    VpcdCards,
    fixture_pcscd_service,
    fixture_vpcd_cards,
    requires_pcscd,
)
from tests.softhsm import make_token, softhsm_util


def _cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def _error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert line.endswith("."), line
    return line


def _flow(tmp_path: Path, enroll_args: list[str], env: dict[str, str] | None = None) -> tuple[Path, Path]:
    state, log = tmp_path / "kiosk-state", tmp_path / "prov.log"
    r = _cli("kiosk", "enroll", "kiosk-7", "--state", str(state), *enroll_args, "--technician", "T-9", "--log", str(log), env=env)
    assert r.exit_code == 0, r.output
    assert (state / "kiosk-credential.json").stat().st_mode & 0o777 == 0o600

    issuer = Issuer.init(tmp_path / "issuer")
    pub = issuer.publish()
    root_fp = fingerprint(load_public_pem((pub / "root-key.pem").read_bytes()))
    install = ["kiosk", "install", "--state", str(state), "--root-key", str(pub / "root-key.pem"),
               "--trust-list", str(pub / "trust-list.cose"), "--technician", "T-9", "--log", str(log)]  # fmt: skip
    assert "does not list kiosk kiosk-7" in _error(_cli(*install, "--yes-fingerprint", root_fp))

    # the city checks the request and adds the kiosk with the kiosk's own public keys
    keys = tmp_path / "city-inbox"
    r = _cli("kiosk", "request-check", str(state / "enroll-request.cose"), "--out-dir", str(keys))
    assert r.exit_code == 0, r.output
    assert "citycard-api kiosk add kiosk-7" in r.output
    _account, credential = issuer.add_kiosk(
        "kiosk-7",
        load_public_pem((keys / "api-key.pem").read_bytes()),
        load_public_pem((keys / "signing-key.pem").read_bytes()),
    )
    assert credential is None  # the API private key never left the kiosk
    issuer.publish()

    assert "does not match" in _error(_cli(*install, "--yes-fingerprint", "00" * 32))
    assert "not confirmed" in _error(_cli(*install, input="n\n"))
    assert not (state / "trust-list.cose").exists()
    r = _cli(*install, input="y\n")
    assert r.exit_code == 0, r.output
    assert root_fp in r.output and "lists kiosk kiosk-7" in r.output
    assert (state / "trust-list.cose").read_bytes() == (pub / "trust-list.cose").read_bytes()
    actions = [(rec["action"], rec["kiosk_id"]) for rec in provlog.read(log)]
    assert actions == [("kiosk.enroll", "kiosk-7"), ("kiosk.install", "kiosk-7")]

    again = _cli("kiosk", "enroll", "kiosk-7", "--state", str(state), *enroll_args, "--technician", "T-9", "--log", str(log), env=env)
    assert "already" in _error(again)
    return state, log


def test_enroll_with_file_store(tmp_path: Path) -> None:
    _flow(tmp_path, ["--key-dir", str(tmp_path / "kiosk-keys")])


@pytest.mark.hsm
@pytest.mark.skipif(softhsm_util() is None, reason="SoftHSM2 is not installed")
def test_enroll_with_softhsm(tmp_path: Path) -> None:
    module, label, pin, env = make_token(tmp_path)
    env = {**env, "CITYCARD_PKCS11_PIN": pin}
    _flow(tmp_path, ["--pkcs11-module", str(module), "--pkcs11-token", label], env=env)
    bad = _cli("kiosk", "enroll", "k8", "--state", str(tmp_path / "s2"), "--pkcs11-module", str(module),
               "--technician", "T-9", "--log", str(tmp_path / "l"), env={**env, "CITYCARD_PKCS11_PIN": ""})  # fmt: skip
    assert "CITYCARD_PKCS11_PIN" in _error(bad)


def test_tampered_request_and_missing_store(tmp_path: Path) -> None:
    state = tmp_path / "s"
    r = _cli("kiosk", "enroll", "k1", "--state", str(state), "--key-dir", str(tmp_path / "k"), "--technician", "T-1", "--log", str(tmp_path / "l"))
    assert r.exit_code == 0, r.output
    req = bytearray((state / "enroll-request.cose").read_bytes())
    req[-1] ^= 1
    (tmp_path / "bad.cose").write_bytes(bytes(req))
    assert "not signed by the key it carries" in _error(_cli("kiosk", "request-check", str(tmp_path / "bad.cose"), "--out-dir", str(tmp_path / "o")))
    assert "--key-dir" in _error(_cli("kiosk", "enroll", "k2", "--state", str(tmp_path / "s2"), "--technician", "T-1", "--log", str(tmp_path / "l")))
    assert "--technician" in _error(_cli("kiosk", "enroll", "k2", "--state", str(tmp_path / "s2"), "--key-dir", str(tmp_path / "k")))


@requires_pcscd
def test_self_test_on_vpcd_writer(tmp_path: Path, pcscd_service: PcscdService, vpcd_cards: VpcdCards) -> None:
    keys = ["--key-dir", str(tmp_path / "kiosk-keys")]
    fresh = tmp_path / "not-installed"
    r = _cli("kiosk", "enroll", "k9", "--state", str(fresh), "--key-dir", str(tmp_path / "k9"), "--technician", "T-9", "--log", str(tmp_path / "l"))
    assert r.exit_code == 0, r.output
    state, log = _flow(tmp_path, keys)
    test = ["kiosk", "self-test", "--state", str(state), *keys, "--technician", "T-9", "--log", str(log)]
    assert "card" in _error(_cli(*test, "--writer", pcscd_service.vpcd_reader(1), "--timeout", "1")).lower()
    card = VirtualType4Card(profile="t4t")
    vpcd_cards.attach(0, card)
    writer = ["--writer", pcscd_service.vpcd_reader(0)]
    nope = ["kiosk", "self-test", "--state", str(fresh), "--key-dir", str(tmp_path / "k9"), "--technician", "T-9", "--log", str(log)]
    assert "kiosk install" in _error(_cli(*nope, *writer))
    r = _cli(*test, *writer)
    assert r.exit_code == 0, r.output
    assert "Self-test passed" in r.output and "status_unavailable" in r.output.lower()
    r = _cli(*test, *writer)  # the test card is not locked: it can be used again
    assert r.exit_code == 0, r.output
    rec = provlog.read(log)[-1]
    assert rec["action"] == "kiosk.self-test" and rec["kiosk_id"] == "kiosk-7"
