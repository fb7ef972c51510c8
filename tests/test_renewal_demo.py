"""`citycard-kiosk demo --renew OLD` and `--replace NUMBER`: the old card is verified first
(forged, foreign, revoked or already renewed cards are refused in one sentence, non-zero exit,
no number taken); the new card keeps the number; `citycard-reader verify` then says the old
card is SUPERSEDED (renewal) or REVOKED (replacement) and the new one VALID. Also the
programme's renewal window for expired cards (kiosk.renewal)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.terminal.cli import main as reader_main
from cardio.published import load_verifier
from cardio.verdict import Verdict
from kiosk.cli import main as kiosk_main
from kiosk.programs import load_program
from kiosk.renewal import OldCardRefused, check_old_card

pytestmark = pytest.mark.vpcd  # it presents cards in the vpcd slots (tests/xdist_groups.py)


def demo(data: Path, out: Path, *extra: str) -> Result:
    args = ["demo", "--program", "zurich", "--data", str(data), "--out", str(out), *extra]
    return CliRunner().invoke(kiosk_main, args)


def verify(trust: Path, *what: str) -> Result:
    return CliRunner().invoke(reader_main, ["verify", "--trust", str(trust), *what])


def registry_rows(data: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(data / "issuer" / "registry.sqlite") as db:
        rows = db.execute(
            "SELECT document_number, generation, status FROM cards ORDER BY generation"
        ).fetchall()
    return [(str(n), int(g), str(s)) for n, g, s in rows]


def verdict_of(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "verdict.json").read_text("utf-8"))
    return data


def test_renewing_a_chip_card_from_its_chip_ndef(tmp_path: Path, pcscd_service: object) -> None:
    data = tmp_path / "data"
    first = demo(data, tmp_path / "first")
    assert first.exit_code == 0, first.output
    number = verdict_of(tmp_path / "first")["document_number"]
    renewed = demo(data, tmp_path / "renewed", "--renew", str(tmp_path / "first" / "chip.ndef"))
    assert renewed.exit_code == 0, renewed.output
    assert "A renewal: the programme's fee is 20.00 CHF." in renewed.output
    out = tmp_path / "renewed"
    for name in ("card-front.png", "card-back.png", "chip.ndef", "qr.txt", "receipt.escpos"):
        assert (out / name).is_file(), name
    verdict = verdict_of(out)
    assert verdict["document_number"] == number and verdict["verdict"] == "VALID"
    assert verdict["old_card"] == {
        "document_number": number,
        "verdict": "SUPERSEDED",
        "message": Verdict.SUPERSEDED.sentence,
    }
    old = verify(out / "trust", str(tmp_path / "first" / "chip.ndef"))
    assert old.exit_code == 1 and old.output.startswith("SUPERSEDED: "), old.output
    new = verify(out / "trust", str(out / "chip.ndef"))
    assert new.exit_code == 0 and new.output.startswith("VALID"), new.output
    assert f"document number: {number}" in new.output
    assert registry_rows(data) == [(number, 0, "superseded"), (number, 1, "valid")]


def test_renewal_from_qr_text_refusals_and_replacement(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert demo(data, tmp_path / "a", "--profile", "print").exit_code == 0
    number = str(verdict_of(tmp_path / "a")["document_number"])
    old_qr = tmp_path / "a" / "qr.txt"
    renewed = demo(data, tmp_path / "b", "--profile", "print", "--renew", str(old_qr))
    assert renewed.exit_code == 0, renewed.output
    assert verdict_of(tmp_path / "b")["document_number"] == number
    qr_old = verify(tmp_path / "b" / "trust", "--qr", old_qr.read_text("ascii"))
    assert qr_old.output.startswith("SUPERSEDED: ") and qr_old.exit_code == 1

    # The superseded card cannot be renewed again; a forged card and another city's neither.
    text = (tmp_path / "b" / "qr.txt").read_text("ascii")
    forged = tmp_path / "forged.txt"
    forged.write_text(text[:-8] + ("A" if text[-8] != "A" else "B") + text[-7:] + "\n", "ascii")
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: len(text) // 2] + "\n", "ascii")
    (tmp_path / "other").mkdir()
    assert demo(tmp_path / "other", tmp_path / "o", "--profile", "print").exit_code == 0
    refusals = {
        old_qr: "This card has already been replaced by a newer card; renew the newer card instead.",
        forged: "This is not a genuine card of this city, so it cannot be renewed;",
        tmp_path / "o" / "qr.txt": "This is not a genuine card of this city, so it cannot be renewed;",
        # data that is no card at all, or a QR code scanned in part: show it again, it is no
        # proof of forgery (this said "not a genuine card of this city")
        tmp_path / "a" / "card-front.png": "The card could not be read. Please scan its QR code again",
        cut: "The card could not be read. Please scan its QR code again",
    }
    for old, sentence in refusals.items():
        refused = demo(data, tmp_path / "x", "--profile", "print", "--renew", str(old))
        assert refused.exit_code != 0, old
        lines = refused.output.strip().splitlines()
        assert lines[-1].startswith(f"Error: {sentence}"), refused.output
        assert "Traceback" not in refused.output
    assert len(registry_rows(data)) == 2  # no number or slot was taken for any of them

    # A lost card: the renewed card is revoked at once, the replacement keeps the number.
    replaced = demo(data, tmp_path / "c", "--profile", "print", "--replace", number.lower())
    assert replaced.exit_code == 0, replaced.output
    assert "A replacement: the programme's fee is 20.00 CHF." in replaced.output
    assert verdict_of(tmp_path / "c")["document_number"] == number
    trust = tmp_path / "c" / "trust"
    assert verify(trust, "--qr", text).output.startswith("REVOKED: ")
    new = verify(trust, "--qr", (tmp_path / "c" / "qr.txt").read_text("ascii"))
    assert new.exit_code == 0 and new.output.startswith("VALID")
    # ... and a revoked card is not renewed
    refused = demo(data, tmp_path / "x", "--profile", "print", "--renew", str(tmp_path / "b" / "qr.txt"))
    assert refused.exit_code != 0
    assert "has been revoked, so it cannot be renewed" in refused.output
    assert [s for _n, _g, s in registry_rows(data)] == ["superseded", "revoked", "valid"]

    both = demo(data, tmp_path / "x", "--renew", str(old_qr), "--replace", number)
    assert both.exit_code != 0 and "not both" in both.output


def test_expired_cards_renew_within_the_programmes_window(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert demo(data, tmp_path / "a", "--profile", "print").exit_code == 0
    verifier, _problems = load_verifier(tmp_path / "a" / "trust")
    card = (tmp_path / "a" / "qr.txt").read_bytes()
    program = load_program("zurich")
    assert program.validity.renewal_window_days == 90
    valid = check_old_card(verifier, card, program)
    assert valid.verdict is Verdict.VALID
    expiry = datetime.combine(valid.expires + timedelta(days=1), datetime.min.time(), UTC)
    soon = expiry + timedelta(days=89)
    late = expiry + timedelta(days=91)
    expired = check_old_card(verifier, card, program, now=soon.timestamp())
    assert expired.verdict is Verdict.EXPIRED and expired.document_number == valid.document_number
    with pytest.raises(OldCardRefused, match="more than 90 days ago, so it can no longer be renewed"):
        check_old_card(verifier, card, program, now=late.timestamp())
    none = replace(program, validity=replace(program.validity, renewal_window_days=0))
    with pytest.raises(OldCardRefused, match="more than 0 days ago"):
        check_old_card(verifier, card, none, now=(expiry + timedelta(days=1)).timestamp())
    other = load_program("new-york")
    with pytest.raises(OldCardRefused, match="belongs to another programme"):
        check_old_card(verifier, card, other)
