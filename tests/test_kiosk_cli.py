"""`citycard-kiosk`: the command group, the scripted demo and recovery (errors as sentences)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.demo import synthetic_portrait


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
        "card-front.png", "card-back.png", "receipt.escpos", "trust", "verdict.json"
    }  # fmt: skip
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))
    assert verdict["verdict"] == "VALID" and verdict["claims"]["variant"] == "print"
    assert sorted(p.name for p in (out / "trust").rglob("*") if p.is_file()) == [
        "1.cwt", "root-key.pem", "trust-list.cose"
    ]  # fmt: skip
    assert {p.name for p in (data / "kiosk").iterdir()} >= {"journal.jsonl", "logs"}

    again = CliRunner().invoke(main, ["recover", "--data", str(data)])
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
                    "photo": "photo.jpg"}), "utf-8")  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["demo", "--profile", "print", "--resident", str(tmp_path / "resident.json"),
         "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Error: This file is not a picture the kiosk can read" in result.output


def test_a_phone_sized_photo_in_the_resident_file_is_prepared(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(synthetic_portrait(1200, 1600, seed=3))
    (tmp_path / "resident.json").write_text(
        json.dumps({"family_name": "Example", "given_name": "Sam", "birth_date": "2001-05-06",
                    "photo": "photo.jpg"}), "utf-8")  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["demo", "--profile", "print", "--resident", str(tmp_path / "resident.json"),
         "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_recover_needs_a_data_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["recover", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
