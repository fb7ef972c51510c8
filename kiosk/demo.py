"""`citycard-kiosk demo`: one resident enrolled end to end on simulated hardware.

The resident (RESIDENT.json, or the programme's fictional sample in programs/samples/) goes the
web kiosk's way (kiosk.demo_application): every field the programme collects, checked as the
details page checks it, the rules engine's decision, the UI's photo port, and the card job's
input built by the UI's own adapter (`kiosk.web.adapters.StationJobs.enrolment`). An unknown
programme, a missing required field or a resident the rules refuse stops the demo with one
sentence before any number is allocated.

Everything below the kiosk is real code on simulated devices: the issuer (in this process through
hardware.local_issuer, its registry under DATA_DIR/issuer), the photo pipeline, the personalisation job with its journal
(DATA_DIR/kiosk), the chip written through the real pcscd with a virtual card in a vpcd slot,
the card drawn by printer.card_layout and "printed" by the file card printer, the receipt's
ESC/POS bytes, and a venue's reader reading the new card on nfcpy's udp radio and verifying it
against the published trust list.

With `renew` (the old card's chip.ndef, or a file holding its printed QR text) the card is a
renewal: the old card is verified against DATA_DIR's issuer (or the registry's published files)
and refused with one sentence if it is forged, another city's, revoked, suspended, already
renewed or expired beyond the programme's window; the new card keeps its document number, and
the old card is superseded once the new one is made. With `replace_number` it is a replacement
of a lost card: that number's card is revoked at once and the new card keeps the number. The
rules engine applies the programme's renewal or replacement fee.

OUT_DIR receives the printed artefacts — card-front.png, card-back.png, receipt.escpos,
chip.ndef (the NDEF message read back from the chip), qr.txt (the text of the card's printed QR
code, for `citycard-reader verify --qr`) and verdict.json (the reader's verdict,
with the card's displayable claims, its document number and, for a renewal or replacement, what
a reader now says about the old card) — and trust/ (root key, trust list, status lists, as
`citycard-api publish` writes them). These hold the resident's card, as a printed card does;
nothing else about the resident is written anywhere (DATA_DIR holds no personal data).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cardio.chip import CardProfile, read_card
from cardio.credential import Holder, Variant, to_qr
from cardio.errors import CitycardError
from cardio.files import write_atomic
from cardio.keys import fingerprint
from cardio.published import load_root_key, load_verifier
from hardware.kiosk_devices import CardFeeder
from hardware.local_issuer import (
    KIOSK_ID,
    IssuerAllocator,
    open_issuer,
    publish_trust,
    register_demo_kiosk,
)
from printer.card_printer import CardPrinter, FileCardPrinter

from .allocator import (
    RENEWAL,
    REPLACEMENT,
    Allocation,
    Allocator,
    KioskKeySigner,
    SignedCard,
    Successor,
)
from .demo_application import build_application, load_known_program, sample_resident
from .job import JobResult, Notice, Progress, Station, new_request_id
from .journal import Journal
from .printing import DelayedCardPrinter, FileReceiptSink, use_escpos_cache
from .registry_options import RegistryOptions
from .renewal import credential_of, verify_old_card
from .rules import station_day
from .wallet_files import HOLDER_KEY_FILE, MDOC_FILE, SD_JWT_FILE, WALLET_DIR, write_wallet_files
from .web import adapters
from .web.adapters import StationJobs
from .web.ports import CardRequest

log = logging.getLogger(__name__)

OUTPUTS = (
    "card-front.png",
    "card-back.png",
    "chip.ndef",
    "qr.txt",
    "receipt.escpos",
    "verdict.json",
)
"""What the demo writes to OUT_DIR besides trust/ (the printed artefacts)."""
PRINT_PHOTO_BUDGET = adapters.PRINT_PHOTO_BUDGET
"""Bytes of the printed portrait: the web kiosk's, as the demo takes its photo path."""


def synthetic_portrait(width: int = 720, height: int = 960, seed: int = 7) -> bytes:
    """A drawn cartoon face (plainly not a person) on a textured background, as a camera-sized
    JPEG. The face is schematic but has what a face detector looks for (dark eyes under brows,
    a lighter nose bridge, a mouth), so the kiosk's face check accepts it."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    img = Image.new("RGB", (width, height), (196, 210, 226))
    d = ImageDraw.Draw(img)
    for _ in range(400):  # background texture, so the JPEG is not trivially small
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(4, 30)
        shade = rng.randrange(170, 230)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(shade, shade, min(255, shade + 20)))
    img = img.filter(ImageFilter.GaussianBlur(3))
    d = ImageDraw.Draw(img)
    cx, cy, w = width // 2, height // 3 + height // 48, width // 2 - width // 18
    h = w * 13 // 10
    d.ellipse((cx - w // 2 - w // 8, cy - h // 2 - w // 6, cx + w // 2 + w // 8, cy + h // 3),
              fill=(60, 45, 35))  # hair  # fmt: skip
    d.rectangle((cx - width // 3, height * 3 // 5 + height // 24, cx + width // 3, height),
                fill=(50, 70, 110))  # shoulders  # fmt: skip
    d.ellipse((cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2), fill=(225, 190, 160))
    eye_w, eye_h, eye_y = w // 5, w // 10, cy - h // 10
    for side in (-1, 1):
        ex = cx + side * w // 5
        d.ellipse((ex - eye_w // 2, eye_y - eye_h // 2, ex + eye_w // 2, eye_y + eye_h // 2),
                  fill=(40, 30, 30))  # fmt: skip
        brow_y = eye_y - eye_h - w // 40
        d.line((ex - eye_w // 2 - 4, brow_y, ex + eye_w // 2 + 4, brow_y), fill=(70, 50, 40),
               width=max(2, w // 30))  # fmt: skip
    d.polygon([(cx, eye_y), (cx - w // 12, cy + h // 8), (cx + w // 12, cy + h // 8)],
              fill=(200, 160, 130))  # fmt: skip
    d.ellipse((cx - w // 6, cy + h // 5, cx + w // 6, cy + h // 5 + w // 12), fill=(150, 70, 70))
    img = img.filter(ImageFilter.GaussianBlur(1))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@dataclass
class DemoOutcome:
    result: JobResult
    verdict: dict[str, Any]
    notices: list[Notice]
    out_dir: Path
    offer_problem: str | None = None  # --api: why the phone offer is missing (the card is made)


class DemoOutputError(CitycardError):
    """The card was made and reported, but one of the demo's files about it could not be
    written; the sentence names the card and what to do."""


class _KeepingSigner:
    """Signs with the kiosk key and keeps the print credential for the demo's QR verdict."""

    def __init__(self, inner: KioskKeySigner) -> None:
        self.inner = inner
        self.print_cose: bytes | None = None

    def sign(
        self,
        allocation: Allocation,
        holder: Holder,
        binding: Any,
        issued_at: int,
        expires_at: int,
    ) -> SignedCard:
        signed = self.inner.sign(allocation, holder, binding, issued_at, expires_at)
        self.print_cose = signed.print_cose
        return signed

    def room_problem(
        self, program: str, entitlements: tuple[str, ...], profile: CardProfile
    ) -> str | None:
        """The kiosk key signer's fit check, so the demo refuses before allocating as well."""
        return self.inner.room_problem(program, entitlements, profile)


@contextmanager
def _file_log(path: Path) -> Iterator[None]:
    """The kiosk's log file for the run (INFO and up, every logger)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


DEMO_CREDENTIAL = "api-kiosk.json"
"""Under DATA_DIR/kiosk: the account `demo_registry` registered for `demo --api` (mode 0600)."""


def demo_registry(api: str, data_dir: Path, echo: Callable[[str], None] = print) -> RegistryOptions:
    """`demo --api URL` with no kiosk credential: when DATA_DIR/issuer is the issuer behind
    URL (the root key it serves is this issuer's), the demo is a kiosk of it, registered there
    once as `citycard-api kiosk add` would and kept in DATA_DIR/kiosk/api-kiosk.json, signing
    with the development key DATA_DIR/issuer/keys holds. Otherwise CitycardError saying what
    to give instead."""
    issuer_dir = Path(data_dir) / "issuer"
    credential = Path(data_dir) / "kiosk" / DEMO_CREDENTIAL
    if credential.is_file():
        return RegistryOptions(api, credential, issuer_dir / "keys")
    from .http_allocator import fetch_published

    with tempfile.TemporaryDirectory(prefix="citycard-demo-root-") as tmp:
        fetch_published(api, Path(tmp), [])
        served = fingerprint(load_root_key(Path(tmp)))
    kiosk_id = register_demo_kiosk(issuer_dir, served, credential)
    if kiosk_id is None:
        raise CitycardError(
            f"{issuer_dir} is not the issuer at {api}, so this demo cannot register itself there; "
            "give --kiosk-credential FILE and --kiosk-key KEY (from 'citycard-api kiosk add --dir "
            "ISSUER_DIR ID --out FILE'; the key is ISSUER_DIR/keys in development), or --data with "
            "the directory whose issuer/ the API serves."
        )
    echo(f"Registered as kiosk {kiosk_id!r} of the issuer at {api} ({issuer_dir}); its credential "
         f"is kept in {credential}.")  # fmt: skip
    return RegistryOptions(api, credential, issuer_dir / "keys")


def run_demo(
    program_id: str,
    data_dir: Path,
    out_dir: Path,
    *,
    resident: Path | None = None,
    profile_name: str | None = None,
    printer_delay: float = 0.0,
    slot: int = 0,
    echo: Callable[[str], None] = print,
    registry: RegistryOptions | None = None,
    renew: Path | None = None,
    replace_number: str | None = None,
) -> DemoOutcome:
    """Enrol one resident end to end (see the module doc). Raises CitycardError with a sentence.

    With `registry` naming an issuer API, the number comes from that server over signed HTTP
    (kiosk.http_allocator), the kiosk signs with the key `registry.kiosk_key`, and OUT_DIR/trust
    holds the files fetched from the server; DATA_DIR then holds only the kiosk's state."""
    from hardware.nfc_udp import NfcUdpTarget

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    kiosk_dir = data_dir / "kiosk"
    if replace_number is not None and not replace_number.strip():
        raise CitycardError("A replacement needs the document number of the card to replace.")
    # Everything that may stop the card comes before any number is allocated.
    program = load_known_program(program_id, CardProfile(profile_name) if profile_name else None)
    profile = program.card.profile
    if resident is None:
        resident = sample_resident(program_id)
        echo(f"Resident: the programme's fictional sample ({resident}).")
    today = station_day(time.time())  # the station's day, as the web kiosk's (never UTC's)
    kind = RENEWAL if renew is not None else REPLACEMENT if replace_number is not None else "first"
    old_data = renew.read_bytes() if renew is not None else None
    app = build_application(program, resident, today, echo, card_kind=kind)
    if kind != "first":
        fee = app.decision.fee
        echo(f"A {kind}: the programme's fee is {fee.amount:.2f} {fee.currency}.")
    request = CardRequest(
        request_id=new_request_id(),
        program=app.view,
        application=app.form,
        decision=app.decision_view,
        photo=app.photo,
        signature_png=app.signature,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:  # a previous run's card must not pass for this one's
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "trust", ignore_errors=True)
    # nor its resident's phone card (only --api makes an offer)
    for name in (SD_JWT_FILE, MDOC_FILE, HOLDER_KEY_FILE, "offer.txt"):
        (out_dir / WALLET_DIR / name).unlink(missing_ok=True)

    with _file_log(kiosk_dir / "logs" / "kiosk.log"):
        use_escpos_cache(kiosk_dir / "cache")  # in the log: a damaged cache is rebuilt
        allocator: Allocator
        local: IssuerAllocator | None = None
        if registry is not None and registry.api is not None:
            from .http_allocator import connect

            assert registry.credential is not None and registry.kiosk_key is not None
            remote, kiosk_signer = connect(
                registry.api, registry.credential, registry.kiosk_key, registry.timeout
            )
            allocator = remote
            echo(f"Numbers from the city registry at {registry.api} (kiosk {remote.kiosk_id}).")
        else:
            local = _programme_allocator(data_dir, program_id)
            allocator, kiosk_signer = local, local.kiosk_signer()
        try:
            signer = _KeepingSigner(kiosk_signer)
            journal = Journal.in_dir(kiosk_dir)
            card_printer: CardPrinter = FileCardPrinter(out_dir)
            if printer_delay > 0:
                card_printer = DelayedCardPrinter(card_printer, printer_delay)
            receipts = FileReceiptSink(out_dir)

            feeder = CardFeeder(profile, slot) if profile.has_chip else None
            try:
                station = Station(allocator, signer, journal, feeder, card_printer, receipts)
                notices = station.recover()
                for notice in notices:
                    echo(f"Attendant: {notice.message}")

                shown: list[str] = []

                def show(p: Progress) -> None:
                    if not shown or shown[-1] != p.step.value:
                        shown.append(p.step.value)
                        echo(f"[{p.fraction * 100:3.0f}%] {p.step.value.replace('_', ' ')}")

                successor: Successor | None = None
                if old_data is not None:
                    successor = _renewal(old_data, program, allocator, echo)
                elif replace_number is not None:
                    number = "".join(replace_number.split()).upper()
                    successor = Successor(REPLACEMENT, number)
                    echo(f"Replacing lost card {number}: it is revoked when the new one is asked for.")
                if successor is not None:
                    form = replace(request.application, document_number=successor.document_number)
                    request = replace(request, application=form)
                enrolment = StationJobs(station).enrolment(request)  # as the web kiosk does
                # the phone card speaks the resident's language, as the web kiosk's does
                language = (enrolment.holder.languages or program.languages)[0]
                if app.entitlements:
                    holder = replace(enrolment.holder, entitlements=app.entitlements)
                    enrolment = replace(enrolment, holder=holder)
                job = station.job(request.request_id, enrolment, on_progress=show)
                del enrolment, request, app
                result = job.run()
                card = feeder.take() if feeder is not None else None  # off the writer
                try:  # the card is made: a failure from here on must say so, with its number
                    if local is not None:
                        publish_trust(local.issuer, out_dir / "trust")
                    else:
                        from .http_allocator import fetch_published

                        assert registry is not None and registry.api is not None
                        shutil.rmtree(out_dir / "trust", ignore_errors=True)
                        fetch_published(registry.api, out_dir / "trust", [result.status_list])
                    verdict = _verdict(out_dir, card, signer.print_cose, NfcUdpTarget)
                    verdict["document_number"] = result.document_number
                    if successor is not None:
                        verdict["card_kind"] = successor.kind
                        verdict["old_card"] = _old_verdict(out_dir, old_data, successor)
                    write_wallet_files(out_dir, signer.inner.signer, signer.print_cose)
                except (CitycardError, OSError) as exc:
                    raise _after_card(result.document_number, out_dir, exc) from exc
                offer_problem = None
                if local is None and signer.print_cose is not None:  # --api: the phone offer
                    from .wallet_offer import WalletOfferError, demo_offer

                    assert registry is not None and registry.api is not None
                    try:
                        offer, public = demo_offer(
                            out_dir, registry.api, remote.credential, signer.inner.signer,
                            signer.print_cose, programme=program.name(), language=language,
                        )  # fmt: skip
                    except WalletOfferError as exc:  # the card and its files are kept
                        offer_problem = str(exc)
                    else:
                        echo(f"Wallet offer (redeemable for 15 minutes): {offer}")
                        if public != registry.api.rstrip("/"):
                            # the offer names the issuer's configured address (docs/wallet.md)
                            echo(f"Note: the offer sends wallets to the issuer's public address "
                                 f"{public} (its base_url, set by 'citycard-api init --base-url'), "
                                 f"not to {registry.api}: a wallet must reach it there.")  # fmt: skip
            finally:
                if feeder is not None:
                    feeder.close()
        finally:
            if local is not None:
                local.issuer.close()
    try:
        write_atomic(
            out_dir / "verdict.json",
            (json.dumps(verdict, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode(),
            mode=0o600,  # the resident's name, as the card's other files
        )
    except OSError as exc:
        raise _after_card(result.document_number, out_dir, exc) from exc
    return DemoOutcome(result, verdict, notices, out_dir, offer_problem)


def _after_card(number: str, out_dir: Path, exc: BaseException) -> DemoOutputError:
    return DemoOutputError(
        f"Card {number} was made and reported to the registry, but its files in {out_dir} are "
        f"not complete: {exc} Free some space (or fix the directory) and run the demo again "
        f"for a new card; card {number} itself is valid, and can be revoked with "
        "'citycard-api status set' (or at the service desk) if it is not wanted."
    )


def _programme_allocator(data_dir: Path, program_id: str) -> IssuerAllocator:
    """DATA_DIR's issuer (made for `program_id` on first use) as the demo kiosk's allocator.
    One DATA_DIR serves one programme: another's issuer would give its numbers and its address
    to this programme's card."""
    issuer = open_issuer(data_dir / "issuer", program_id)
    made_for = issuer.config.get("program")
    if made_for != program_id:
        issuer.close()
        raise CitycardError(
            f"{data_dir} holds the issuer of programme {made_for!r}, not {program_id!r}: run the "
            f"demo for {program_id} with another --data directory (or with --program {made_for})."
        )
    return IssuerAllocator.ensure_kiosk(issuer, KIOSK_ID)


def _renewal(
    old_data: bytes, program: Any, allocator: Allocator, echo: Callable[[str], None]
) -> Successor:
    """Verify the card presented for renewal against the issuer's published files (this
    process's issuer, or the registry's); OldCardRefused (one sentence) if it may not be renewed."""
    old = verify_old_card(allocator, old_data, program)
    state = "valid" if old.verdict.name == "VALID" else f"expired on {old.expires.isoformat()}"
    echo(f"Renewing card {old.document_number} ({state}): the new card keeps its number.")
    return Successor(RENEWAL, old.document_number)


def _old_verdict(out_dir: Path, old_data: bytes | None, successor: Successor) -> dict[str, Any]:
    """What a reader with OUT_DIR/trust says about the old card now (SUPERSEDED, REVOKED)."""
    out: dict[str, Any] = {"document_number": successor.document_number}
    if old_data is None:
        return out  # a lost card: not at hand
    verifier, _problems = load_verifier(out_dir / "trust")
    credential, qr = credential_of(old_data)
    if qr:
        res = verifier.verify(credential, variant=Variant.PRINT)
    else:
        res = verifier.verify_without_chip(credential)
    out.update(verdict=res.verdict.name, message=res.message)
    return out


def _verdict(out_dir: Path, card: Any, print_cose: bytes | None, target_cls: Any) -> dict[str, Any]:
    """What a venue's reader says about the new card: the chip read on nfcpy's udp radio
    (chip profiles) and the QR text (always), against OUT_DIR/trust."""
    from cardio.nfc_backend import NfcConnection

    verifier, problems = load_verifier(out_dir / "trust")
    out: dict[str, Any] = {"problems": problems}
    if card is not None:
        with target_cls(card) as target, NfcConnection.wait(target.path, timeout=10) as conn:
            read = read_card(conn, verifier)
        if read.ndef is not None:
            (out_dir / "chip.ndef").write_bytes(read.ndef)
        out.update(_public(read.result.to_json()))
        out["reader"] = "nfcpy udp (hardware.nfc_udp), citycard-reader read"
        out["chip"] = {
            "uid": read.uid.hex().upper(),
            "apdus": read.apdus,
            "ndef_bytes": len(read.ndef or b""),
        }
    if print_cose is not None:
        (out_dir / "qr.txt").write_text(to_qr(print_cose), "ascii")
        qr = verifier.verify_qr(to_qr(print_cose))
        out["qr"] = _public(qr.to_json())
        if card is None:
            out.update(_public(qr.to_json()))
            out["reader"] = "QR text (citycard-reader verify --qr)"
    return out


def _public(verdict: dict[str, Any]) -> dict[str, Any]:
    """The verdict with the photo replaced by its size (the JSON stays readable)."""
    claims = verdict.get("claims")
    if isinstance(claims, dict) and "photo_base64" in claims:
        claims = dict(claims)
        claims["photo_bytes"] = len(base64.b64decode(claims.pop("photo_base64")))
        verdict = {**verdict, "claims": claims}
    return verdict
