"""Pkcs11KeyStore against a real SoftHSM2 token (one fresh token per test)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cardio.errors import KeyStoreError
from cardio.keys import der_from_raw, kid_for, point_bytes, verify_es256
from tests.softhsm import make_token, softhsm_util

if softhsm_util() is None:
    pytest.skip("softhsm2-util is not on PATH (apt install softhsm2)", allow_module_level=True)

import pkcs11
from pkcs11 import Attribute, ObjectClass

from cardio.keys_pkcs11 import (
    Pkcs11KeyStore,
    public_key_from_ec_point,
    raw_ecdsa_signature,
)

pytestmark = pytest.mark.hsm

Token = tuple[Path, str, str]


@pytest.fixture
def token(tmp_path: Path) -> Token:
    module, label, pin, _env = make_token(tmp_path)
    return module, label, pin


@pytest.fixture
def store(token: Token) -> Iterator[Pkcs11KeyStore]:
    module, label, pin = token
    with Pkcs11KeyStore(module, label, pin) as opened:
        yield opened


def test_create_and_sign_verifies(store: Pkcs11KeyStore) -> None:
    signer = store.create("issuer-2025")
    data = b"citycard credential payload"
    signature = signer.sign(data)
    assert len(signature) == 64
    assert verify_es256(signer.public_key, signature, data)
    # Independent of verify_es256: the signature is ECDSA over SHA-256 of the data.
    from cryptography.hazmat.primitives import hashes

    signer.public_key.verify(der_from_raw(signature), data, ec.ECDSA(hashes.SHA256()))


def test_signatures_are_fresh_and_all_verify(store: Pkcs11KeyStore) -> None:
    signer = store.create("issuer")
    signatures = {signer.sign(b"x") for _ in range(5)}
    assert len(signatures) == 5  # ECDSA is randomised
    assert all(verify_es256(signer.public_key, s, b"x") for s in signatures)
    assert verify_es256(signer.public_key, signer.sign(b""), b"")


def test_tampered_message_does_not_verify(store: Pkcs11KeyStore) -> None:
    signer = store.create("issuer")
    signature = signer.sign(b"resident 12345")
    assert not verify_es256(signer.public_key, signature, b"resident 12346")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify_es256(signer.public_key, flipped, b"resident 12345")


def test_kid_matches_public_key_and_survives_lookup(store: Pkcs11KeyStore) -> None:
    created = store.create("issuer")
    assert created.kid == kid_for(created.public_key)
    assert len(created.kid) == 8
    found = store.signer("issuer")
    assert found.kid == created.kid
    assert point_bytes(found.public_key) == point_bytes(created.public_key)
    assert verify_es256(created.public_key, found.sign(b"m"), b"m")


def test_key_persists_on_token_across_stores(token: Token) -> None:
    module, label, pin = token
    with Pkcs11KeyStore(module, label, pin) as first:
        kid = first.create("issuer").kid
    with Pkcs11KeyStore(str(module), label, pin) as second:
        signer = second.signer("issuer")
        assert signer.kid == kid
        assert verify_es256(signer.public_key, signer.sign(b"m"), b"m")


def test_key_attributes_on_token(token: Token) -> None:
    module, label, pin = token
    with Pkcs11KeyStore(module, label, pin) as store:
        kid = store.create("issuer").kid
    # The store is closed, so this process may log in directly and inspect the objects.
    session = pkcs11.lib(str(module)).get_token(token_label=label).open(user_pin=pin)
    with session:
        private = session.get_key(ObjectClass.PRIVATE_KEY, label="issuer")
        public = session.get_key(ObjectClass.PUBLIC_KEY, label="issuer")
        assert private[Attribute.TOKEN] and public[Attribute.TOKEN]
        assert private[Attribute.SENSITIVE] and private[Attribute.ALWAYS_SENSITIVE]
        assert not private[Attribute.EXTRACTABLE] and private[Attribute.NEVER_EXTRACTABLE]
        assert private[Attribute.SIGN] and private[Attribute.PRIVATE]
        assert not private[Attribute.DERIVE] and not private[Attribute.DECRYPT]
        assert bytes(private[Attribute.ID]) == bytes(public[Attribute.ID]) == kid


def test_duplicate_label_is_refused(store: Pkcs11KeyStore) -> None:
    first = store.create("issuer")
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("issuer")
    assert store.labels() == ["issuer"]
    assert store.signer("issuer").kid == first.kid


def test_missing_label_is_refused(store: Pkcs11KeyStore) -> None:
    with pytest.raises(KeyStoreError, match=r"no key labelled 'absent'.*create it first"):
        store.signer("absent")


def test_bad_label_is_refused(store: Pkcs11KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="not usable"):
        store.create("Not A Label")


def test_labels_lists_created_keys_sorted(store: Pkcs11KeyStore) -> None:
    assert store.labels() == []
    for label in ("status-2025", "issuer-b", "issuer-a"):
        store.create(label)
    assert store.labels() == ["issuer-a", "issuer-b", "status-2025"]


def test_wrong_pin_is_refused_without_the_pin(token: Token) -> None:
    module, label, pin = token
    wrong = pin[::-1] + "9"
    with pytest.raises(KeyStoreError) as info:
        Pkcs11KeyStore(module, label, wrong)
    message = str(info.value)
    assert "PIN" in message and "rejected" in message
    for secret in (wrong, pin):
        assert secret not in message
        assert secret not in repr(info.value.__cause__)
    # The right PIN still works afterwards.
    with Pkcs11KeyStore(module, label, pin) as store:
        assert store.labels() == []


def test_missing_token_is_refused(token: Token) -> None:
    module, _label, pin = token
    with pytest.raises(KeyStoreError, match=r"'no-such-token' was not found.*softhsm2-util"):
        Pkcs11KeyStore(module, "no-such-token", pin)


def test_missing_module_is_refused(token: Token, tmp_path: Path) -> None:
    _module, label, pin = token
    missing = tmp_path / "nowhere" / "libpkcs11.so"
    with pytest.raises(KeyStoreError, match="does not exist"):
        Pkcs11KeyStore(missing, label, pin)


def test_non_pkcs11_library_is_refused(token: Token, tmp_path: Path) -> None:
    _module, label, pin = token
    not_a_library = tmp_path / "fake.so"
    not_a_library.write_bytes(b"not an ELF file")
    with pytest.raises(KeyStoreError, match="could not be loaded"):
        Pkcs11KeyStore(not_a_library, label, pin)


def test_closed_store_refuses_use(token: Token) -> None:
    module, label, pin = token
    store = Pkcs11KeyStore(module, label, pin)
    signer = store.create("issuer")
    store.close()
    store.close()  # idempotent
    with pytest.raises(KeyStoreError, match="closed"):
        store.labels()
    with pytest.raises(KeyStoreError, match="closed"):
        signer.sign(b"m")


def test_two_stores_on_one_token_share_the_login(token: Token) -> None:
    module, label, pin = token
    first = Pkcs11KeyStore(module, label, pin)
    second = Pkcs11KeyStore(module, label, pin)
    with pytest.raises(KeyStoreError, match="rejected"):
        Pkcs11KeyStore(module, label, pin + "0")
    signer = first.create("issuer")
    first.close()  # must not log the second store out
    assert second.labels() == ["issuer"]
    assert verify_es256(signer.public_key, second.signer("issuer").sign(b"m"), b"m")
    second.close()


def test_module_under_two_spellings_is_loaded_once(token: Token) -> None:
    module, label, pin = token
    other = Path(os.path.realpath(module))  # Debian's path is a symlink
    with Pkcs11KeyStore(module, label, pin) as first, Pkcs11KeyStore(other, label, pin) as second:
        signer = first.create("issuer")
        assert second.signer("issuer").kid == signer.kid


def test_ec_point_accepts_wrapped_and_raw_forms() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point_bytes(key)
    wrapped = b"\x04\x41" + raw
    for form in (raw, wrapped):
        assert point_bytes(public_key_from_ec_point(form)) == raw
    with pytest.raises(KeyStoreError):
        public_key_from_ec_point(b"\x04\x03abc")


def test_signature_normalised_from_der() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import hashes

    der = private.sign(b"m", ec.ECDSA(hashes.SHA256()))
    raw = raw_ecdsa_signature(der)
    assert len(raw) == 64
    assert verify_es256(private.public_key(), raw, b"m")
    assert raw_ecdsa_signature(raw) == raw
    with pytest.raises(KeyStoreError):
        raw_ecdsa_signature(b"\x01" * 70)


def test_digest_is_sha256_of_data(store: Pkcs11KeyStore) -> None:
    # A signature made on the token over SHA-256(data) verifies as ES256 over data, and not
    # as ES256 over the digest itself (i.e. the store does not hash twice or not at all).
    signer = store.create("issuer")
    data = b"payload"
    signature = signer.sign(data)
    assert verify_es256(signer.public_key, signature, data)
    assert not verify_es256(signer.public_key, signature, hashlib.sha256(data).digest())
