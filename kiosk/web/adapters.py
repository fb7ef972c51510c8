"""Fitting the kiosk's modules to the UI's ports (`kiosk.web.ports`).

- `program_view`: a `kiosk.programs.Program` as the UI shows it (fields, documents, waivers).
- `EngineRules`: `kiosk.rules.decide`, its reasons rendered in the resident's language.
- `PipelinePhotos`: `kiosk.photo.prepare_photos` with its face check, with its reason codes turned into messages.
- `StationJobs`: `kiosk.job.Station` as the UI's card job (progress steps, errors, retries).
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from PIL import ExifTags, Image

from cardio.chip import CardProfile, read_card
from cardio.credential import Holder
from cardio.errors import CitycardError
from kiosk import job as card_job
from kiosk import photo as photo_pipeline
from kiosk import renewal, rules
from kiosk.languages import Localized
from kiosk.printing import PRINTED_ONLY_FIELDS, card_design, card_fit_problems, fit_problem_sentence
from kiosk.profile_texts import (
    DISCLAIMER,
    DOCUMENT,
    DOCUMENT_EXAMPLE,
    VALIDITY_END,
    complete,
    complete_list,
)
from kiosk.programs import Claim, Program, Purpose, Requirement
from kiosk.wallet_offer import PhoneOffers

from ..i18n import BY_CODE, Catalogues
from . import messages as msg
from .notices import NoticeBoard
from .ports import (
    ApplicationForm,
    CardFate,
    CardRequest,
    DecisionView,
    DocumentSpec,
    FieldKind,
    FieldSpec,
    JobFailed,
    JobProgress,
    Money,
    Photo,
    PhotoRejected,
    ProgramView,
    ReasonKind,
    ReasonView,
    StationNotice,
    WaiverSpec,
)
from .rules_text import RuleTexts

# Fields the UI asks for on its own steps (not on the personal data form).
OWN_STEPS = frozenset({"birth_date", "photo", "signature"})
EYE_COLOURS = ("brown", "blue", "green", "grey", "hazel", "black", "other")
HAIR_COLOURS = ("black", "brown", "blond", "red", "grey", "white", "bald", "other")
CHIP_PHOTO_BUDGET = 3072  # bytes of JPEG on the chip (docs/credential.md: ~3 KB)
PRINT_PHOTO_BUDGET = 24 * 1024
_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


def localized_list(text: Localized[tuple[str, ...]]) -> Localized[str]:
    """A list per language (document examples) as one line per language."""
    return Localized(tuple((lang, "; ".join(values)) for lang, values in text.items))


def field_spec(program: Program, field: str) -> FieldSpec:
    required = program.fields.requirement(field) is Requirement.REQUIRED
    if field in ("family_name", "given_name"):
        return FieldSpec(field, required, FieldKind.NAME)
    if field == "sex":
        return FieldSpec(field, required, FieldKind.CHOICE, choices=program.fields.sex_values)
    if field == "eye_colour":
        return FieldSpec(field, required, FieldKind.CHOICE, choices=EYE_COLOURS)
    if field == "hair_colour":
        return FieldSpec(field, required, FieldKind.CHOICE, choices=HAIR_COLOURS)
    if field in ("organ_donor", "veteran"):
        return FieldSpec(field, required, FieldKind.CHOICE, choices=("yes", "no"))
    if field == "preferred_language":
        codes = [c for c in dict.fromkeys(code.split("-")[0] for code in program.languages) if c in BY_CODE]
        return FieldSpec(field, required, FieldKind.CHOICE, choices=tuple(codes or BY_CODE))
    if field == "height":
        return FieldSpec(field, required, FieldKind.NUMBER, min_value=40, max_value=250)
    if field == "weight":
        return FieldSpec(field, required, FieldKind.NUMBER, min_value=2, max_value=400)
    if field in ("address", "medical_info", "integration_evidence"):
        return FieldSpec(field, required, FieldKind.MULTILINE, max_length=200)
    return FieldSpec(field, required, FieldKind.TEXT, max_length=100)


def _collected(program: Program) -> Iterable[str]:
    """Required then optional fields, names first, in the programme's order."""
    names = [f for f in ("family_name", "given_name") if f in program.fields.required]
    rest = [f for f in (*program.fields.required, *program.fields.optional) if f not in names]
    return [f for f in (*names, *rest) if f not in OWN_STEPS]


def _group(proves: frozenset[Purpose]) -> str:
    for purpose in (Purpose.IDENTITY, Purpose.RESIDENCE, Purpose.ELIGIBILITY):
        if purpose in proves:
            return purpose.value
    return Purpose.ELIGIBILITY.value


def program_view(program: Program) -> ProgramView:
    documents = tuple(
        sorted(
            (
                DocumentSpec(
                    id=doc.code,
                    label=complete(doc.names, DOCUMENT),
                    group=_group(doc.proves),
                    note=localized_list(complete_list(doc.examples, DOCUMENT_EXAMPLE)),
                )
                for doc in program.documents
            ),
            key=lambda d: list(msg.DOCUMENT_GROUPS).index(d.group),
        )
    )
    low_income = any(r.claim is Claim.LOW_INCOME for r in program.fees.reductions)
    waivers = (WaiverSpec(Claim.LOW_INCOME.value, msg.LOW_INCOME),) if low_income else ()
    return ProgramView(
        id=program.id,
        name=program.card.design.display_name,
        languages=tuple(dict.fromkeys(lang.split("-")[0] for lang in program.languages)),
        fields=tuple(field_spec(program, f) for f in _collected(program)),
        documents=documents,
        document_groups=msg.DOCUMENT_GROUPS,
        waivers=waivers,
        asks_photo=program.fields.requirement("photo") in (Requirement.REQUIRED, Requirement.OPTIONAL),
        photo_required=program.fields.requirement("photo") is Requirement.REQUIRED,
        prints_signature=program.card.design.signature,
        asks_guardian=program.eligibility.guardian_age is not None
        and program.eligibility.guardian_age < program.eligibility.minimum_age,
        residence_days=program.eligibility.residence_days,
        disclaimer=complete(program.card.design.disclaimer, DISCLAIMER),
        end_date_label=(
            complete(program.validity.until, VALIDITY_END) if program.validity.until else None
        ),
        raw=program,
    )


_KINDS = {
    rules.Effect.REFUSE: ReasonKind.REFUSE,
    rules.Effect.ATTENDANT: ReasonKind.ATTENDANT,
    rules.Effect.CHECK: ReasonKind.CHECK,
    rules.Effect.INFO: ReasonKind.INFO,
}


def rules_application(program: Program, application: ApplicationForm) -> rules.Application:
    provided = {name for name, value in application.fields.items() if value}
    provided |= set(application.provided)
    lived = application.lived_long_enough
    days = program.eligibility.residence_days
    return rules.Application(
        birth_date=application.birth_date,
        has_guardian=application.guardian_present,
        residence_days=None if lived is None or days <= 0 else (days if lived else 0),
        documents=application.documents,
        fields_provided=frozenset(provided),
        claims=frozenset(Claim(w) for w in application.waivers if w in Claim.__members__.values()),
        kind=rules.CardKind(application.card_kind),
        valid_until=application.valid_until,
    )


def successor_of(application: ApplicationForm) -> card_job.Successor | None:
    """The job's successor for a renewal or replacement (the number the card keeps)."""
    if application.card_kind == rules.CardKind.FIRST.value or not application.document_number:
        return None
    return card_job.Successor(application.card_kind, application.document_number)


class EngineRules:
    """The rules port on `kiosk.rules.decide`. Reasons keep the engine's message id and
    parameters and are rendered in the language of the page that shows them."""

    def __init__(self, render: Callable[[rules.Reason, str, Program], str] | None = None) -> None:
        if render is None:
            render = RuleTexts(Catalogues()).render
        self._render = render

    def decide(self, program: ProgramView, application: ApplicationForm, today: date) -> DecisionView:
        raw = program.raw
        if not isinstance(raw, Program):
            raise TypeError("EngineRules needs a programme loaded by kiosk.programs")
        decision = rules.decide(raw, rules_application(raw, application), today)
        reasons = tuple(
            ReasonView(
                reason.id,
                params=reason.args,
                kind=_KINDS[reason.effect],
                code=reason.id,
                render=self._renderer(reason, raw),
            )
            for reason in decision.reasons
        )
        fee = decision.fee
        return DecisionView(
            outcome=decision.outcome,
            reasons=reasons,
            fee=Money(int((fee.amount * 100).to_integral_value()), fee.currency),
            valid_until=decision.validity.expires,
            raw=decision,
        )


    def card_fit(
        self, program: ProgramView, application: ApplicationForm, today: date
    ) -> tuple[tuple[str | None, str], ...]:
        """(field, sentence) for each detail the programme's card cannot print, measured as the
        job will draw it (kiosk.printing.card_fit_problems), so the details step refuses it
        before the resident goes on; the photo and signature come later and take the space
        the layout keeps for them whether or not they are there yet."""
        raw = program.raw
        if not isinstance(raw, Program) or not {"family_name", "given_name"} <= application.fields.keys():
            return ()
        request = CardRequest("fit-check", program, application, DecisionView(rules.Outcome.ELIGIBLE), None, None)
        design = card_design(raw, raw.id, application.lang)
        problems = card_fit_problems(
            design, holder_of(request), None, None, printed_fields(request), today
        )
        return tuple(
            (p.field, fit_problem_sentence(p, application.lang, raw.languages)) for p in problems
        )

    def _renderer(self, reason: rules.Reason, program: Program) -> Callable[[str], str]:
        render = self._render
        return lambda lang: render(reason, lang, program)


@dataclass(frozen=True, slots=True)
class CardPhotos:
    """The two portraits the job needs: the chip's (None without photo on chip) and the print's."""

    chip: photo_pipeline.PreparedPhoto | None
    printed: photo_pipeline.PreparedPhoto


class PipelinePhotos:
    """The photo port on `kiosk.photo.prepare_photos`: a print portrait and, where the card
    profile puts one on the chip, a chip portrait within the chip's byte budget, from a frame
    that shows exactly one face."""

    def prepare(self, program: ProgramView, data: bytes) -> Photo:
        raw = program.raw
        on_chip = isinstance(raw, Program) and raw.card.profile.photo_on_chip
        try:  # a camera frame nobody checked yet: it must show the resident's face, alone
            chip, printed = photo_pipeline.prepare_photos(
                data, CHIP_PHOTO_BUDGET if on_chip else None, PRINT_PHOTO_BUDGET, face_check=True
            )
        except photo_pipeline.PhotoError as exc:
            message = msg.PHOTO_REASONS.get(exc.reason, msg.PHOTO_REASONS["photo"])
            # The pipeline's "not_portrait" is a picture too wide or too tall; its message says
            # "too wide", so a tall one gets the plain "cannot use this photo" instead.
            if exc.reason == "not_portrait" and not shown_wider_than_tall(data):
                message = msg.PHOTO_REASONS["photo"]
            params = {"megapixels": str(photo_pipeline.MAX_PIXELS // 1_000_000)}
            if exc.reason != "too_many_pixels":
                params = {}
            raise PhotoRejected(ReasonView(message, params, code=exc.reason)) from None
        return Photo(jpeg=printed.jpeg, raw=CardPhotos(chip, printed))


def shown_wider_than_tall(data: bytes) -> bool:
    """Whether a picture, turned upright by its EXIF orientation as the pipeline turns it, is
    wider than tall; from its header alone (nothing decoded), False when unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            # A PNG's EXIF may follow its pixels (reading it would decode them): then upright.
            exif_read = image.format != "PNG" or "exif" in image.info
            if exif_read and image.getexif().get(ExifTags.Base.Orientation) in _QUARTER_TURNS:
                width, height = height, width
    except Exception:  # Pillow raises many types on hostile input; the message is all at stake
        return False
    return width > height


def card_language(program: Program) -> str:
    """The language the card is printed in (its design's first), as a kiosk catalogue code."""
    languages = program.card.design.languages
    return languages[0].split("-")[0] if languages else "en"


def printed_fields(
    request: CardRequest, catalogues: Catalogues | None = None
) -> tuple[tuple[str, str], ...]:
    """The programme's fields printed on the card only (kiosk.printing.PRINTED_ONLY_FIELDS:
    address, eye colour, height, emergency contact, ...), as (field code, value) with
    choices, units and language names in the card's language. Names, birth date, sex, photo and
    signature reach the card their own way; empty optional fields are left out."""
    program = request.program.raw
    if not isinstance(program, Program):
        return ()
    lang = card_language(program)
    texts = catalogues or _catalogues()
    values = request.application.fields
    out: list[tuple[str, str]] = []
    for code in (*program.fields.required, *program.fields.optional):
        value = (values.get(code) or "").strip()
        if code not in PRINTED_ONLY_FIELDS or not value:
            continue
        if code == "height":
            value = f"{value} cm"
        elif code == "weight":
            value = f"{value} kg"
        elif code == "preferred_language":
            value = BY_CODE[value].name if value in BY_CODE else value
        elif value in msg.CHOICE_LABELS and field_spec(program, code).kind is FieldKind.CHOICE:
            value = texts.gettext(lang, msg.CHOICE_LABELS[value])
        out.append((code, value))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _catalogues() -> Catalogues:
    return Catalogues()


def holder_of(request: CardRequest) -> Holder:
    """What is printed on the card and held by the chip (cardio's Holder)."""
    app = request.application
    program = request.program.raw
    entitlements = (
        tuple(e.code for e in program.entitlements) if isinstance(program, Program) else ()
    )
    sex = app.fields.get("sex") or None
    return Holder(
        program=request.program.id,
        family_name=app.fields["family_name"],
        given_name=app.fields["given_name"],
        birth_date=app.birth_date,
        sex=sex,
        entitlements=entitlements,
        languages=app.languages or (app.lang,),
    )


def card_fate(exc: card_job.JobError) -> CardFate:
    if exc.card_made:
        return CardFate.MADE
    if exc.voided:
        return CardFate.NUMBER_CANCELLED
    if exc.void_pending:
        return CardFate.CANCEL_PENDING
    return CardFate.NOT_MADE


def job_failed(exc: card_job.JobError, request: CardRequest | None = None) -> JobFailed:
    """The UI's failure for a job's error: what the resident reads, the attendant's sentence,
    whether a retry can work, and what became of the card."""
    fate = card_fate(exc)
    number = request.application.document_number if request is not None else None
    if isinstance(exc, card_job.SuccessorRefusedJobError) and number:
        # A number the resident typed: they can check it and correct it (kiosk.web.flow.old_card).
        reason = ReasonView(msg.SUCCESSOR_REFUSED, {"number": number}, code=exc.code)
    else:
        reason = ReasonView(msg.RECEIPT_FAILED if fate is CardFate.MADE else msg.JOB_FAILED, code=exc.code)
    return JobFailed(reason, attendant=str(exc), retry=exc.retry, card=fate)


def busy_failure() -> JobFailed:
    """Another card is being made on this station: nothing was taken, waiting helps."""
    return JobFailed(ReasonView(msg.KIOSK_BUSY, code="busy"), retry=True, card=CardFate.NOT_MADE)


def station_notice(notice: card_job.Notice) -> StationNotice:
    """A job's notice as the attendant page shows it (its kind, not its English sentence)."""
    return StationNotice(notice.kind, notice.document_number, notice.torn_receipt)


class StationJobs:
    """The card-job port on a `kiosk.job.Station`.

    A failed job is kept (in memory) under its request id, so "Try again" runs the same job
    again: a receipt that failed is printed again, a failed card gets a new number, and a card
    that was made is never made twice (the station's journal sees to that). The notices of a
    restart's recovery (`post_notices`) and of the jobs wait on `notices` for the attendant.
    """

    def __init__(self, station: card_job.Station) -> None:
        self.station = station
        self._failed: dict[str, card_job.PersonalisationJob] = {}
        self._lock = threading.Lock()
        self.offers = PhoneOffers(station)  # the card for the phone too (docs/wallet.md)
        self.notices = NoticeBoard()

    @classmethod
    def after_recovery(cls, station: card_job.Station, echo: Callable[[str], None]) -> StationJobs:
        """The port of a kiosk that starts: the station's recovery runs first (kiosk.job.
        recover), and its notices go to the console and wait for the attendant page."""
        jobs = cls(station)
        notices = station.recover()
        for notice in notices:
            echo(f"Attendant: {notice.message}")
        jobs.post_notices(notices)
        return jobs

    def post_notices(self, notices: Iterable[card_job.Notice]) -> None:
        self.notices.post(station_notice(n) for n in notices)

    def enrolment(self, request: CardRequest) -> card_job.Enrolment:
        program = request.program.raw
        photos = request.photo.raw if request.photo is not None else None
        chip = photos.chip if isinstance(photos, CardPhotos) else None
        printed = photos.printed if isinstance(photos, CardPhotos) else None
        if isinstance(program, Program):
            profile = program.card.profile
            name = program.card.design.display_name.get(request.application.lang)
        else:
            profile, name = CardProfile.PRINT, request.program.name.get()
        return card_job.Enrolment(
            holder=holder_of(request),
            profile=profile,
            chip_photo=chip.jpeg if chip is not None else None,
            print_photo=printed.jpeg if printed is not None else None,
            signature_png=request.signature_png,
            expires=request.decision.valid_until,
            language=request.application.lang,
            program=program,
            programme_name=name,
            printed_fields=printed_fields(request),
            successor=successor_of(request.application),
        )

    def paper_near_end(self) -> bool:
        """Whether the receipt printer said its roll is nearly empty (after its last receipt)."""
        return bool(getattr(self.station.receipt_printer, "paper_near_end", False))

    def check_old_card(self, data: bytes | None, program: ProgramView) -> str:
        """The document number of the card presented for renewal, verified against the
        city's published files (kiosk.renewal); `data` is its QR text or chip data, None to
        read it on the card writer. OldCardRefused (one sentence) when it may not be renewed."""
        raw = program.raw if isinstance(program.raw, Program) else None
        source = self.station.allocator
        if data is not None:
            return renewal.verify_old_card(source, data, raw).document_number
        writer = self.station.writer
        if writer is None:
            raise renewal.OldCardRefused("no_writer", renewal.NO_WRITER)
        try:
            connection = writer.connect()
        except CitycardError as exc:
            raise renewal.OldCardRefused("no_card", renewal.NO_CARD_ON_WRITER) from exc
        try:
            message = renewal.read_chip(connection)
            return renewal.verify_old_card(
                source, message, raw, lambda v: read_card(connection, v).result.verdict
            ).document_number
        finally:
            connection.close()

    def run(self, request: CardRequest, progress: Callable[[JobProgress], None]) -> None:
        def report(update: card_job.Progress) -> None:
            progress(JobProgress(update.step.value, update.fraction))

        with self._lock:
            job = self._failed.pop(request.request_id, None)
        if job is None:
            job = self.station.job(request.request_id, self.enrolment(request), report)
        else:
            job.on_progress = report
        try:
            result = job.run()
            self.post_notices(result.notices)
            lang = request.application.lang
            self.offers.made(request.request_id, request.program.name.get(lang), lang)
        except card_job.JobError as exc:
            if exc.retry:
                with self._lock:
                    self._failed[request.request_id] = job
            else:
                job.forget()
            raise job_failed(exc, request) from None
        except card_job.StationBusyError:
            raise busy_failure() from None

    def forget(self, request_id: str) -> None:
        self.offers.drop(request_id)
        with self._lock:
            job = self._failed.pop(request_id, None)
        if job is not None:
            job.forget()
