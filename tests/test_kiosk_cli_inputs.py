"""`citycard-kiosk`: inputs a person can get wrong are refused with one sentence (exit 2), before
anything is allocated, and a damaged cache in the data directory is rebuilt, not fatal.

The demos here use the `print` card profile (no chip), so they need no pcscd.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kiosk.cli import main
from kiosk.demo_application import SAMPLES_DIR

KIOSK = Path(sys.executable).with_name("citycard-kiosk")


def _demo(tmp_path: Path, *extra: str) -> Result:
    args = ["demo", "--program", "zurich", "--profile", "print"]
    args += ["--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"), *extra]
    return CliRunner().invoke(main, args)


def _refused(result: Result, *expected: str) -> str:
    """The one-line error of a refused command (exit 2, no traceback)."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1, result.output
    for text in expected:
        assert text in error[0], error[0]
    return error[0]


def _resident(tmp_path: Path, **changes: Any) -> Path:
    """Zurich's fictional sample resident, with `changes`."""
    obj = json.loads((SAMPLES_DIR / "zurich.json").read_text("utf-8"))
    obj.update(photo=str(SAMPLES_DIR / obj["photo"]), signature=str(SAMPLES_DIR / obj["signature"]))
    obj.update(changes)
    path = tmp_path / "resident.json"
    path.write_text(json.dumps(obj), "utf-8")
    return path


# -- 1. --api that is not a URL -----------------------------------------------------------------


@pytest.mark.parametrize("api", ["notaurl", "ftp://cards.example.city", "http://[::1", ""])
def test_an_api_that_is_not_a_url_is_a_sentence(tmp_path: Path, api: str) -> None:
    result = _demo(tmp_path, "--api", api)
    _refused(result, "--api must be the issuer's URL, e.g. https://")
    assert not (tmp_path / "data").exists()


def test_fetching_from_a_non_url_is_a_typed_error(tmp_path: Path) -> None:
    from kiosk.http_allocator import IssuerUrlError, fetch_published

    with pytest.raises(IssuerUrlError, match="is not an http"):
        fetch_published("notaurl", tmp_path, [])


# -- 2. a malformed attendant PIN hash ------------------------------------------------------------


@pytest.mark.parametrize("from_env", [False, True])
def test_a_bad_attendant_pin_hash_is_a_sentence(tmp_path: Path, from_env: bool) -> None:
    data = tmp_path / "data"
    args = ["serve", "--program", "zurich", "--data", str(data), "--simulate", "--port", "0"]
    env = {"CITYCARD_ATTENDANT_PIN_HASH": "garbage"} if from_env else {}
    if not from_env:
        args += ["--attendant-pin-hash", "garbage"]
    result = CliRunner().invoke(main, args, env=env)
    _refused(result, "The attendant PIN hash must look like pbkdf2-sha256$", "kiosk.web.attendant")
    assert not data.exists()  # refused before the kiosk made its data directory or devices


# -- 3. a damaged python-escpos capabilities cache ------------------------------------------------


def _run_demo(data: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`citycard-kiosk demo` in its own process: in this one escpos is imported already, and
    the cache is only read on its first import."""
    return subprocess.run(
        [str(KIOSK), "demo", "--program", "zurich", "--profile", "print",
         "--data", str(data), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.timeout(600)
def test_a_damaged_escpos_cache_is_rebuilt(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    first = _run_demo(data, out)
    assert first.returncode == 0, first.stderr
    (cache,) = (data / "kiosk" / "cache").glob("*.capabilities.pickle")
    good = cache.read_bytes()
    for damage in (b"\x80\x02}q\x00(X", bytes(range(35, 135))):  # torn, and not a pickle at all
        cache.write_bytes(damage)
        again = _run_demo(data, out)
        assert again.returncode == 0, again.stderr
        assert "Traceback" not in again.stderr and "UnpicklingError" not in again.stderr
        assert pickle.loads(cache.read_bytes()) == pickle.loads(good)  # rebuilt
    log = (data / "kiosk" / "logs" / "kiosk.log").read_text("utf-8")
    assert f"cache {cache} is damaged; rebuilding it" in log


def test_only_a_damaged_cache_is_dropped(tmp_path: Path) -> None:
    from kiosk.printing import _drop_damaged_cache

    cache = tmp_path / "3.x.capabilities.pickle"
    _drop_damaged_cache(cache)  # none yet: nothing to do
    database = {"profiles": {"default": {}}, "encodings": {}}
    cache.write_bytes(pickle.dumps(database, protocol=2))
    _drop_damaged_cache(cache)
    assert pickle.loads(cache.read_bytes()) == database  # a good cache is kept
    # A pickle that would call code when loaded is not one python-escpos wrote.
    cache.write_bytes(pickle.dumps(Path("x"), protocol=2))
    _drop_damaged_cache(cache)
    assert not cache.exists()


def test_a_cache_that_cannot_be_removed_says_which_file_to_delete(tmp_path: Path) -> None:
    from kiosk.printing import EscposCacheError, _drop_damaged_cache

    cache = tmp_path / "3.x.capabilities.pickle"
    (cache / "stuck").mkdir(parents=True)  # a directory in its place: unlink fails even for root
    sentence = rf"{re.escape(str(cache))} is damaged .* delete it and start the kiosk again"
    with pytest.raises(EscposCacheError, match=sentence):
        _drop_damaged_cache(cache)


# -- 4. entitlements and languages the programme does not define ----------------------------------


def test_an_unknown_entitlement_is_refused_with_the_offered_ones(tmp_path: Path) -> None:
    resident = _resident(tmp_path, entitlements=["pool", "unicorn"])
    result = _demo(tmp_path, "--resident", str(resident))
    error = _refused(result, "'entitlements' has 'unicorn'", "municipal-services", "theatre")
    assert "'pool'" not in error  # only the unknown one is named as unknown
    assert not (tmp_path / "data").exists()  # before any number is allocated


def test_an_unknown_language_is_refused_with_the_offered_ones(tmp_path: Path) -> None:
    resident = _resident(tmp_path, languages=["de", "xx"])
    result = _demo(tmp_path, "--resident", str(resident))
    _refused(result, "'languages' has 'xx'", "de, en, fr", "zh-Hans")
    assert not (tmp_path / "data").exists()


def test_an_offered_language_by_its_script_tag_is_kept(tmp_path: Path) -> None:
    """Zurich offers `zh-Hans`: the card says `zh` (the kiosk's Simplified Chinese), not `en`."""
    resident = _resident(tmp_path, languages=["zh-Hans"], entitlements=["pool"])
    result = _demo(tmp_path, "--resident", str(resident))
    assert result.exit_code == 0, result.output
    verdict = json.loads((tmp_path / "out" / "verdict.json").read_text("utf-8"))
    assert verdict["claims"]["languages"] == ["zh"]
    assert verdict["claims"]["entitlements"] == ["pool"]


# -- 5. --replace without a document number -------------------------------------------------------


@pytest.mark.parametrize("number", ["", "   "])
def test_replace_needs_a_document_number(tmp_path: Path, number: str) -> None:
    result = _demo(tmp_path, "--replace", number)
    _refused(result, "--replace needs the document number of the card to replace.")
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()
