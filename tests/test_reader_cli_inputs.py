"""`citycard-reader verify` and what it is given: trust and cache directories, --root-key files,
credential files. Every failure is one "Error: ..." sentence that names the path the person
gave and says what to do, with exit status 2; never a traceback, a temporary file's name, raw
errno text or a hang."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.issuer import cli as api_cli
from tests.test_cli import error_sentence, reader, run

ROOT = Path(__file__).resolve().parent.parent
RESIDENT: dict[str, Any] = {  # obviously fictional
    "family_name": "Fiktiv-Beispielperson",
    "given_name": "Quilla",
    "birth_date": "1984-02-29",
    "sex": "X",
    "entitlements": ["library"],
    "languages": ["en"],
}
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class City:
    public: Path  # the issuer's published files
    qr: str  # a valid printed QR code's text


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    base = tmp_path_factory.mktemp("city")
    issuer = base / "issuer"
    assert run(api_cli.main, ["init", "--dir", issuer]).exit_code == 0
    resident = base / "resident.json"
    resident.write_text(json.dumps(RESIDENT), encoding="utf-8")
    out = run(api_cli.main, ["issue", "--dir", issuer, "--resident", resident,
                             "--out", base / "card.cose", "--qr"])  # fmt: skip
    assert out.exit_code == 0, out.output
    (qr,) = [ln for ln in out.stdout.splitlines() if ln.startswith("CC1:")]
    return City(issuer / "public", qr)


@pytest.fixture
def trust(city: City, tmp_path: Path) -> Path:
    """A reader's own copy of the city's published files."""
    return Path(shutil.copytree(city.public, tmp_path / "trust"))


@pytest.fixture
def qr_file(city: City, tmp_path: Path) -> Path:
    path = tmp_path / "qr.txt"
    path.write_text(city.qr + "\n", encoding="ascii")
    return path


# -- defect 1: a cache that cannot be written names the user's path, not a temporary file -----


def test_cache_that_cannot_be_written_names_the_cache_file(
    trust: Path, qr_file: Path, tmp_path: Path
) -> None:
    """Was: `Error: [Errno 21] Is a directory: '…/.trust-list.cose.x1y2' -> '…'`."""
    cache = tmp_path / "cache"
    (cache / "trust-list.cose").mkdir(parents=True)  # something in the way of the file
    line = error_sentence(reader("verify", "--trust", trust, "--cache", cache, qr_file))
    assert line.startswith(f"Error: Cannot write {cache / 'trust-list.cose'} (")
    assert "give --cache a directory you can write to." in line
    assert ".trust-list.cose." not in line  # no temporary file
    assert [p.name for p in cache.iterdir()] == ["trust-list.cose"]  # and none left behind


def test_cache_without_permission_names_the_cache_file(
    trust: Path, qr_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: `Error: [Errno 13] Permission denied: '…/.trust-list.cose.bu9_77yg'`. (Simulated:
    chmod does not stop root, who runs these tests in CI.)"""
    cache = tmp_path / "cache"

    def denied(dir: str, prefix: str) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", os.path.join(dir, prefix + "bu9_77yg"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    line = error_sentence(reader("verify", "--trust", trust, "--cache", cache, qr_file))
    assert line == (
        f"Error: Cannot write {cache / 'trust-list.cose'} (Permission denied); "
        "give --cache a directory you can write to."
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_cache_in_a_directory_that_cannot_exist(trust: Path, qr_file: Path) -> None:
    """Was: `Error: [Errno 2] No such file or directory: '/proc/nope'`."""
    line = error_sentence(reader("verify", "--trust", trust, "--cache", "/proc/nope/x", qr_file))
    assert line == (
        "Error: Cannot write /proc/nope/x/trust-list.cose (No such file or directory); "
        "give --cache a directory you can write to."
    )


# -- defect 2: a damaged cached copy is replaced; a damaged published list says what to do ----


def test_damaged_cached_trust_list_is_set_aside_and_replaced(
    trust: Path, qr_file: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    garbage = b"\x00garbage, not a trust list\xff" * 3
    (cache / "trust-list.cose").write_bytes(garbage)
    result = reader("verify", "--trust", trust, "--cache", cache, qr_file)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("VALID: ")
    (warning,) = [ln for ln in result.stderr.splitlines() if ln.startswith("Warning: ")]
    assert str(cache / "trust-list.cose") in warning and "set aside" in warning
    # the good list took its place; the damaged copy is kept for whoever looks into it
    assert (cache / "trust-list.cose").read_bytes() == (trust / "trust-list.cose").read_bytes()
    assert (cache / "trust-list.cose.refused").read_bytes() == garbage
    # and the reader is not stuck: the next check is quiet
    again = reader("verify", "--trust", trust, "--cache", cache, qr_file)
    assert (again.exit_code, again.stderr) == (0, "")


def test_damaged_cached_trust_list_that_cannot_be_set_aside_says_to_delete_it(
    trust: Path, qr_file: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    (cache / "trust-list.cose.refused" / "evidence").mkdir(parents=True)  # blocks the rename
    (cache / "trust-list.cose").write_bytes(b"garbage")
    line = error_sentence(reader("verify", "--trust", trust, "--cache", cache, qr_file))
    assert line.startswith(f"Error: The cached trust list {cache / 'trust-list.cose'} cannot be used")
    assert line.endswith("delete it, then try again.")


def test_damaged_trust_list_in_the_trust_dir_says_to_copy_the_files_again(
    trust: Path, qr_file: Path
) -> None:
    """Was: `Error: The trust list cannot be read: The trust list is not a tagged COSE_Sign1.`"""
    (trust / "trust-list.cose").write_bytes(b"garbage")
    line = error_sentence(reader("verify", "--trust", trust, qr_file))
    assert line == (
        f"Error: The trust list {trust / 'trust-list.cose'} cannot be read (the trust list is "
        f"not a tagged COSE_Sign1); copy the city's published files into {trust} again."
    )


def test_a_wrong_root_key_does_not_cost_the_reader_its_cache(
    trust: Path, qr_file: Path, tmp_path: Path
) -> None:
    """A cached list that does not verify is replaced only by one that does: a technician's
    wrong --root-key must not drop the cache (and with it the refusal of older lists)."""
    cache = tmp_path / "cache"
    assert reader("verify", "--trust", trust, "--cache", cache, qr_file).exit_code == 0
    held = (cache / "trust-list.cose").read_bytes()
    other = tmp_path / "other-city"
    assert run(api_cli.main, ["init", "--dir", other, "--issuer", "other-city"]).exit_code == 0
    result = reader("verify", "--trust", trust, "--cache", cache,
                    "--root-key", other / "public" / "root-key.pem", qr_file)  # fmt: skip
    assert "not signed by the pinned city root key" in error_sentence(result)
    assert (cache / "trust-list.cose").read_bytes() == held
    assert not (cache / "trust-list.cose.refused").exists()


# -- defect 3: neither a file nor --qr ---------------------------------------------------------


def test_neither_and_both_inputs_get_their_own_sentence(
    trust: Path, qr_file: Path, city: City
) -> None:
    neither = reader("verify", "--trust", trust)
    assert neither.exit_code == 2
    assert "Error: Give a credential file or --qr TEXT to verify." in neither.stderr
    assert "not both" not in neither.stderr
    both = reader("verify", "--trust", trust, "--qr", city.qr, qr_file)
    assert both.exit_code == 2
    assert "Error: Give either a credential file or --qr TEXT, not both." in both.stderr


# -- defect 4: a trust directory that does not exist ------------------------------------------


def test_missing_trust_directory_is_named_as_missing(
    tmp_path: Path, qr_file: Path, trust: Path
) -> None:
    """Was: `There is no city root key at nonexistent_dir/root-key.pem; ...`."""
    missing = tmp_path / "nonexistent_dir"
    expected = (
        f"Error: The trust directory {missing} does not exist; check the path, or copy the "
        "city's published files there."
    )
    assert error_sentence(reader("verify", "--trust", missing, qr_file)) == expected
    # the same when the root key is pinned on the command line
    pinned = ["--root-key", trust / "root-key.pem"]
    assert error_sentence(reader("verify", "--trust", missing, *pinned, qr_file)) == expected


# -- defect 5: --root-key is read bounded, from a regular file, and named in errors -----------


def _reader_process(*args: object) -> subprocess.CompletedProcess[str]:
    """The real command in its own process: a hang fails the test instead of stalling it."""
    return subprocess.run(
        [sys.executable, "-m", "api.terminal.cli", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.skipif(not Path("/dev/urandom").exists(), reason="needs /dev/urandom")
def test_root_key_from_an_endless_device_is_refused_at_once(trust: Path, qr_file: Path) -> None:
    """Was: read /dev/urandom until memory ran out."""
    proc = _reader_process("verify", "--trust", trust, "--root-key", "/dev/urandom", qr_file)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "Error: The root key file /dev/urandom is not a regular file; give the city's "
        "root-key.pem.\n"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_root_key_from_a_fifo_is_refused_without_waiting(
    trust: Path, qr_file: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    proc = _reader_process("verify", "--trust", trust, "--root-key", fifo, qr_file)
    assert proc.returncode == 2, proc.stderr
    assert f"The root key file {fifo} is not a regular file" in proc.stderr


def test_oversized_or_bad_root_key_file_is_named(
    trust: Path, qr_file: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.pem"
    with big.open("wb") as fh:  # sparse: takes no disk space
        fh.truncate(2 * 1024**3)
    line = error_sentence(reader("verify", "--trust", trust, "--root-key", big, qr_file))
    assert line == f"Error: The root key file {big} is larger than 64 KiB; give the city's root-key.pem."
    # Was: "The public key file is not a PEM public key; export it again." (which file?)
    line = error_sentence(reader("verify", "--trust", trust, "--root-key", qr_file, qr_file))
    assert line == (
        f"Error: The root key file {qr_file} is not a P-256 PEM public key; give the city's "
        "root-key.pem."
    )
    missing = tmp_path / "nope.pem"
    line = error_sentence(reader("verify", "--trust", trust, "--root-key", missing, qr_file))
    assert line == f"Error: There is no root key file {missing}; check the path given to --root-key."


def test_root_key_file_of_normal_size_still_works(trust: Path, qr_file: Path) -> None:
    result = reader("verify", "--trust", trust, "--root-key", trust / "root-key.pem", qr_file)
    assert (result.exit_code, result.stdout.split(":")[0]) == (0, "VALID")


# -- defect 9: a qr.txt saved with a UTF-8 byte order mark ------------------------------------


def test_qr_file_with_a_byte_order_mark_is_read_as_its_text(
    trust: Path, city: City, tmp_path: Path
) -> None:
    for ending in (b"", b"\n", b"\r\n"):
        path = tmp_path / "qr-bom.txt"
        path.write_bytes(BOM + city.qr.encode("ascii") + ending)
        result = reader("verify", "--trust", trust, path)
        assert (result.exit_code, result.stdout.split(":")[0]) == (0, "VALID"), ending


def test_byte_order_mark_rule_stays_narrow(trust: Path, city: City, tmp_path: Path) -> None:
    """One BOM, at the start, in a file: anything else is still not the code's text."""
    for name, data in (
        ("two-boms.txt", BOM + BOM + city.qr.encode("ascii")),
        ("bom-and-two-endings.txt", BOM + city.qr.encode("ascii") + b"\n\n"),
        ("bom-inside.txt", city.qr[:8].encode("ascii") + BOM + city.qr[8:].encode("ascii")),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = reader("verify", "--trust", trust, path)
        assert (result.exit_code, result.stdout.split(":")[0]) == (1, "MALFORMED"), name
    # --qr takes a scanner's text as typed: a BOM there is not dropped
    result = reader("verify", "--trust", trust, "--qr", "\ufeff" + city.qr)
    assert (result.exit_code, result.stdout.split(":")[0]) == (1, "MALFORMED")
