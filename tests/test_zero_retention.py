"""Zero retention (docs/principles.md, principle 2): after cards are made, nothing personal remains.

Four residents are enrolled against one kiosk data directory (DATA_DIR: the issuer with its
SQLite registry, the kiosk journal, the kiosk log):

- two through the personalisation job in this process, over the real pcscd + vpcd stack (one of
  them has its card pulled mid-write, is voided and retried);
- one through `citycard-kiosk demo` in a subprocess, from a RESIDENT.json with a photo file;
- one through `citycard-kiosk demo` in a subprocess that is SIGKILLed after the chip was written
  and before the card was printed; `citycard-kiosk recover` then voids that card.

The subprocesses run with TMPDIR, HOME (and the XDG directories) and the working directory
pointed at empty test directories. Then every file under DATA_DIR, the subprocesses' TMPDIR,
HOME and working directory, and OUT_DIR/trust is scanned for each resident's names (every
part of at least 4 letters; UTF-8 and UTF-16 in both byte orders; upper, lower, title and
case-folded; NFC and NFD), birth date (ISO, dd.mm.yyyy, mm/dd/yyyy, yyyymmdd, and days since
1970-01-01 as text) and photos (every 32-byte window of the uploaded picture and of the chip
and print JPEGs made from it). Nothing may be found.

What is excluded, and why: only the *printed artefacts* in the OUT directories —
card-front.png, card-back.png, receipt.escpos, chip.ndef and verdict.json — which are the
resident's card, receipt and a reader's view of the card, and legitimately hold the name (the
file printers write them where a real printer would print). The OUT directory of the killed run
must hold none of them. Outside DATA_DIR and the OUT directories, the only file any run may leave
is the vpcd slots' lock file in TMPDIR (it holds a process id).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from api.issuer.registry import REVOKED, VOIDED
from api.issuer.service import Issuer
from cardio.chip import CardProfile
from hardware.virtual_t4t import Faults, VirtualType4Card
from kiosk.demo import PRINT_PHOTO_BUDGET, synthetic_portrait
from kiosk.demo_application import SAMPLES_DIR
from kiosk.job import CardPulledError, PcscWriter, new_request_id
from kiosk.journal import Journal
from kiosk.photo import CHIP_SIZE, PRINT_SIZE, prepare_photo, prepare_photos
from tests.pcsc_fixtures import VpcdCards, requires_pcscd

from .kiosk_helpers import enrolment, make_kiosk

pytestmark = [pytest.mark.vpcd, requires_pcscd, pytest.mark.timeout(300)]

KIOSK = Path(sys.executable).with_name("citycard-kiosk")
PRINTED = {"card-front.png", "card-back.png", "receipt.escpos", "chip.ndef", "qr.txt", "verdict.json"}
WALLET = {"wallet/card.sd-jwt", "wallet/card.mdoc"}  # the card on the phone, as the printed one
ALLOWED_OUTSIDE = {"citycard-vpcd.lock"}  # hardware.pcscd's machine lock: a pid, nothing else


@dataclass
class Resident:
    family: str
    given: str
    birth: date
    seed: int

    @property
    def upload(self) -> bytes:
        return synthetic_portrait(720, 960, seed=self.seed)


RESIDENTS = {
    "job": Resident("Quintavalle-Øyangen", "Zéphyrine", date(1961, 7, 23), 11),
    "pulled": Resident("Шевчук-Вербицька", "Олеся", date(1979, 11, 2), 12),
    "demo": Resident("Brightwater-Nakamura", "Ingeborg", date(1994, 2, 9), 13),
    "killed": Resident("Vasquez-Oyelaran", "Teodora", date(1958, 12, 30), 14),
}


# -- the needles ---------------------------------------------------------------------------------


def _text_variants(text: str) -> set[str]:
    out = set()
    for form in ("NFC", "NFD"):
        t = unicodedata.normalize(form, text)
        out |= {t, t.upper(), t.lower(), t.title(), t.casefold()}
    return out


def name_needles(r: Resident) -> set[bytes]:
    parts = {r.family, r.given}
    for name in (r.family, r.given):
        parts |= {p for p in re.split(r"[\s\-]+", name) if len(p) >= 4}
    needles = set()
    for part in parts:
        for variant in _text_variants(part):
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                needles.add(variant.encode(encoding))
    return needles


def date_patterns(r: Resident) -> list[re.Pattern[bytes]]:
    d = r.birth
    days = (d - date(1970, 1, 1)).days
    texts = [
        d.isoformat(),
        f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"{d.month:02d}/{d.day:02d}/{d.year}",
        f"{d.year}{d.month:02d}{d.day:02d}",
    ]
    patterns = [re.compile(re.escape(t.encode("ascii"))) for t in texts]
    patterns += [re.compile(re.escape(t.encode("utf-16-le"))) for t in texts]
    # days since the epoch as a number on its own (not inside a longer number or a decimal)
    patterns.append(re.compile(rb"(?<![0-9.])" + re.escape(str(days).encode()) + rb"(?![0-9])"))
    return patterns


def photo_windows(r: Resident) -> set[bytes]:
    """Every 32-byte window of the upload and of the JPEGs the kiosk makes from it."""
    upload = r.upload
    blobs = [
        upload,
        prepare_photo(upload, 3072, size=CHIP_SIZE).jpeg,
        prepare_photo(upload, 40_000, size=PRINT_SIZE).jpeg,  # tests/kiosk_helpers
        prepare_photo(upload, PRINT_PHOTO_BUDGET, size=PRINT_SIZE).jpeg,
        *(p.jpeg for p in prepare_photos(upload, 3072, PRINT_PHOTO_BUDGET) if p),  # kiosk.demo
    ]
    windows = set()
    for blob in blobs:
        # Skip the JPEG headers (quantisation and Huffman tables are shared between JPEGs of
        # the same quality): only the entropy-coded picture data identifies the photo.
        start = blob.find(b"\xff\xda")
        body = blob[start:] if start > 0 else blob
        windows |= {body[i : i + 32] for i in range(len(body) - 31)}
    return windows


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() or (path.exists() and not path.is_dir()):
                    yield path


def scan(paths: list[Path], residents: list[Resident]) -> list[str]:
    found = []
    checks = [(r, name_needles(r), date_patterns(r), photo_windows(r)) for r in residents]
    for path in paths:
        data = path.read_bytes()
        lowered = data.lower()
        for r, names, dates, windows in checks:
            who = f"{r.given[0]}. (seed {r.seed})"
            for needle in names:
                if needle in data or needle.lower() in lowered:
                    found.append(f"{path}: a name of {who}")
                    break
            for pattern in dates:
                if pattern.search(data):
                    found.append(f"{path}: the birth date of {who} ({pattern.pattern!r})")
                    break
            if any(data[i : i + 32] in windows for i in range(max(0, len(data) - 31))):
                found.append(f"{path}: photo bytes of {who}")
    return found


# -- the runs ------------------------------------------------------------------------------------


def child_env(base: Path) -> tuple[dict[str, str], Path]:
    env = dict(os.environ)
    dirs = {name: base / name for name in ("tmp", "home", "cwd")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env.update(
        TMPDIR=str(dirs["tmp"]),
        TEMP=str(dirs["tmp"]),
        TMP=str(dirs["tmp"]),
        HOME=str(dirs["home"]),
        XDG_CACHE_HOME=str(dirs["home"] / ".cache"),
        XDG_CONFIG_HOME=str(dirs["home"] / ".config"),
        XDG_DATA_HOME=str(dirs["home"] / ".local" / "share"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env, dirs["cwd"]


def resident_file(directory: Path, r: Resident) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "photo.jpg").write_bytes(r.upload)
    path = directory / "resident.json"
    path.write_text(
        json.dumps(
            {
                "family_name": r.family,
                "given_name": r.given,
                "birth_date": r.birth.isoformat(),
                "sex": "F",
                "photo": "photo.jpg",
                "signature": str(SAMPLES_DIR / "signature.png"),  # Zurich prints it
                "languages": ["de"],
            },
            ensure_ascii=False,
        ),
        "utf-8",
    )
    return path


def journal_steps(data: Path) -> list[dict[str, object]]:
    path = data / "kiosk" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("ascii").splitlines() if line.strip()]


def test_nothing_personal_remains(vpcd_cards: VpcdCards, tmp_path: Path) -> None:
    data = tmp_path / "data"
    outs = {name: tmp_path / f"out-{name}" for name in ("job", "demo", "killed")}
    inputs = tmp_path / "input"  # the residents' own files: not the kiosk's, not scanned
    env, cwd = child_env(tmp_path / "env")

    # 1. Two enrolments through the job in this process (slot 1), one with a pulled card.
    data.mkdir()
    issuer = Issuer.init(data / "issuer", issuer_id="zurich-demo", program="zurich",
                         doc_prefix="ZUR")  # fmt: skip
    try:
        _in_process(vpcd_cards, tmp_path, data, issuer, outs["job"])
    finally:
        issuer.close()

    # 2. `citycard-kiosk demo` from a RESIDENT.json with a photo file.
    demo = subprocess.run(
        [str(KIOSK), "demo", "--program", "zurich", "--data", str(data), "--out",
         str(outs["demo"]), "--resident", str(resident_file(inputs / "demo", RESIDENTS["demo"]))],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "VALID" in demo.stdout
    assert {p.name for p in outs["demo"].iterdir()} == PRINTED | {"trust", "wallet"}

    # 3. `citycard-kiosk demo` killed between "chip written" and "card printed".
    before = {str(rec["job"]) for rec in journal_steps(data)}
    killed = subprocess.Popen(
        [str(KIOSK), "demo", "--program", "zurich", "--data", str(data), "--out",
         str(outs["killed"]), "--printer-delay", "120",
         "--resident", str(resident_file(inputs / "killed", RESIDENTS["killed"]))],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        job_doc = None
        while job_doc is None:
            assert killed.poll() is None, killed.stderr.read() if killed.stderr else ""
            assert time.monotonic() < deadline, "the killed demo never reached the card printer"
            for rec in journal_steps(data):
                if rec["job"] not in before and rec["step"] == "card_printing":
                    job_doc = str(rec["doc"])
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(10) == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
        if killed.stderr:
            killed.stderr.close()
    assert not any(p.name in PRINTED for p in outs["killed"].rglob("*"))

    recovered = subprocess.run(
        [str(KIOSK), "recover", "--data", str(data), "--simulate"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert f"voided: The kiosk stopped while making card {job_doc}" in recovered.stdout
    issuer = Issuer(data / "issuer")
    try:
        card = issuer.card(job_doc)
        assert (card.state, card.status) == (VOIDED, REVOKED)
    finally:
        issuer.close()

    # 4. The scan.
    allowed_printed = [outs[name] / f for name in outs for f in PRINTED | WALLET]
    trust_dirs = [outs[name] / "trust" for name in outs]
    scanned = list(files_under(data, *trust_dirs, cwd, Path(env["TMPDIR"]), Path(env["HOME"])))
    scanned += [p for p in files_under(*outs.values()) if p not in allowed_printed
                and not any(t in p.parents for t in trust_dirs)]  # fmt: skip
    names = {p.relative_to(tmp_path).as_posix() for p in scanned}
    assert "data/issuer/registry.sqlite" in names and "data/kiosk/journal.jsonl" in names
    assert "data/kiosk/logs/kiosk.log" in names
    findings = scan(scanned, list(RESIDENTS.values()))
    assert findings == [], "\n".join(findings)

    # 5. Nothing written outside DATA_DIR and the OUT directories but the vpcd lock file.
    outside = [p for p in files_under(cwd, Path(env["TMPDIR"]), Path(env["HOME"]))
               if p.name not in ALLOWED_OUTSIDE]  # fmt: skip
    assert outside == []
    # The scan does find what it looks for: the demo's printed artefacts hold the resident.
    found = "\n".join(scan([outs["demo"] / f for f in PRINTED], [RESIDENTS["demo"]]))
    assert "verdict.json: a name" in found and "verdict.json: the birth date" in found
    assert "chip.ndef: photo bytes" in found and "chip.ndef: a name" in found


def _in_process(
    vpcd_cards: VpcdCards, tmp_path: Path, data: Path, issuer: Issuer, out: Path
) -> None:
    import logging

    log_path = data / "kiosk" / "logs" / "kiosk.log"
    log_path.parent.mkdir(parents=True)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("kiosk", "cardio", "api", "printer", "hardware")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        kiosk = make_kiosk(tmp_path / "unused", PcscWriter("Virtual PCD 00 01", timeout=5),
                           issuer=issuer)  # fmt: skip
        kiosk.station.journal = Journal.in_dir(data / "kiosk")
        from kiosk.printing import FileReceiptSink
        from printer.card_printer import FileCardPrinter

        kiosk.station.card_printer = FileCardPrinter(out)
        kiosk.station.receipt_printer = FileReceiptSink(out)

        r = RESIDENTS["job"]
        vcard = vpcd_cards.attach(1, VirtualType4Card("t4t"))
        kiosk.station.job(
            new_request_id(), enrolment(CardProfile.T4T, r.family, r.given, r.birth, r.upload)
        ).run()
        vpcd_cards.remove(vcard)

        r = RESIDENTS["pulled"]
        card = VirtualType4Card("t4t", faults=Faults(pull_after_writes=5))
        vcard = vpcd_cards.attach(1, card)
        job = kiosk.station.job(
            new_request_id(), enrolment(CardProfile.T4T, r.family, r.given, r.birth, r.upload)
        )
        with pytest.raises(CardPulledError):
            job.run()
        card.faults.pull_after_writes = None
        vcard.insert()
        assert job.run().document_number
        vpcd_cards.remove(vcard)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
        handler.close()
