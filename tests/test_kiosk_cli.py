"""`citycard-kiosk`: the command group, the scripted demo and recovery (errors as sentences)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.demo import synthetic_portrait
from kiosk.demo_application import SAMPLES_DIR

SIGNATURE = str(SAMPLES_DIR / "signature.png")  # Zurich prints the holder's signature


def test_group_lists_demo_and_recover() -> None:
    out = CliRunner().invoke(main, ["--help"])
    assert out.exit_code == 0
    for command in ("demo", "recover"):
        assert re.search(rf"^\s+{command}\s", out.output, re.M), command


def test_demo_print_profile_needs_no_chip_writer(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["demo", "--program", "zurich", "--profile", "print", "--data", str(data), "--out",
         str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "A venue's reader says: VALID" in result.output
    assert {p.name for p in out.iterdir()} == {
        "card-front.png", "card-back.png", "qr.txt", "receipt.escpos", "trust", "verdict.json",
        "wallet",
    }  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))
    assert verdict["verdict"] == "VALID" and verdict["claims"]["variant"] == "print"
    assert sorted(p.name for p in (out / "trust").rglob("*") if p.is_file()) == [
        "1.cwt", "iaca.pem", "jwks.json", "root-key.pem", "trust-list.cose"
    ]  # fmt: skip
    assert {p.name for p in (data / "kiosk").iterdir()} >= {"journal.jsonl", "logs"}

    again = CliRunner().invoke(main, ["recover", "--data", str(data), "--simulate"])
    assert again.exit_code == 0 and "Nothing to recover" in again.output


def test_bad_resident_files_are_sentences(tmp_path: Path) -> None:
    bad = tmp_path / "resident.json"
    cases = [
        ({"family_name": "A", "given_name": "B", "birth_date": "1990-01-01",
          "nationality": "X"}, "unknown key(s) nationality"),
        ({"family_name": "A", "given_name": "B", "birth_date": "31.12.1990"},
         "'birth_date' must be a date"),
        ({"family_name": "A", "given_name": "B", "birth_date": "1990-01-01",
          "photo": "missing.jpg"}, "cannot be read"),
    ]  # fmt: skip
    for obj, expected in cases:
        bad.write_text(json.dumps(obj), "utf-8")
        result = CliRunner().invoke(
            main,
            ["demo", "--profile", "print", "--resident", str(bad), "--data",
             str(tmp_path / "d"), "--out", str(tmp_path / "o")],
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert expected in result.output and "Traceback" not in result.output


def test_an_unusable_photo_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"not a picture")
    (tmp_path / "resident.json").write_text(
        json.dumps({"family_name": "A", "given_name": "B", "birth_date": "1990-01-01",
                    "photo": "photo.jpg", "signature": SIGNATURE}), "utf-8")  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["demo", "--profile", "print", "--resident", str(tmp_path / "resident.json"),
         "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Error: This file is not a photo we can read" in result.output


def test_a_phone_sized_photo_in_the_resident_file_is_prepared(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(synthetic_portrait(1200, 1600, seed=3))
    (tmp_path / "resident.json").write_text(
        json.dumps({"family_name": "Example", "given_name": "Sam", "birth_date": "2001-05-06",
                    "photo": "photo.jpg", "signature": SIGNATURE}), "utf-8")  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["demo", "--profile", "print", "--resident", str(tmp_path / "resident.json"),
         "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_an_unknown_programme_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    result = CliRunner().invoke(
        main, ["demo", "--program", "atlantis", "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output
    assert "Unknown programme 'atlantis'" in result.output
    assert "zurich" in result.output and "utrecht-bbb" in result.output
    assert not data.exists() and not out.exists()  # nothing allocated, nothing written


def test_a_resident_the_rules_refuse_gets_no_card(tmp_path: Path) -> None:
    """An 11-year-old asking for Barcelona's card (from 18): one sentence, no number."""
    today = date.today()
    eleven = today.replace(year=today.year - 11, day=min(today.day, 28)).isoformat()
    (tmp_path / "resident.json").write_text(
        json.dumps({"family_name": "Ejemplo", "given_name": "Nina", "birth_date": eleven,
                    "integration_evidence": "Curs de català", "lived_long_enough": True,
                    "photo": str(SAMPLES_DIR / "portrait.jpg")}), "utf-8")  # fmt: skip
    data = tmp_path / "data"
    result = CliRunner().invoke(
        main,
        ["demo", "--program", "barcelona", "--resident", str(tmp_path / "resident.json"),
         "--data", str(data), "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "You must be at least 18 years old" in result.output
    assert not data.exists()  # the issuer was never opened: no number


def test_recover_needs_a_data_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["recover", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


# -- a production kiosk never falls back to simulated hardware ----------------------------------


def test_serve_without_a_station_or_simulate_refuses_with_a_sentence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    res = CliRunner().invoke(main, ["serve", "--program", "zurich", "--data", str(data)])
    assert res.exit_code == 2, res.output
    assert "--station FILE" in res.output and "--simulate" in res.output
    assert "Traceback" not in res.output and not data.exists()


def test_serve_with_an_api_but_no_station_is_still_refused(tmp_path: Path) -> None:
    """One forgotten flag must not send real numbers to simulated cards."""
    cred = tmp_path / "kiosk.json"
    cred.write_text("{}")
    key = tmp_path / "kiosk.pem"
    key.write_text("")
    args = ["serve", "--program", "zurich", "--data", str(tmp_path / "data")]
    args += ["--api", "http://127.0.0.1:9", "--kiosk-credential", str(cred), "--kiosk-key", str(key)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "--station FILE" in res.output, res.output
    assert not (tmp_path / "data").exists()


def test_serve_with_a_station_needs_the_city_api(tmp_path: Path) -> None:
    station = tmp_path / "station.toml"
    station.write_text(
        f'[card_printer]\ndirectory = "{tmp_path}/cards"\n'
        f'[receipt_printer]\ndirectory = "{tmp_path}/receipts"\n'
    )
    args = ["serve", "--program", "new-york", "--data", str(tmp_path / "data")]
    res = CliRunner().invoke(main, [*args, "--station", str(station)])
    assert res.exit_code == 2 and "issuer API" in res.output, res.output
    both = CliRunner().invoke(main, [*args, "--station", str(station), "--simulate"])
    assert both.exit_code == 2 and "not both" in both.output


def test_recover_without_api_or_simulate_refuses(tmp_path: Path) -> None:
    tmp_path.joinpath("data").mkdir()
    res = CliRunner().invoke(main, ["recover", "--data", str(tmp_path / "data")])
    assert res.exit_code == 2 and "--simulate" in res.output, res.output


def test_the_console_script_refuses_too() -> None:
    """The quality bar's own words: no station, no --simulate -> a sentence, no traceback."""
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("citycard-kiosk")
    with __import__("tempfile").TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [str(exe), "serve", "--program", "zurich", "--data", tmp + "/D"],
            capture_output=True, text=True, timeout=60, env=os.environ,
        )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "--simulate" in proc.stderr
