"""`citycard-api` and `citycard-reader` through click's CliRunner: outputs, exit codes, errors.

Exit codes: 0 done (or VALID), 1 a verdict other than VALID, 2 the command could not do its job
(a usage error or a one-line "Error: ..." sentence, never a traceback).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from api.issuer import cli
from api.issuer.registry import Registry
from api.issuer.service import Issuer
from api.terminal import cli as reader_cli
from cardio.credential import Variant
from cardio.keys import fingerprint, kid_for, load_public_pem
from cardio.published import load_verifier
from cardio.trustlist import KeyState
from cardio.type4 import ndef_message

# An obviously fictional resident.
RESIDENT: dict[str, Any] = {
    "family_name": "Fiktiv-Beispielperson",
    "given_name": "Quilla",
    "birth_date": "1984-02-29",
    "sex": "X",
    "entitlements": ["library", "pool"],
    "languages": ["de", "en"],
}
HEX64 = re.compile(r"^[0-9A-F]{64}$")
KID = re.compile(r"^[0-9a-f]{16}$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
STATUS_LIST_SIZE = 1 << 17


def run(
    command: click.Command, args: Sequence[object], env: Mapping[str, str | None] | None = None
) -> Result:
    """Invoke `command`; an exception other than a deliberate exit fails the test loudly."""
    result = CliRunner().invoke(command, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"{command.name} {args} raised instead of printing a sentence:\n{result.output}"
        ) from result.exception
    assert "Traceback" not in result.output
    return result


def api(*args: object) -> Result:
    return run(cli.main, args)


def reader(*args: object) -> Result:
    return run(reader_cli.main, args)


def one_error_line(result: Result) -> str:
    """The single 'Error: ...' line a failed command prints on stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


def error_sentence(result: Result) -> str:
    """The one 'Error: ...' line of a command that could not do its job (exit 2), whatever
    warnings stand beside it: a sentence, without raw errno text."""
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].endswith("."), lines[0]
    assert "Errno" not in lines[0], lines[0]
    return lines[0]


@dataclass(frozen=True)
class Card:
    number: str
    index: int
    qr: str | None
    result: Result


@pytest.fixture
def issuer_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "issuer"
    result = api("init", "--dir", directory)
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture
def resident_file(tmp_path: Path) -> Path:
    path = tmp_path / "resident.json"
    path.write_text(json.dumps(RESIDENT), encoding="utf-8")
    return path


def issue(issuer_dir: Path, resident: Path, out: Path, *extra: object) -> Card:
    result = api("issue", "--dir", issuer_dir, "--resident", resident, "--out", out, *extra)
    assert result.exit_code == 0, result.output
    number = re.search(r"^Document number: (DEV\d{8})$", result.stdout, re.M)
    index = re.search(r"^Status index: (\d+) \(list 1\)$", result.stdout, re.M)
    assert number and index, result.stdout
    qr = [line for line in result.stdout.splitlines() if line.startswith("CC1:")]
    assert len(qr) <= 1
    return Card(number[1], int(index[1]), qr[0] if qr else None, result)


def issue_qr(issuer_dir: Path, resident: Path) -> Card:
    card = issue(issuer_dir, resident, resident.parent / "card.cose", "--qr")
    assert card.qr is not None
    return card


def cards_in_registry(issuer_dir: Path) -> dict[str, Any]:
    registry = Registry.for_directory(issuer_dir)
    try:
        return registry.cards()
    finally:
        registry.close()


def verify_json(trust: Path, qr: str, *extra: object) -> tuple[int, dict[str, Any]]:
    result = reader("verify", "--trust", trust, "--qr", qr, "--json", *extra)
    return result.exit_code, json.loads(result.stdout)


# -- init ---------------------------------------------------------------------------------------


def test_init_creates_the_issuer_and_its_published_files(tmp_path: Path) -> None:
    directory = tmp_path / "issuer"
    result = api("init", "--dir", directory)
    assert result.exit_code == 0, result.output
    for name in (
        "issuer.json",
        "public/root-key.pem",
        "public/trust-list.cose",
        "public/status/1.cwt",
    ):
        assert (directory / name).is_file(), name
    config = json.loads((directory / "issuer.json").read_text("utf-8"))
    assert config["issuer"] == "demo-city"
    assert config["trust_list_version"] == 1

    match = re.search(r"^Root key fingerprint \(SHA-256\): (\S+)$", result.stdout, re.M)
    assert match, result.stdout
    assert HEX64.match(match[1])
    root = load_public_pem((directory / "public" / "root-key.pem").read_bytes())
    assert match[1] == fingerprint(root)


def test_init_twice_fails_with_one_line(issuer_dir: Path) -> None:
    before = (issuer_dir / "issuer.json").read_bytes()
    result = api("init", "--dir", issuer_dir)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "already holds an issuer" in line
    assert result.stdout == ""
    assert (issuer_dir / "issuer.json").read_bytes() == before


def test_init_pkcs11_needs_both_options(tmp_path: Path) -> None:
    result = api("init", "--dir", tmp_path / "issuer", "--pkcs11-token", "city")
    assert result.exit_code == 2
    assert "Give both --pkcs11-module and --pkcs11-token." in result.stderr
    assert not (tmp_path / "issuer" / "issuer.json").exists()


def test_commands_on_a_directory_that_is_not_an_issuer(tmp_path: Path, resident_file: Path) -> None:
    result = api("issue", "--dir", tmp_path, "--resident", resident_file, "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert f"'citycard-api init --dir {tmp_path}'" in one_error_line(result)


# -- trust show ---------------------------------------------------------------------------------


def test_trust_show_json_is_the_same_for_issuer_and_published_dir(issuer_dir: Path) -> None:
    from_issuer = api("trust", "show", "--dir", issuer_dir, "--json")
    from_public = api("trust", "show", "--dir", issuer_dir / "public", "--json")
    assert from_issuer.exit_code == from_public.exit_code == 0, from_issuer.output
    assert from_issuer.stdout == from_public.stdout
    data = json.loads(from_issuer.stdout)

    assert data["issuer"] == "demo-city"
    assert data["version"] == 1
    assert data["status_lists"] == ["https://cc.example/status/1"]
    assert ISO_UTC.match(data["issued_at"])
    root = load_public_pem((issuer_dir / "public" / "root-key.pem").read_bytes())
    assert data["root"]["kid"] == kid_for(root).hex()
    assert data["root"]["fingerprint"] == fingerprint(root)

    assert [k["label"] for k in data["keys"]] == ["kiosk-1", "status-1"]
    assert [k["purpose"] for k in data["keys"]] == ["issue", "status"]
    issuer = Issuer(issuer_dir)
    for key in data["keys"]:
        assert KID.match(key["kid"]), key
        assert key["public_key"].startswith("-----BEGIN PUBLIC KEY-----\n")
        assert key["public_key"].rstrip().endswith("-----END PUBLIC KEY-----")
        public = load_public_pem(key["public_key"].encode("ascii"))
        assert key["kid"] == kid_for(public).hex()
        assert key["kid"] == issuer.keystore.signer(key["label"]).kid.hex()
        assert ISO_UTC.match(key["not_before"]) and ISO_UTC.match(key["not_after"])
        assert key["not_before"] < key["not_after"]
        assert key["state"] == "active"
    assert len({k["kid"] for k in data["keys"]} | {data["root"]["kid"]}) == 3


def test_trust_show_text(issuer_dir: Path) -> None:
    data = json.loads(api("trust", "show", "--dir", issuer_dir, "--json").stdout)
    result = api("trust", "show", "--dir", issuer_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Trust list of demo-city, version 1, signed {data['issued_at']}"
    assert lines[1] == f"Root key {data['root']['kid']}  fingerprint {data['root']['fingerprint']}"
    for key, line in zip(data["keys"], lines[2:4], strict=True):
        assert line.split() == [
            key["kid"],
            key["label"],
            key["purpose"],
            "active",
            key["not_before"],
            "..",
            key["not_after"],
        ]
    assert lines[4:] == ["  status list https://cc.example/status/1"]


def test_trust_show_without_published_files(tmp_path: Path) -> None:
    result = api("trust", "show", "--dir", tmp_path, "--json")
    assert result.exit_code == 2
    assert "There is no city root key" in one_error_line(result)


# -- issue --------------------------------------------------------------------------------------


def test_issue_prints_number_index_and_qr(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "card.cose"
    card = issue(issuer_dir, resident_file, out, "--qr")
    assert card.number == "DEV00000018"  # first number, Luhn check digit 8
    assert 0 <= card.index < STATUS_LIST_SIZE
    assert f"Wrote print credential, {out.stat().st_size} bytes, to {out}" in card.result.stdout
    assert card.qr is not None and len(card.qr) > 100
    assert cards_in_registry(issuer_dir)[card.number]["idx"] == card.index

    code, data = verify_json(issuer_dir / "public", card.qr)
    assert code == 0 and data["verdict"] == "VALID"
    assert data["claims"]["document_number"] == card.number
    assert data["claims"]["family_name"] == RESIDENT["family_name"]
    assert data["claims"]["birth_date"] == RESIDENT["birth_date"]
    assert data["claims"]["entitlements"] == ["library", "pool"]

    # The credential file verifies too, and the next card gets the next number.
    result = reader("verify", "--trust", issuer_dir / "public", out)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "VALID: This card is valid."
    assert f"  document number: {card.number}" in result.stdout.splitlines()
    second = issue(issuer_dir, resident_file, tmp_path / "second.cose")
    assert second.number == "DEV00000026"
    assert second.qr is None


def test_issue_chip_with_print_out(issuer_dir: Path, resident_file: Path, tmp_path: Path) -> None:
    chip, printed = tmp_path / "chip.cose", tmp_path / "print.cose"
    card = issue(
        issuer_dir,
        resident_file,
        chip,
        "--variant",
        "chip",
        "--chip-uid",
        "04A1B2C3D4E5F6",
        "--print-out",
        printed,
    )
    assert f"Wrote chip credential, {chip.stat().st_size} bytes, to {chip}" in card.result.stdout
    assert chip.read_bytes() != printed.read_bytes()

    verifier, problems = load_verifier(issuer_dir)
    assert problems == []
    res, cred = verifier.check(chip.read_bytes())
    assert res.valid and cred is not None
    assert cred.variant is Variant.CHIP
    assert cred.binding is not None and cred.binding.uid == bytes.fromhex("04A1B2C3D4E5F6")
    assert cred.document_number == card.number
    res, cred = verifier.check(printed.read_bytes())
    assert res.valid and cred is not None
    assert cred.variant is Variant.PRINT and cred.binding is None
    assert cred.document_number == card.number


def test_issue_chip_without_uid_is_a_usage_error(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "chip.cose"
    result = api(
        "issue", "--dir", issuer_dir, "--resident", resident_file, "--out", out, "--variant", "chip"
    )
    assert result.exit_code == 2
    assert "A chip credential needs --chip-uid" in result.stderr
    assert not out.exists()
    assert cards_in_registry(issuer_dir) == {}


@pytest.mark.parametrize(
    ("uid", "message"),
    [
        ("zz-not-hex", "--chip-uid must be hexadecimal, e.g. 04A1B2C3D4E5F6."),
        ("0A", "A chip UID is 4 to 10 bytes."),
    ],
)
def test_issue_chip_with_bad_uid(
    issuer_dir: Path, resident_file: Path, tmp_path: Path, uid: str, message: str
) -> None:
    out = tmp_path / "chip.cose"
    result = api(
        "issue",
        "--dir",
        issuer_dir,
        "--resident",
        resident_file,
        "--out",
        out,
        "--variant",
        "chip",
        "--chip-uid",
        uid,
    )
    assert result.exit_code == 2
    assert f"Error: {message}" in result.stderr
    assert not out.exists()
    assert cards_in_registry(issuer_dir) == {}


# -- RESIDENT.json errors -----------------------------------------------------------------------


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in RESIDENT.items() if k != key}


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (_without("family_name"), ["'family_name' is missing."]),
        ({**RESIDENT, "birth_date": "1990-13-45"}, ["'birth_date'", "YYYY-MM-DD"]),
        ({**RESIDENT, "sex": "Q"}, ["'sex'", "F, M or X"]),
        ({**RESIDENT, "nationality": "fictional"}, ["nationality", "never recorded"]),
        ({**RESIDENT, "given_name": ""}, ["'given_name'", "empty"]),
        ({**RESIDENT, "entitlements": "pool"}, ["'entitlements'", "list"]),
        ({**RESIDENT, "photo": 5}, ["'photo'", "text"]),
        ('{"family_name": "Fiktiv", ', ["not valid UTF-8 JSON"]),
        (b"\xff\xfe\x00", ["not valid UTF-8 JSON"]),
        ('["Fiktiv"]', ["must hold a JSON object"]),
    ],
    ids=[
        "missing-family-name",
        "impossible-birth-date",
        "bad-sex",
        "nationality",
        "empty-given-name",
        "entitlements-not-a-list",
        "photo-not-text",
        "not-json",
        "not-utf8",
        "not-an-object",
    ],
)
def test_resident_file_errors(
    issuer_dir: Path, tmp_path: Path, content: object, fragments: list[str]
) -> None:
    path = tmp_path / "resident.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    out = tmp_path / "card.cose"
    result = api("issue", "--dir", issuer_dir, "--resident", path, "--out", out)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line
    assert not out.exists()
    assert cards_in_registry(issuer_dir) == {}


def test_resident_file_missing(issuer_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nobody.json"
    result = api("issue", "--dir", issuer_dir, "--resident", missing, "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: {missing} does not exist; give the path of a resident JSON file."
    )


# -- status and publish -------------------------------------------------------------------------


def test_revocation_reaches_the_reader_after_publish(issuer_dir: Path, resident_file: Path) -> None:
    card = issue_qr(issuer_dir, resident_file)
    assert card.qr is not None
    public = issuer_dir / "public"

    result = reader("verify", "--trust", public, "--qr", card.qr)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "VALID: This card is valid."
    code, data = verify_json(public, card.qr)
    assert code == 0
    assert data["verdict"] == "VALID" and data["valid"] is True
    assert data["message"] == "This card is valid."
    assert data["claims"]["given_name"] == RESIDENT["given_name"]
    assert data["problems"] == []

    result = api("status", "set", "--dir", issuer_dir, card.index, "revoked")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Card {card.number} is now revoked;")
    assert "citycard-api publish" in result.stdout
    # Not published yet: readers still see the old status list.
    assert verify_json(public, card.qr)[1]["verdict"] == "VALID"

    result = api("publish", "--dir", issuer_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Published trust list version 1 and 1 status list(s) to ")

    result = reader("verify", "--trust", public, "--qr", card.qr)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["REVOKED: This card has been revoked; do not accept it."]
    code, data = verify_json(public, card.qr)
    assert code == 1
    assert data["verdict"] == "REVOKED" and data["valid"] is False
    assert data["claims"] is None
    # An issuer directory works as --trust too.
    assert verify_json(issuer_dir, card.qr)[1]["verdict"] == "REVOKED"

    for value in ("valid", "suspended"):
        result = api("status", "set", "--dir", issuer_dir, card.index, value)
        assert result.exit_code == 2
        assert "cannot be reinstated" in one_error_line(result)
    assert cards_in_registry(issuer_dir)[card.number]["status"] == "revoked"


def test_status_set_unknown_index(issuer_dir: Path, resident_file: Path) -> None:
    card = issue_qr(issuer_dir, resident_file)
    other = (card.index + 1) % STATUS_LIST_SIZE
    result = api("status", "set", "--dir", issuer_dir, other, "revoked")
    assert result.exit_code == 2
    assert f"No card uses index {other} of status list 1" in one_error_line(result)
    # digits SQLite cannot hold (an OverflowError traceback), and "²", which isdigit takes
    for odd in ("9" * 23, "\u00b2"):
        result = api("status", "set", "--dir", issuer_dir, odd, "revoked")
        assert result.exit_code == 2 and "There is no card" in one_error_line(result), result.output
    result = api("status", "set", "--dir", issuer_dir, card.index, "lost")
    assert result.exit_code == 2  # not a status at all: click refuses it
    assert cards_in_registry(issuer_dir)[card.number]["status"] == "valid"


def test_suspended_card_can_be_made_valid_again(issuer_dir: Path, resident_file: Path) -> None:
    card = issue_qr(issuer_dir, resident_file)
    assert card.qr is not None
    public = issuer_dir / "public"

    assert api("status", "set", "--dir", issuer_dir, card.index, "suspended").exit_code == 0
    assert api("publish", "--dir", issuer_dir).exit_code == 0
    code, data = verify_json(public, card.qr)
    assert (code, data["verdict"]) == (1, "SUSPENDED")

    result = api("status", "set", "--dir", issuer_dir, card.index, "valid")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Card {card.number} is now valid;")
    assert api("publish", "--dir", issuer_dir).exit_code == 0
    code, data = verify_json(public, card.qr)
    assert (code, data["verdict"]) == (0, "VALID")


# -- citycard-reader verify errors --------------------------------------------------------------


def test_verify_garbage_file_is_malformed(issuer_dir: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xd2\x84 this is not a credential \x00\xff" * 10)
    result = reader("verify", "--trust", issuer_dir / "public", garbage)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("MALFORMED: ")
    result = reader("verify", "--trust", issuer_dir / "public", "--json", garbage)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "MALFORMED" and data["valid"] is False and data["claims"] is None


def test_verify_qr_that_is_not_a_citycard(issuer_dir: Path) -> None:
    code, data = verify_json(issuer_dir / "public", "https://example.org/not-a-card")
    assert (code, data["verdict"]) == (1, "MALFORMED")


def test_verify_qr_removes_exactly_one_scanner_line_ending(
    issuer_dir: Path, resident_file: Path
) -> None:
    """Security review, finding 2: `--qr` takes a scanner's text with its one trailing CR, LF
    or CR LF; any other whitespace (a second newline, a tab, NBSP, U+3000) is MALFORMED."""
    card = issue_qr(issuer_dir, resident_file)
    assert card.qr is not None
    public = issuer_dir / "public"
    for ending in ("\n", "\r\n", "\r"):
        code, out = verify_json(public, card.qr + ending)
        assert (code, out["verdict"]) == (0, "VALID"), repr(ending)
    for text in (
        card.qr + "\n\n",
        card.qr + "\t",
        card.qr + "\u00a0",
        card.qr + "\u3000",
        card.qr + " \n",
        "CC1:\n" + card.qr[4:],
    ):
        code, out = verify_json(public, text)
        assert (code, out["verdict"]) == (1, "MALFORMED"), repr(text)


CHIP_NOT_CHECKED = "the chip binding was not checked"


def test_verify_file_with_a_uid_bound_chip_credential_says_the_binding_was_not_checked(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    """Security review, finding 3: a chip credential given as a file gets the verdict of its
    signature and claims, and the result says plainly that its chip was not checked; the kiosk
    demo's chip.ndef (an NDEF message around it) is read the same way."""
    chip, printed = tmp_path / "chip.cose", tmp_path / "print.cose"
    issue(issuer_dir, resident_file, chip, "--variant", "chip", "--chip-uid", "04A1B2C3D4E5F6",
          "--print-out", printed)  # fmt: skip
    public = issuer_dir / "public"
    ndef_file = tmp_path / "chip.ndef"
    ndef_file.write_bytes(ndef_message(chip.read_bytes()))
    answers = []
    for path in (chip, ndef_file):
        result = reader("verify", "--trust", public, "--json", path)
        out = json.loads(result.stdout)
        assert (result.exit_code, out["verdict"]) == (0, "VALID"), path.name
        assert any(CHIP_NOT_CHECKED in w for w in out["warnings"]), out["warnings"]
        assert out["claims"]["variant"] == "chip"
        answers.append(out)
        text = reader("verify", "--trust", public, path)
        assert text.stdout.startswith("VALID: ")
        assert CHIP_NOT_CHECKED in text.stdout and "read the card itself" in text.stdout
    assert answers[0] == answers[1]
    # the print credential needs no such warning
    out = json.loads(reader("verify", "--trust", public, "--json", printed).stdout)
    assert out["verdict"] == "VALID" and out["warnings"] == []
    # an NDEF message without a citycard record, or a broken one, is not a card
    for name, data in (
        ("other.ndef", bytes.fromhex("d1010b55046578616d706c652e6f7267")),  # a URI record
        ("cut.ndef", ndef_message(chip.read_bytes())[:40]),
    ):
        (tmp_path / name).write_bytes(data)
        result = reader("verify", "--trust", public, "--json", tmp_path / name)
        assert (result.exit_code, json.loads(result.stdout)["verdict"]) == (1, "MALFORMED")


def test_verify_needs_exactly_one_input(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    card = issue_qr(issuer_dir, resident_file)
    public = issuer_dir / "public"
    both = reader("verify", "--trust", public, "--qr", card.qr, tmp_path / "card.cose")
    neither = reader("verify", "--trust", public)
    for result, sentence in (
        (both, "Give either a credential file or --qr TEXT, not both."),
        (neither, "Give a credential file or --qr TEXT to verify."),
    ):
        assert result.exit_code == 2
        assert sentence in result.stderr
        assert result.stdout == ""


def test_verify_without_a_trust_list_says_what_to_run(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    card = issue_qr(issuer_dir, resident_file)
    trust = tmp_path / "reader-files"
    shutil.copytree(issuer_dir / "public", trust)
    (trust / "trust-list.cose").unlink()
    result = reader("verify", "--trust", trust, "--qr", card.qr)
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: There is no trust list at {trust / 'trust-list.cose'}; "
        "run 'citycard-api publish' first."
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = reader("verify", "--trust", empty, "--qr", card.qr)
    assert result.exit_code == 2
    assert "run 'citycard-api publish'" in one_error_line(result)


def test_verify_with_another_issuers_root_key(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    card = issue_qr(issuer_dir, resident_file)
    other = tmp_path / "other-city"
    assert api("init", "--dir", other, "--issuer", "other-city").exit_code == 0
    result = reader(
        "verify",
        "--trust",
        issuer_dir / "public",
        "--root-key",
        other / "public" / "root-key.pem",
        "--qr",
        card.qr,
    )
    assert result.exit_code == 2
    assert "not signed by the pinned city root key" in one_error_line(result)
    # The right pin works.
    own = issuer_dir / "public" / "root-key.pem"
    code, data = verify_json(issuer_dir / "public", card.qr or "", "--root-key", own)
    assert (code, data["verdict"]) == (0, "VALID")


def test_verify_cache_refuses_an_older_trust_list(
    issuer_dir: Path, resident_file: Path, tmp_path: Path
) -> None:
    card = issue_qr(issuer_dir, resident_file)
    assert card.qr is not None
    public, cache = issuer_dir / "public", tmp_path / "reader-cache"
    version_1 = (public / "trust-list.cose").read_bytes()

    code, data = verify_json(public, card.qr, "--cache", cache)
    assert (code, data["verdict"], data["problems"]) == (0, "VALID", [])
    assert (cache / "trust-list.cose").read_bytes() == version_1

    # The kiosk that made the card is withdrawn: version 2 of the trust list says so.
    issuer = Issuer(issuer_dir)
    issuer.set_key_state("kiosk-1", KeyState.REVOKED)
    issuer.publish()
    issuer.close()
    assert json.loads(api("trust", "show", "--dir", public, "--json").stdout)["version"] == 2
    version_2 = (public / "trust-list.cose").read_bytes()
    assert version_2 != version_1

    code, data = verify_json(public, card.qr, "--cache", cache)
    assert (code, data["verdict"], data["problems"]) == (1, "KEY_REVOKED", [])
    assert (cache / "trust-list.cose").read_bytes() == version_2

    # Someone puts version 1 back: the reader refuses it, says so, and keeps version 2.
    (public / "trust-list.cose").write_bytes(version_1)
    assert verify_json(public, card.qr)[1]["verdict"] == "VALID"  # without a cache it is fooled
    code, data = verify_json(public, card.qr, "--cache", cache)
    assert (code, data["verdict"]) == (1, "KEY_REVOKED")
    assert len(data["problems"]) == 1
    assert "older than the one this reader has (version 2)" in data["problems"][0]
    assert "refused" in data["problems"][0]
    assert (cache / "trust-list.cose").read_bytes() == version_2

    result = reader("verify", "--trust", public, "--cache", cache, "--qr", card.qr)
    assert result.exit_code == 1
    assert result.stdout.startswith("KEY_REVOKED: ")
    assert "Warning: The trust list offered (version 1) is older" in result.stderr
