"""The personalisation job: happy path, typed failures that void the card, retries that never
issue twice, and recovery after a crash — in process (LocalConnection) and through the real
pcscd + vpcd stack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from api.issuer.registry import ISSUED, REVOKED, VALID, VOIDED
from api.issuer.service import Issuer
from cardio.chip import CardProfile, read_card
from cardio.credential import to_qr
from cardio.pcsc import PcscConnection
from cardio.published import load_verifier
from cardio.verdict import Verdict
from cardio.verify import COMPARE_PRINTED_CARD
from hardware.local import LocalConnection
from hardware.virtual_t4t import Faults, VirtualType4Card
from kiosk.allocator import Allocation, AllocationError
from kiosk.job import (
    AllocationFailedError,
    CardAlreadyUsedError,
    CardPrinterFailedError,
    CardPulledError,
    CardTooSmallForCredentialError,
    JobClosedError,
    JobError,
    JobStep,
    NoBlankCardError,
    PcscWriter,
    ProfileTooSmallError,
    Progress,
    ReceiptPrinterFailedError,
    new_request_id,
    recover,
)
from kiosk.journal import Record
from printer.card_design import CardData
from printer.card_printer import CardJobResult, FileCardPrinter, OutOfCardsError, PrinterStatus
from tests.pcsc_fixtures import VpcdCards, requires_pcscd

from .kiosk_helpers import Kiosk, LocalWriter, enrolment, make_kiosk

READER = "Virtual PCD 00 00"


def _verify_chip(kiosk: Kiosk, card: VirtualType4Card) -> Verdict:
    kiosk.issuer.publish()
    with LocalConnection(card, extended_length=True) as conn:
        return read_card(conn, load_verifier(kiosk.issuer.dir)[0]).result.verdict


def test_happy_path_in_process(tmp_path: Path) -> None:
    card = VirtualType4Card("t4t")
    kiosk = make_kiosk(tmp_path, LocalWriter(card))
    seen: list[Progress] = []
    job = kiosk.station.job(new_request_id(), enrolment(), on_progress=seen.append)
    result = job.run()

    assert result.document_number.startswith("DEV") and not result.repeated
    assert result.receipt_printed and result.profile is CardProfile.T4T
    assert str(result.expires) == "2030-06-30"
    assert card.locked and _verify_chip(kiosk, card) is Verdict.VALID
    [row] = kiosk.cards()
    assert (row.document_number, row.state, row.status) == (result.document_number, ISSUED, VALID)
    assert (kiosk.out / "card-front.png").is_file() and (kiosk.out / "card-back.png").is_file()
    receipt = (kiosk.out / "receipt.escpos").read_bytes()
    assert result.document_number.encode() in receipt and b"Mira" not in receipt

    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    steps = list(dict.fromkeys(p.step for p in seen))
    assert steps == [JobStep.WAIT_CARD, JobStep.ALLOCATE, JobStep.SIGN, JobStep.WRITE_CHIP,
                     JobStep.PRINT_CARD, JobStep.PRINT_RECEIPT, JobStep.FORGET, JobStep.DONE]  # fmt: skip
    assert job.forgotten
    history = kiosk.station.journal.jobs()[result.job_id]
    assert history.steps == ["started", "allocating", "allocated", "bound", "signed",
                             "chip_writing", "chip_written", "card_printing", "card_printed",
                             "receipt_printed", "done"]  # fmt: skip


def test_print_profile_has_no_chip_step(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    result = kiosk.station.job(new_request_id(), enrolment(CardProfile.PRINT)).run()
    assert "bound" not in kiosk.station.journal.jobs()[result.job_id].steps
    assert (kiosk.out / "card-back.png").is_file()


def test_same_request_twice_issues_once(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("t4t")))
    request = new_request_id()
    first = kiosk.station.job(request, enrolment()).run()
    # A double submit, or the UI retrying after a lost answer: same request id.
    writer = kiosk.station.writer
    kiosk.station.writer = LocalWriter(VirtualType4Card("t4t"))  # a fresh blank is on the writer
    again = kiosk.station.job(request, enrolment()).run()
    assert again.repeated and again.document_number == first.document_number
    assert len(kiosk.cards()) == 1
    assert isinstance(kiosk.station.writer, LocalWriter) and kiosk.station.writer is not writer
    # The same job object answers from memory too.
    job = kiosk.station.job(new_request_id(), enrolment())
    assert job.run() is job.run()
    assert len(kiosk.cards()) == 2


def test_card_too_small_is_voided_and_a_retry_on_a_big_card_issues_one(tmp_path: Path) -> None:
    # a 256-byte chip in the writer of a programme whose cards have the photo on the chip
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("compact")))
    request = new_request_id()
    with pytest.raises(CardTooSmallForCredentialError) as exc:
        kiosk.station.job(request, enrolment(CardProfile.T4T)).run()
    err = exc.value
    assert err.code == "card_too_small" and err.step is JobStep.WRITE_CHIP and err.retry
    assert "more memory" in str(err) and err.voided and err.voided in str(err)
    [row] = kiosk.cards()
    assert (row.document_number, row.state, row.status) == (err.voided, VOIDED, REVOKED)

    kiosk.station.writer = LocalWriter(VirtualType4Card("t4t"))
    result = kiosk.station.job(request, enrolment(CardProfile.T4T)).run()
    rows = {r.document_number: r for r in kiosk.cards()}
    assert result.document_number != err.voided
    assert [r.document_number for r in rows.values() if r.status == VALID] == [
        result.document_number
    ]
    assert kiosk.station.job(request, enrolment()).run().repeated
    assert len(kiosk.cards()) == 2


def test_compact_card_in_process_carries_the_compact_credential(tmp_path: Path) -> None:
    card = VirtualType4Card("compact")
    kiosk = make_kiosk(tmp_path, LocalWriter(card))
    result = kiosk.station.job(new_request_id(), enrolment(CardProfile.COMPACT, given="Li")).run()
    assert card.locked and result.profile is CardProfile.COMPACT
    kiosk.issuer.publish()
    with LocalConnection(card) as conn:
        read = read_card(conn, load_verifier(kiosk.issuer.dir)[0])
    assert read.result.verdict is Verdict.VALID, read.result
    assert read.result.warnings[0] == COMPARE_PRINTED_CARD
    claims = read.result.claims
    assert claims is not None and claims["document_number"] == result.document_number
    assert claims["variant"] == "compact" and "family_name" not in claims
    [row] = kiosk.cards()
    assert (row.state, row.status) == (ISSUED, VALID)


def test_a_card_its_chip_cannot_hold_is_refused_before_a_card_or_number_is_taken(
    tmp_path: Path,
) -> None:
    # no card on the writer either: the room check comes first, so nothing is connected to
    kiosk = make_kiosk(tmp_path, LocalWriter(None))
    holder = replace(enrolment(CardProfile.COMPACT).holder, entitlements=("bowling",))
    with pytest.raises(ProfileTooSmallError) as exc:
        kiosk.station.job(new_request_id(), replace(enrolment(CardProfile.COMPACT), holder=holder)).run()
    err = exc.value
    assert err.code == "profile_too_small" and not err.retry and err.step is JobStep.WAIT_CARD
    assert err.voided is None and err.void_pending is None and "'bowling'" in str(err)
    assert kiosk.cards() == []
    [history] = kiosk.station.journal.jobs().values()
    assert history.steps == ["started", "failed"] and history.outcome == "profile_too_small"

    # an issuer id too long for the programme's entitlements on a 256-byte chip
    long_issuer = Issuer.init(tmp_path / "long", issuer_id="city-" + "x" * 59)
    kiosk = make_kiosk(tmp_path / "k2", LocalWriter(VirtualType4Card("compact")), long_issuer)
    with pytest.raises(ProfileTooSmallError, match="cannot hold"):
        kiosk.station.job(new_request_id(), enrolment(CardProfile.COMPACT)).run()
    assert kiosk.cards() == []


def test_a_used_card_is_refused(tmp_path: Path) -> None:
    card = VirtualType4Card("t4t")
    kiosk = make_kiosk(tmp_path, LocalWriter(card))
    kiosk.station.job(new_request_id(), enrolment()).run()
    with pytest.raises(CardAlreadyUsedError) as exc:
        kiosk.station.job(new_request_id(), enrolment()).run()
    assert "reject tray" in str(exc.value) and exc.value.voided


def test_no_card_on_the_writer_allocates_nothing(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, LocalWriter(None))
    with pytest.raises(NoBlankCardError) as exc:
        kiosk.station.job(new_request_id(), enrolment()).run()
    assert exc.value.voided is None and "blank card" in str(exc.value)
    assert kiosk.cards() == []
    [history] = kiosk.station.journal.jobs().values()
    assert history.steps == ["started", "failed"] and history.outcome == "no_card"


class _OutOfCards(FileCardPrinter):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.empty = True

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        if self.empty:
            raise OutOfCardsError("The card printer has no blank cards: fill the card feeder.")
        return super().print_card(front_png, back_png)

    def status(self) -> PrinterStatus:
        return PrinterStatus(not self.empty, "idle")


def test_card_printer_failure_voids_and_a_retry_issues_one(tmp_path: Path) -> None:
    printer = _OutOfCards(tmp_path / "out")
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("t4t")), card_printer=printer)
    request = new_request_id()
    with pytest.raises(CardPrinterFailedError) as exc:
        kiosk.station.job(request, enrolment()).run()
    assert "fill the card feeder" in str(exc.value) and exc.value.voided
    assert not (tmp_path / "out" / "card-front.png").exists()
    printer.empty = False
    kiosk.station.writer = LocalWriter(VirtualType4Card("t4t"))  # a new blank card
    result = kiosk.station.job(request, enrolment()).run()
    states = sorted((r.state, r.status) for r in kiosk.cards())
    assert states == [(ISSUED, VALID), (VOIDED, REVOKED)]
    assert result.document_number != exc.value.voided


def test_receipt_failure_keeps_the_card_and_the_job_prints_it_again(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("t4t")))
    kiosk.receipts.paper = False
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError) as exc:
        job.run()
    assert exc.value.card_made and exc.value.voided is None
    assert "paper" in str(exc.value)
    [row] = kiosk.cards()
    assert (row.state, row.status) == (ISSUED, VALID)
    assert not job.forgotten  # the receipt (no personal data) waits in memory
    kiosk.receipts.paper = True
    result = job.run()
    assert result.receipt_printed and result.document_number == row.document_number
    assert job.forgotten and len(kiosk.cards()) == 1


class _FlakyAllocator:
    """Wraps the real allocator; fails `allocate` once in the way it is told."""

    def __init__(self, inner: object, failure: Exception) -> None:
        self.inner = inner
        self.failure: Exception | None = failure

    def allocate(self, request_id: str) -> Allocation:
        if self.failure is not None:
            failure, self.failure = self.failure, None
            if isinstance(failure, ConnectionError):  # the answer was lost after the server acted
                self.inner.allocate(request_id)  # type: ignore[attr-defined]
            raise failure
        return self.inner.allocate(request_id)  # type: ignore[attr-defined, no-any-return]

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        self.inner.report_issued(document_number, issued_at, expires_at)  # type: ignore[attr-defined]

    def void(self, document_number: str) -> None:
        self.inner.void(document_number)  # type: ignore[attr-defined]


def test_allocator_refusal_and_lost_answer(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("t4t")))
    flaky = _FlakyAllocator(kiosk.allocator, AllocationError("This kiosk may not allocate cards."))
    kiosk.station.allocator = flaky
    with pytest.raises(AllocationFailedError) as exc:
        kiosk.station.job(new_request_id(), enrolment()).run()
    assert "may not allocate" in str(exc.value) and kiosk.cards() == []

    # The registry allocated, but its answer never arrived: the job cannot know the number.
    flaky.failure = ConnectionError("connection reset")
    request = new_request_id()
    with pytest.raises(JobError):
        kiosk.station.job(request, enrolment()).run()
    [row] = kiosk.cards()
    assert row.state == "allocated"
    [pending] = kiosk.station.journal.unfinished()
    assert pending.last == "allocating"
    # A retry of the request first recovers the lost allocation (same key: same number) ...
    result = kiosk.station.job(request, enrolment()).run()
    assert result.notices and result.notices[0].kind == "voided"
    rows = {r.document_number: (r.state, r.status) for r in kiosk.cards()}
    assert rows[row.document_number] == (VOIDED, REVOKED)
    assert rows[result.document_number] == (ISSUED, VALID)
    assert kiosk.station.journal.unfinished() == []


def test_recover_after_a_crash(tmp_path: Path) -> None:
    """What a kiosk killed at various steps leaves in the journal, and what recovery does."""
    kiosk = make_kiosk(tmp_path, None)
    journal, allocator = kiosk.station.journal, kiosk.allocator

    def crashed_job(job: str, steps: list[str], allocate: bool = True) -> str | None:
        req = "crash-" + job[:8]
        key = f"{req}.1"
        doc = None
        for step in steps:
            values: dict[str, object] = {}
            if step == "allocating":
                values["alloc"] = key
                if allocate:
                    got = allocator.allocate(key)
                    doc = got.document_number
                    if "allocated" in steps:
                        values = {"alloc": key, "doc": doc, "list": got.status_list,
                                  "idx": got.status_index}  # fmt: skip
            journal.append(Record(job=job, req=req, step=step, t=1.0, **values))  # type: ignore[arg-type]
        return doc

    base = ["started", "allocating", "allocated", "bound", "signed", "chip_writing"]
    written = crashed_job("a" * 32, [*base, "chip_written", "card_printing"])
    lost_answer = crashed_job("b" * 32, ["started", "allocating"])
    before_alloc = crashed_job("c" * 32, ["started"], allocate=False)
    printed = crashed_job("d" * 32, [*base, "chip_written", "card_printing", "card_printed"])
    assert written and lost_answer and printed and before_alloc is None
    allocator.report_issued(printed, 1_800_000_000, 1_900_000_000)

    with journal.exclusive():
        notices = recover(journal, allocator)
    kinds = {n.job_id[0]: n.kind for n in notices}
    assert kinds == {"a": "voided", "b": "voided", "c": "interrupted", "d": "kept"}
    by_doc = {n.document_number: n for n in notices}
    assert "reject tray" in by_doc[written].message and written in by_doc[written].message
    assert "valid" in by_doc[printed].message
    states = {r.document_number: (r.state, r.status) for r in kiosk.cards()}
    assert states[written] == (VOIDED, REVOKED) and states[lost_answer] == (VOIDED, REVOKED)
    assert states[printed] == (ISSUED, VALID)
    assert journal.unfinished() == []
    with journal.exclusive():
        assert recover(journal, allocator) == []  # nothing twice


def test_recovery_retries_a_void_the_registry_refused(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    journal = kiosk.station.journal
    got = kiosk.allocator.allocate("req-void-later.1")
    for step in ("started", "allocating", "allocated"):
        journal.append(Record(job="e" * 32, req="req-void-later", step=step, t=1.0,
                              alloc="req-void-later.1", doc=got.document_number, list="1",
                              idx=got.status_index))  # fmt: skip

    class Down:
        def allocate(self, request_id: str) -> Allocation:
            raise AllocationError("down")

        def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
            raise AllocationError("down")

        def void(self, document_number: str) -> None:
            raise AllocationError("The registry does not answer.")

    with journal.exclusive():
        [notice] = recover(journal, Down())
    assert notice.kind == "pending" and "next start" in notice.message
    assert len(journal.unfinished()) == 1
    with journal.exclusive():
        [notice] = recover(journal, kiosk.allocator)
    assert notice.kind == "voided"
    assert kiosk.cards()[0].state == VOIDED


def test_repr_and_errors_show_nothing_personal(tmp_path: Path) -> None:
    # a card with the photo on the chip, on a 256-byte chip: the job fails
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("compact")))
    e = enrolment(CardProfile.T4T)
    assert "Mira" not in repr(e) and "Beispiel" not in repr(e)
    with pytest.raises(JobError) as exc:
        kiosk.station.job(new_request_id(), e).run()
    assert "Mira" not in str(exc.value)
    with pytest.raises(ValueError):
        kiosk.station.job("Mira Beispiel-Musterfrau", e)


# -- through the real pcscd + vpcd stack -------------------------------------------------------


@requires_pcscd
def test_happy_path_through_pcscd(vpcd_cards: VpcdCards, tmp_path: Path) -> None:
    card = VirtualType4Card("t4t")
    vpcd_cards.attach(0, card)
    kiosk = make_kiosk(tmp_path, PcscWriter(READER, timeout=5))
    result = kiosk.station.job(new_request_id(), enrolment()).run()
    assert card.locked
    kiosk.issuer.publish()
    with PcscConnection.wait(READER, timeout=5) as conn:
        read = read_card(conn, load_verifier(kiosk.issuer.dir)[0])
    assert read.result.verdict is Verdict.VALID, read.result
    assert read.result.claims and read.result.claims["document_number"] == result.document_number
    assert read.result.claims["family_name"] == "Beispiel-Musterfrau"


@requires_pcscd
def test_compact_card_through_pcscd(vpcd_cards: VpcdCards, tmp_path: Path) -> None:
    card = VirtualType4Card("compact")
    vpcd_cards.attach(0, card)
    kiosk = make_kiosk(tmp_path, PcscWriter(READER, timeout=5))
    result = kiosk.station.job(new_request_id(), enrolment(CardProfile.COMPACT, given="Li")).run()
    assert card.locked
    kiosk.issuer.publish()
    with PcscConnection.wait(READER, timeout=5) as conn:
        read = read_card(conn, load_verifier(kiosk.issuer.dir)[0])
    assert read.result.verdict is Verdict.VALID, read.result
    assert read.result.claims and read.result.claims["document_number"] == result.document_number
    assert read.result.warnings[0] == COMPARE_PRINTED_CARD


@requires_pcscd
def test_pulled_card_through_pcscd_is_voided_and_a_retry_issues_once(
    vpcd_cards: VpcdCards, tmp_path: Path
) -> None:
    card = VirtualType4Card("t4t", faults=Faults(pull_after_writes=4))
    vcard = vpcd_cards.attach(0, card)
    kiosk = make_kiosk(tmp_path, PcscWriter(READER, timeout=5))
    request = new_request_id()
    e = enrolment()
    job = kiosk.station.job(request, e)
    with pytest.raises(CardPulledError) as exc:
        job.run()
    err = exc.value
    assert err.code == "card_removed" and "put the same card back" in str(err)
    assert err.voided and not card.locked
    [row] = kiosk.cards()
    assert (row.document_number, row.state, row.status) == (err.voided, VOIDED, REVOKED)

    # The attendant puts the card back and presses Retry: the same job runs again.
    card.faults.pull_after_writes = None
    vcard.insert()
    result = job.run()
    assert result.document_number != err.voided and card.locked
    valid = [r.document_number for r in kiosk.cards() if r.status == VALID]
    assert valid == [result.document_number]
    # Pressing Retry once more (or a new job with the same request id) issues nothing.
    assert job.run() is result
    again = kiosk.station.job(request, replace(e)).run()
    assert again.repeated and again.document_number == result.document_number
    assert len(kiosk.cards()) == 2

    kiosk.issuer.publish()
    verifier = load_verifier(kiosk.issuer.dir)[0]
    with PcscConnection.wait(READER, timeout=5) as conn:
        assert read_card(conn, verifier).result.verdict is Verdict.VALID


def test_qr_on_the_printed_card_is_the_signed_print_credential(tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("t4t")))
    seen: list[bytes] = []
    signer = kiosk.station.signer

    class Keeping:
        def sign(self, *args: object) -> object:
            signed = signer.sign(*args)  # type: ignore[arg-type]
            seen.append(signed.print_cose)
            return signed

    kiosk.station.signer = Keeping()  # type: ignore[assignment]
    kiosk.station.job(new_request_id(), enrolment()).run()
    [cose] = seen
    with Image.open(kiosk.out / "card-back.png") as back:
        [code] = zxingcpp.read_barcodes(back, formats=zxingcpp.BarcodeFormat.QRCode)
    assert code.text == to_qr(cose)
    kiosk.issuer.publish()
    assert load_verifier(kiosk.issuer.dir)[0].verify_qr(code.text).verdict is Verdict.VALID


def test_forgetting_a_job_whose_receipt_failed_closes_it(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, LocalWriter(VirtualType4Card("t4t")))
    kiosk.receipts.paper = False
    job = kiosk.station.job(new_request_id(), enrolment())
    with pytest.raises(ReceiptPrinterFailedError):
        job.run()
    job.forget()  # the resident left; the UI wipes the session
    assert job.forgotten
    history = kiosk.station.journal.jobs()[job.job_id or ""]
    assert history.done and history.outcome == "receipt_missing"
    assert kiosk.station.recover() == []
    with pytest.raises(JobClosedError):
        job.run()
    assert kiosk.cards()[0].state == ISSUED


def test_url_safe_tokens_are_request_ids(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, None)
    for request in ("-Ab3_x9Qk2LmN0pQrStUvW", "_" * 8, "a1" * 28):
        result = kiosk.station.job(request, enrolment(CardProfile.PRINT)).run()
        assert result.request_id == request


def test_printed_fields_reach_the_card_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address is printed (the card differs, CardData carries it) but is in no credential,
    the journal or a log."""
    import kiosk.printing as printing

    seen: list[CardData] = []
    real = CardData.from_credential

    def spy(*args: Any, **kwargs: Any) -> CardData:
        data = real(*args, **kwargs)
        seen.append(data)
        return data

    monkeypatch.setattr(printing, "CardData", type("SpyCardData", (), {"from_credential": spy}))
    address = "Calle Inventada 12, Queens"
    backs = []
    for extra in ((), (("address", address),)):
        kiosk = make_kiosk(tmp_path / str(len(extra)), None)
        e = replace(enrolment(CardProfile.PRINT), printed_fields=extra)
        assert address not in repr(e)
        kiosk.station.job(new_request_id(), e).run()
        backs.append((kiosk.out / "card-back.png").read_bytes())
        for path in (tmp_path / str(len(extra)) / "kiosk").rglob("*"):
            assert not path.is_file() or address.encode() not in path.read_bytes()
    assert backs[0] != backs[1]
    assert seen[0].extra_fields == () and seen[1].extra_fields == (("address", address),)
    assert address not in repr(seen[1])
