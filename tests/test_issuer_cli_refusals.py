"""`citycard-api` refusing what it once took or failed on: a resident file nested too deeply,
a photo that is no JPEG, a birth date in the future, an unknown programme, a base URL that is
no web address, one key for two kiosk roles, and files the server's user may not read (said
as a permission to fix, not as damage). Each is one "Error: ..." sentence, exit 2."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.exc import OperationalError

from api.issuer import config as issuer_config
from api.issuer import keys as issuer_keys
from api.issuer.errors import IssuerError, this_user
from api.issuer.registry import Registry
from api.issuer.server import create_app, load_config
from api.issuer.service import Issuer
from cardio.keys import public_pem
from tests import test_cli
from tests.test_cli import RESIDENT, api, one_error_line

issuer_dir = test_cli.issuer_dir  # the fixtures of tests/test_cli.py, shared
resident_file = test_cli.resident_file


def issue_with(directory: Path, tmp_path: Path, resident: dict[str, object], *extra: object):  # type: ignore[no-untyped-def]
    path = tmp_path / "resident-x.json"
    path.write_text(json.dumps(resident), "utf-8")
    return api("issue", "--dir", directory, "--resident", path, "--out", tmp_path / "c.cose", *extra)


def test_a_resident_file_nested_too_deeply_is_a_sentence(issuer_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"family_name":' + "[" * 5000 + "]" * 5000 + "}", "utf-8")
    result = api("issue", "--dir", issuer_dir, "--resident", path, "--out", tmp_path / "c.cose")
    assert result.exit_code == 2
    assert "is not valid UTF-8 JSON (it is nested too deeply)" in one_error_line(result)


def test_a_photo_that_is_no_jpeg_is_refused(issuer_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello this is not jpeg", "utf-8")
    result = issue_with(
        issuer_dir, tmp_path, {**RESIDENT, "photo": "hello.txt"},
        "--variant", "chip", "--chip-uid", "04A1B2C3D4E5F6",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "'photo' is not a JPEG image" in one_error_line(result)
    assert not (tmp_path / "c.cose").exists()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"birth_date": "2099-01-01"}, "'birth_date' is in the future"),
        ({"program": "nope"}, "there is no programme 'nope' ('program'); use one of"),
    ],
)
def test_a_future_birth_date_or_unknown_programme_is_refused(
    issuer_dir: Path, tmp_path: Path, change: dict[str, str], said: str
) -> None:
    result = issue_with(issuer_dir, tmp_path, {**RESIDENT, **change})
    assert result.exit_code == 2
    assert said in one_error_line(result)
    assert not (tmp_path / "c.cose").exists()


def test_status_set_says_when_nothing_changed(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    card = test_cli.issue(issuer_dir, resident_file, tmp_path / "card.cose")
    for target in (card.number, str(card.index)):
        result = api("status", "set", "--dir", issuer_dir, target, "revoked")
        assert result.exit_code == 0, result.output
        said = result.stdout.strip()
        if target == card.number:
            assert said.startswith(f"Card {card.number} is now revoked"), said
        else:
            assert said == f"Card {card.number} was revoked already; nothing changed.", said


@pytest.mark.parametrize("base_url", ["", "javascript:alert(1)", "cards.example.org"])
def test_a_base_url_that_is_no_web_address_is_damage(issuer_dir: Path, base_url: str) -> None:
    path = issuer_dir / "issuer.json"
    data = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps({**data, "base_url": base_url}), "utf-8")
    result = api("publish", "--dir", issuer_dir)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert f"{path} is damaged ('base_url' is not an http:// or https:// address" in line, line


def test_one_key_for_both_kiosk_roles_is_refused(issuer_dir: Path, tmp_path: Path) -> None:
    pem = tmp_path / "kiosk.pem"
    pem.write_text(public_pem(ec.generate_private_key(ec.SECP256R1()).public_key()), "ascii")
    result = api("kiosk", "add", "--dir", issuer_dir, "kiosk-9", "--api-key", pem, "--signing-key", pem)
    assert result.exit_code == 2
    assert "the same key; a kiosk needs two separate key pairs" in one_error_line(result)
    assert "kiosk-9" not in api("kiosk", "list", "--dir", issuer_dir).stdout


def _denied(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Reading files called `name` fails as for a user without permission (the tests may run
    as root, whom chmod does not stop)."""
    real_bytes, real_text, real_open = Path.read_bytes, Path.read_text, open

    def refuse(path: object) -> None:
        if Path(str(path)).name == name:
            raise PermissionError(13, "Permission denied", str(path))

    def read_bytes(self: Path) -> bytes:
        refuse(self)
        return real_bytes(self)

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        refuse(self)
        return real_text(self, *args, **kwargs)  # type: ignore[arg-type]

    def opener(file: object, *args: object, **kwargs: object) -> object:
        refuse(file)
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(Path, "read_text", read_text)
    for module in (issuer_config, issuer_keys):
        monkeypatch.setattr(module, "open", opener, raising=False)


@pytest.mark.parametrize("name", ["receipt-pepper.key", ".lock", "status-1.pem"])
def test_serve_refuses_a_file_it_may_not_read(
    issuer_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    Issuer(issuer_dir).cards.config.pepper()  # made, as after the first allocation
    _denied(monkeypatch, name)
    try:
        app = create_app(load_config(issuer_dir))
    except IssuerError as exc:
        message = str(exc)
    else:  # it would start and fail every request that needs the file
        app.extensions["citycard"].issuer.close()
        pytest.fail(f"serve starts with {name} unreadable")
    assert name in message and f"let the user {this_user()!r}" in message, message


def test_an_unreadable_issuer_json_is_a_permission_to_fix(
    issuer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _denied(monkeypatch, "issuer.json")
    with pytest.raises(IssuerError) as caught:
        Issuer(issuer_dir)
    assert f"let the user {this_user()!r} read and write" in str(caught.value)
    assert "restore it from backup" not in str(caught.value)


def test_a_read_only_registry_is_a_permission_to_fix(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        raw = sqlite3.OperationalError("attempt to write a readonly database")
        message = str(registry._unreachable(OperationalError("INSERT", {}, raw)))
    finally:
        registry.close()
    assert f"let the user {this_user()!r} read and write it and its directory" in message
    assert "CITYCARD_DATABASE_URL" not in message
