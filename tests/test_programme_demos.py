"""`citycard-kiosk demo` for every shipped programme, through the kiosk's rules engine: each
programme's sample resident gets a card whose printed QR a venue's reader verifies VALID, and a
resident the rules refuse (too young, a required field missing) is refused in one sentence
before the registry allocates a number."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.terminal.cli import main as reader_main
from cardio.chip import CardProfile
from hardware.local_issuer import open_issuer
from kiosk.cli import main as kiosk_main
from kiosk.demo_application import SAMPLES_DIR, known_programmes, sample_resident
from kiosk.programs import Program, load_program

pytestmark = pytest.mark.vpcd  # it presents cards in the vpcd slots (tests/xdist_groups.py)

PROGRAMS = {pid: load_program(pid) for pid in known_programmes()}
COMPACT = sorted(pid for pid, p in PROGRAMS.items() if p.card.profile is CardProfile.COMPACT)
CARD_FILES = ("card-front.png", "card-back.png", "chip.ndef", "qr.txt", "receipt.escpos")


def demo(program_id: str, data: Path, out: Path, *extra: str) -> Result:
    args = ["demo", "--program", program_id, "--data", str(data), "--out", str(out), *extra]
    return CliRunner().invoke(kiosk_main, args)


def verify(out: Path, *what: str) -> Result:
    return CliRunner().invoke(reader_main, ["verify", "--trust", str(out / "trust"), *what])


def cards_in_registry(data: Path) -> int:
    """Numbers the development issuer's registry has handed out (read from its database)."""
    with sqlite3.connect(data / "issuer" / "registry.sqlite") as db:
        count: int = db.execute("SELECT count(*) FROM cards").fetchone()[0]
    return count


def needs_chip(program: Program) -> bool:
    return program.card.profile.has_chip and program.card.profile is not CardProfile.COMPACT


def test_every_programme_has_a_fictional_sample_resident() -> None:
    assert len(PROGRAMS) == 14
    assert {"utrecht-bbb", "madrid"} <= set(PROGRAMS)
    assert sorted(p.stem for p in SAMPLES_DIR.glob("*.json")) == sorted(PROGRAMS)


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_the_sample_resident_gets_a_card_that_verifies(
    pid: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    program = PROGRAMS[pid]
    data, out = tmp_path / "data", tmp_path / "out"
    extra: tuple[str, ...] = ()
    if program.card.profile is CardProfile.COMPACT:
        extra = ("--profile", "print")  # the chip: test_compact_programmes_make_a_chip
    elif needs_chip(program):
        request.getfixturevalue("pcscd_service")
    result = demo(pid, data, out, *extra)
    assert result.exit_code == 0, result.output
    assert "A venue's reader says: VALID" in result.output
    qr = verify(out, "--qr", (out / "qr.txt").read_text("ascii"))
    assert qr.exit_code == 0 and qr.output.startswith("VALID"), qr.output
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))
    assert verdict["qr"]["verdict"] == "VALID"
    assert verdict["claims"]["program"] == pid
    sample = json.loads(sample_resident(pid).read_text("utf-8"))
    assert verdict["claims"]["family_name"] == sample["family_name"]
    if needs_chip(program):
        chip = verify(out, str(out / "chip.ndef"))
        assert chip.exit_code == 0 and chip.output.startswith("VALID"), chip.output
        assert verdict["chip"]["ndef_bytes"] > 0
    assert cards_in_registry(data) == 1


@pytest.mark.parametrize("pid", COMPACT)
def test_compact_programmes_make_a_chip(pid: str, tmp_path: Path, pcscd_service: object) -> None:
    """A 256-byte chip holds the compact credential: no name or photo, the verdict says to
    compare the printed card."""
    out = tmp_path / "out"
    result = demo(pid, tmp_path / "data", out)
    assert result.exit_code == 0, result.output
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))
    assert verdict["verdict"] == "VALID" and 0 < verdict["chip"]["ndef_bytes"] <= 256
    assert verdict["claims"].get("compare_printed_card") is True
    assert "family_name" not in verdict["claims"] and "photo_bytes" not in verdict["claims"]
    chip = verify(out, str(out / "chip.ndef"))
    assert chip.exit_code == 0 and chip.output.startswith("VALID"), chip.output


def _resident(tmp_path: Path, pid: str, **changes: object) -> Path:
    """The programme's sample resident with `changes` (None removes a key), its files found."""
    obj = json.loads(sample_resident(pid).read_text("utf-8"))
    for key in ("photo", "signature"):
        if key in obj:
            obj[key] = str(SAMPLES_DIR / obj[key])
    for key, value in changes.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    path = tmp_path / f"{pid}-resident.json"
    path.write_text(json.dumps(obj, ensure_ascii=False), "utf-8")
    return path


def _refused_before_a_number(pid: str, tmp_path: Path, resident: Path) -> str:
    data, out = tmp_path / "data", tmp_path / "out"
    open_issuer(data / "issuer", pid).close()  # a registry that would hand out the number
    result = demo(pid, data, out, "--resident", str(resident), "--profile", "print")
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert cards_in_registry(data) == 0
    assert not any((out / name).exists() for name in CARD_FILES)
    return result.output


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_a_resident_too_young_is_refused_before_a_number(pid: str, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    age = PROGRAMS[pid].eligibility.minimum_age - 1  # and no guardian came along
    birth = today.replace(year=today.year - age, day=min(today.day, 28))
    output = _refused_before_a_number(
        pid, tmp_path, _resident(tmp_path, pid, birth_date=birth.isoformat())
    )
    assert "refuses this resident" in output
    assert "years old" in output or "come with a parent or guardian" in output


@pytest.mark.parametrize("pid", sorted(PROGRAMS))
def test_a_missing_required_field_is_refused_before_a_number(pid: str, tmp_path: Path) -> None:
    program = PROGRAMS[pid]
    credential = ("family_name", "given_name", "birth_date")
    field = [f for f in program.fields.required if f not in credential][-1]
    output = _refused_before_a_number(pid, tmp_path, _resident(tmp_path, pid, **{field: None}))
    assert f"requires '{field}'" in output


def test_the_bbb_card_ends_with_the_shelter_registration(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    end = today.replace(year=today.year + 1, day=1) if today.month == 12 else today.replace(
        month=today.month + 1, day=1
    )
    data, out = tmp_path / "data", tmp_path / "out"
    result = demo("utrecht-bbb", data, out, "--resident",
                  str(_resident(tmp_path, "utrecht-bbb", expires=end.isoformat())))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"valid until {end.isoformat()}" in result.output
    assert json.loads((out / "verdict.json").read_text("utf-8"))["claims"]["expires"] == end.isoformat()
    ended = _resident(tmp_path, "utrecht-bbb", expires=today.isoformat())
    output = _refused_before_a_number("utrecht-bbb", tmp_path / "ended", ended)
    assert "end of the shelter registration" in output and "'expires'" in output


def test_a_field_the_programme_does_not_collect_is_refused_before_a_number(
    tmp_path: Path,
) -> None:
    output = _refused_before_a_number("zurich", tmp_path, _resident(tmp_path, "zurich", height="170"))
    assert "This card does not ask for it" in output and "height" in output


def test_documents_the_rule_does_not_accept_go_to_the_attendant(tmp_path: Path) -> None:
    """The demo plays the attendant: the reasons are shown and the attendant approves."""
    out = tmp_path / "out"
    resident = _resident(tmp_path, "madrid", documents=["padron-certificate"])
    result = demo("madrid", tmp_path / "data", out, "--resident", str(resident))
    assert result.exit_code == 0, result.output
    assert "Attendant: Identity documents needed: 1. Shown: 0." in result.output
    assert json.loads((out / "verdict.json").read_text("utf-8"))["verdict"] == "VALID"
