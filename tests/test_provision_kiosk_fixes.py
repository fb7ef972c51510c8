"""Kiosk enrolment, install and self-test edge cases found in the field (in-process, no pcscd)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import ndef
import pytest
from click.testing import CliRunner

from cardio.apdu import ApduProcessor
from cardio.chip import CardProfile, bind, personalise
from cardio.credential import Credential, Holder, Variant, sign_credential
from cardio.keys import FileKeyStore, SoftwareSigner, fingerprint, public_pem
from cardio.published import ROOT_KEY_FILE, TRUST_LIST_FILE
from cardio.trustlist import KeyPurpose, TrustedKey, TrustList, sign_trust_list
from cardio.type4 import NdefApplication
from cardio.verdict import Verdict
from firmware_tools.cli import main
from firmware_tools.kiosk_enroll import (
    CREDENTIAL_FILE,
    EnrollError,
    _credential,
    enroll,
    install,
    installed_trust_list,
    self_test,
)
from hardware.local import LocalConnection
from hardware.virtual_t4t import VirtualType4Card

KIOSK = "kiosk-7"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert line.endswith("."), line
    return line


def _enrolled(tmp_path: Path) -> tuple[Path, FileKeyStore]:
    store = FileKeyStore(tmp_path / "keys")
    state = tmp_path / "state"
    enroll(store, KIOSK, state)
    return state, store


def _city(store: FileKeyStore, version: int = 1) -> tuple[bytes, bytes, str]:
    """A fictional city: its root key PEM, a trust list naming this kiosk, the root fingerprint."""
    root = SoftwareSigner.generate()
    kiosk = store.signer(KIOSK)
    now = int(time.time())
    entry = TrustedKey(kiosk.kid, kiosk.public_key, KeyPurpose.ISSUE, KIOSK, now - 3600, now + 86400)
    tl = TrustList(version, "Example City", now, (entry,))
    return public_pem(root.public_key).encode(), sign_trust_list(root, tl), fingerprint(root.public_key)


def _installed(tmp_path: Path) -> tuple[Path, FileKeyStore]:
    state, store = _enrolled(tmp_path)
    root_pem, tl, fp = _city(store)
    install(state, root_pem, tl, fp)
    return state, store


def _ndef(conn: LocalConnection) -> bytes:
    app = NdefApplication(ApduProcessor(conn))
    app.select()
    return app.read_ndef()


# -- finding 1: the self-test never overwrites a card that is not blank ----------------------


def test_self_test_refuses_a_card_holding_a_resident_credential(tmp_path: Path) -> None:
    state, store = _installed(tmp_path)
    conn = LocalConnection(VirtualType4Card(profile="t4t"))
    now = int(time.time())
    resident = Credential(
        issuer="Example City", document_number="C-0001234", issued_at=now - 60, expires_at=now + 86400,
        status_index=7, status_uri="https://cards.city.example/status/1",
        holder=Holder("test", "Example", "Resident", date(1990, 1, 1)), variant=Variant.CHIP,
        binding=bind(conn, CardProfile.T4T),
    )  # fmt: skip
    # left unlocked, as a kiosk leaves a card when personalisation stops between write and lock
    personalise(conn, sign_credential(store.signer(KIOSK), resident), lock=False)
    _refused_untouched(state, store, conn)


def _refused_untouched(state: Path, store: FileKeyStore, conn: LocalConnection) -> None:
    """The self-test refuses the card as not blank and writes nothing to it."""
    before = _ndef(conn)
    with pytest.raises(EnrollError, match="not blank"):
        self_test(state, store, conn)
    assert _ndef(conn) == before


def test_self_test_refuses_a_card_with_any_other_ndef_message(tmp_path: Path) -> None:
    state, store = _installed(tmp_path)
    conn = LocalConnection(VirtualType4Card(profile="t4t"))
    app = NdefApplication(ApduProcessor(conn))
    app.select()
    app.write_ndef(b"".join(ndef.message_encoder([ndef.UriRecord("https://city.example/")])))
    _refused_untouched(state, store, conn)


def test_self_test_card_stays_reusable(tmp_path: Path) -> None:
    state, store = _installed(tmp_path)
    conn = LocalConnection(VirtualType4Card(profile="t4t"))
    assert self_test(state, store, conn) in {Verdict.VALID, Verdict.STATUS_UNAVAILABLE}
    assert _ndef(conn)  # the test credential is on the card, unlocked
    assert self_test(state, store, conn) in {Verdict.VALID, Verdict.STATUS_UNAVAILABLE}
    # the technician takes the same test card to the next kiosk (another key, another city list)
    other_state, other_store = _installed(tmp_path / "next-kiosk")
    assert self_test(other_state, other_store, conn) in {Verdict.VALID, Verdict.STATUS_UNAVAILABLE}


# -- finding 2: a failed enrolment leaves no key behind and can be re-run --------------------


def test_enroll_into_unwritable_state_creates_no_key(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory")
    keys = tmp_path / "kkeys"
    common = ["--key-dir", str(keys), "--technician", "T-042", "--log", str(tmp_path / "k.log")]
    bad = _error(_cli("kiosk", "enroll", "kiosk-8", "--state", str(tmp_path / "afile" / "st"), *common))
    assert "no key was created" in bad
    assert FileKeyStore(keys).labels() == []
    r = _cli("kiosk", "enroll", "kiosk-8", "--state", str(tmp_path / "good"), *common)
    assert r.exit_code == 0, r.output


def test_enroll_with_a_leftover_key_names_it(tmp_path: Path) -> None:
    keys = FileKeyStore(tmp_path / "kkeys")
    keys.create("kiosk-8")  # left over from an enrolment that failed before this fix
    with pytest.raises(EnrollError) as info:
        enroll(keys, "kiosk-8", tmp_path / "state")
    message = str(info.value)
    assert "pick another label" not in message
    assert str(keys.path("kiosk-8")) in message and "on purpose" in message
    assert not (tmp_path / "state").exists()


# -- finding 9: kiosk install speaks about the kiosk ----------------------------------------


def test_install_trust_list_from_another_root(tmp_path: Path) -> None:
    state, store = _enrolled(tmp_path)
    root_a, _tl_a, fp_a = _city(store)
    _root_b, tl_b, _fp_b = _city(store)
    with pytest.raises(EnrollError) as info:
        install(state, root_a, tl_b, fp_a)
    message = str(info.value)
    assert "reader" not in message and "same" in message and "root-key.pem" in message
    assert not (state / ROOT_KEY_FILE).exists()


def test_install_file_that_is_not_a_trust_list(tmp_path: Path) -> None:
    state, store = _enrolled(tmp_path)
    root_a, _tl, fp_a = _city(store)
    with pytest.raises(EnrollError) as info:
        install(state, root_a, b"\x00" * 5000, fp_a)
    message = str(info.value)
    assert "not a trust list" in message and "trust-list.cose" in message
    assert "cannot be read:" not in message


def test_damaged_credential_points_to_kiosk_enroll(tmp_path: Path) -> None:
    state = tmp_path / "kst_c"
    state.mkdir()
    (state / CREDENTIAL_FILE).write_text("{broken")
    with pytest.raises(EnrollError) as info:
        _credential(state)
    message = str(info.value)
    assert "kiosk enroll" in message and "citycard-api" not in message and str(state / CREDENTIAL_FILE) in message
    root = tmp_path / "root.pem"
    root.write_bytes(public_pem(SoftwareSigner.generate().public_key).encode())
    line = _error(_cli("kiosk", "install", "--state", str(state), "--root-key", str(root), "--trust-list", str(root),
                       "--technician", "T-042", "--log", str(tmp_path / "k.log"), "--yes-fingerprint", "00"))  # fmt: skip
    assert "kiosk enroll" in line


def test_installed_trust_list_damaged(tmp_path: Path) -> None:
    state, _store = _installed(tmp_path)
    (state / TRUST_LIST_FILE).write_bytes(b"garbage")
    with pytest.raises(EnrollError, match="kiosk install"):
        installed_trust_list(state)


# -- finding 10: a pinned root key is not replaced silently ---------------------------------


def test_install_refuses_a_different_root_key(tmp_path: Path) -> None:
    state, store = _enrolled(tmp_path)
    root_a, tl_a, fp_a = _city(store)
    install(state, root_a, tl_a, fp_a)
    root_b, tl_b, fp_b = _city(store)
    with pytest.raises(EnrollError) as info:
        install(state, root_b, tl_b, fp_b)
    message = str(info.value)
    assert fp_a in message and fp_b in message and "on purpose" in message
    assert (state / ROOT_KEY_FILE).read_bytes() == root_a
    assert (state / TRUST_LIST_FILE).read_bytes() == tl_a
    install(state, root_a, tl_a, fp_a)  # the same root again (a trust list update) is fine


def test_kiosk_install_command_refuses_a_different_root_key(tmp_path: Path) -> None:
    state, store = _enrolled(tmp_path)
    root_a, tl_a, fp_a = _city(store)
    install(state, root_a, tl_a, fp_a)
    root_b, tl_b, fp_b = _city(store)
    (tmp_path / "root-key.pem").write_bytes(root_b)
    (tmp_path / "trust-list.cose").write_bytes(tl_b)
    line = _error(_cli("kiosk", "install", "--state", str(state), "--root-key", str(tmp_path / "root-key.pem"),
                       "--trust-list", str(tmp_path / "trust-list.cose"), "--yes-fingerprint", fp_b,
                       "--technician", "T-042", "--log", str(tmp_path / "k.log")))  # fmt: skip
    assert fp_a in line and fp_b in line and str(state / ROOT_KEY_FILE) in line
    assert (state / ROOT_KEY_FILE).read_bytes() == root_a


def test_a_different_root_key_is_refused_before_its_fingerprint_is_asked(tmp_path: Path) -> None:
    """Asked to confirm a fingerprint, then told it is refused, the technician would have
    phoned the city for nothing: the pin is checked before the question."""
    state, store = _enrolled(tmp_path)
    root_a, tl_a, fp_a = _city(store)
    install(state, root_a, tl_a, fp_a)
    root_b, tl_b, fp_b = _city(store)
    (tmp_path / "root-key.pem").write_bytes(root_b)
    (tmp_path / "trust-list.cose").write_bytes(tl_b)
    result = CliRunner().invoke(main, ["kiosk", "install", "--state", str(state), "--root-key",
                                       str(tmp_path / "root-key.pem"), "--trust-list",
                                       str(tmp_path / "trust-list.cose"), "--technician", "T-042",
                                       "--log", str(tmp_path / "k.log")], input="y\n")  # fmt: skip
    assert "fingerprint" not in result.output.split("Error:")[0].lower()
    line = _error(result)
    assert fp_a in line and fp_b in line
