"""A RESIDENT.json as the web kiosk's application, for `citycard-kiosk demo`.

The demo takes the path a resident takes at the kiosk, minus the screens: the programme as the
UI shows it (`kiosk.web.adapters.program_view`), each field checked as the details page checks
it (`kiosk.web.flow.details.check_field`), the application the UI hands the rules engine
(`kiosk.web.adapters.rules_application`), `kiosk.rules.decide` itself, and the photo through
the UI's photo port (`PipelinePhotos`). Whatever stops a card here stops it before a number is
allocated: an unknown programme, an entitlement or language the programme does not offer, a
field that cannot be printed, a resident the rules refuse, a required field or end date that is
missing.

Without `--resident` the demo enrols the programme's own sample resident,
`programs/samples/<id>.json` (fictional people; data, not code).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import combinations
from pathlib import Path

from cardio.chip import CardProfile
from cardio.credential import Holder
from cardio.errors import CitycardError
from cardio.languages import match
from cardio.resident import ResidentApplication, read_application

from . import rules
from .card_glyphs import printable
from .i18n import BY_CODE
from .printing import cannot_print_sentence
from .programs import FIELDS, PROGRAMS_DIR, Program, load_program
from .web.adapters import PipelinePhotos, program_view, rules_application
from .web.flow.details import TYPED, check_field
from .web.ports import ApplicationForm, DecisionView, Money, Photo, PhotoRejected, ProgramView
from .web.validation import InputError

SAMPLES_DIR = PROGRAMS_DIR / "samples"
MAX_DOCUMENTS = 4  # the largest set of document categories tried for a default
_FILES = {"photo": "the path of a photo file", "signature": "the path of a signature image"}


class UnknownProgramError(CitycardError):
    """A programme id with no profile in programs/."""


class ApplicationRefused(CitycardError):
    """The resident's application cannot make a card; the message says why, in one sentence."""


def known_programmes(directory: Path = PROGRAMS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_known_program(program_id: str, profile: CardProfile | None = None) -> Program:
    """The programme `program_id` (with its card profile replaced by `profile`, when given);
    UnknownProgramError listing the known ones when programs/ has no such profile."""
    known = known_programmes()
    if program_id not in known:
        raise UnknownProgramError(
            f"Unknown programme {program_id!r}: the known programmes are {', '.join(known)}."
        )
    program = load_program(program_id)
    if profile is not None and profile is not program.card.profile:
        program = replace(program, card=replace(program.card, profile=profile))
    return program


def sample_resident(program_id: str) -> Path:
    return SAMPLES_DIR / f"{program_id}.json"


@dataclass(frozen=True)
class DemoApplication:
    """What the web kiosk holds at its review step: the programme as shown, the application,
    the engine's decision, the prepared photo and the signature."""

    view: ProgramView
    form: ApplicationForm
    decision: rules.Decision
    photo: Photo | None
    signature: bytes | None
    entitlements: tuple[str, ...]  # the resident file's, else ()

    @property
    def decision_view(self) -> DecisionView:
        fee = self.decision.fee
        return DecisionView(
            outcome=self.decision.outcome,
            fee=Money(int((fee.amount * 100).to_integral_value()), fee.currency),
            valid_until=self.decision.validity.expires,
            raw=self.decision,
        )


def build_application(
    program: Program,
    resident: Path,
    today: date,
    echo: Callable[[str], None] = print,
    card_kind: str = "first",
) -> DemoApplication:
    """The application in `resident` for `program`, decided by the rules engine on `today`,
    for a first card, a renewal or a replacement (`card_kind`: the fee and its waivers).

    ApplicationRefused (one sentence) when no card may be made; the reasons an attendant
    looks at are echoed as "Attendant: ..." lines (the demo plays the attendant who approves)."""
    res = read_application(resident, program.id, FIELDS)
    if res.holder.program != program.id:
        raise ApplicationRefused(
            f"{resident} is for programme {res.holder.program!r}, not {program.id!r}: "
            "remove its 'program' key or run the demo with that programme."
        )
    _check_codes(program, res.holder, resident)
    view = program_view(program)
    form = replace(_form(program, view, res, resident), card_kind=card_kind)
    if res.documents is None:
        form = replace(form, documents=default_documents(program, form, today))
    application = replace(rules_application(program, form), valid_until=res.expires)
    decision = rules.decide(program, application, today)
    name = program.name("en")
    refusals = [r for r in decision.reasons if r.effect is rules.Effect.REFUSE]
    if refusals:
        why = " ".join(rules.reason_text(r, "en", program) for r in refusals)
        raise ApplicationRefused(f"{name} refuses this resident ({resident}): {why}")
    if decision.missing_fields:
        raise ApplicationRefused(_missing(name, decision.missing_fields, resident))
    if decision.missing_end_date:
        until = program.text(program.validity.until, "en") if program.validity.until else ""
        raise ApplicationRefused(
            f"A {name} is valid until the {until}: give that date (after today) as 'expires' "
            f"(YYYY-MM-DD) in {resident}."
        )
    if res.expires is not None and program.validity.until is None:
        echo(f"Note: 'expires' is not used: {name} cards are valid until {_iso(decision)}.")
    for reason in decision.reasons:
        if reason.effect in (rules.Effect.ATTENDANT, rules.Effect.CHECK):
            echo(f"Attendant: {rules.reason_text(reason, 'en', program)}")
    photo = _photo(view, res.photo) if "photo" in form.provided else None
    signature = _signature(res.signature, resident) if "signature" in form.provided else None
    return DemoApplication(view, form, decision, photo, signature, res.holder.entitlements)


def _offers_language(program: Program, tag: str) -> bool:
    """True when the programme offers `tag` itself, its base language, or the kiosk language
    that answers it (cardio.languages): `pt-BR` for `pt`, `zh` or `zh-CN` for `zh-Hans`, never
    `zh` (Simplified) for `zh-Hant`."""
    if match(tag, program.languages) is not None:
        return True
    kiosk_language = match(tag, BY_CODE)
    return kiosk_language is not None and any(
        match(offered, BY_CODE) == kiosk_language for offered in program.languages
    )


def _check_codes(program: Program, holder: Holder, resident: Path) -> None:
    """ApplicationRefused naming the entitlements and languages in `resident` that the
    programme's profile does not define: they would be signed onto the card (entitlements) or
    quietly replaced by English (languages)."""
    name = program.name("en")
    unknown = [code for code in holder.entitlements if program.entitlement(code) is None]
    if unknown and not program.entitlements:
        raise ApplicationRefused(
            f"{resident}: {name} offers no entitlements, so {_quoted(unknown)} cannot be on its "
            "card: remove 'entitlements'."
        )
    if unknown:
        offered = ", ".join(e.code for e in program.entitlements)
        raise ApplicationRefused(
            f"{resident}: 'entitlements' has {_quoted(unknown)}, which {name} does not offer: "
            f"use some of {offered}, or leave 'entitlements' out for all of them."
        )
    unknown = [tag for tag in holder.languages if not _offers_language(program, tag)]
    if unknown:
        raise ApplicationRefused(
            f"{resident}: 'languages' has {_quoted(unknown)}, which {name} does not offer: "
            f"use some of {', '.join(program.languages)}."
        )


def _quoted(codes: Sequence[str]) -> str:
    return ", ".join(repr(code) for code in dict.fromkeys(codes))


def default_documents(program: Program, form: ApplicationForm, today: date) -> tuple[str, ...]:
    """The smallest set of the programme's document categories that satisfies its proof rule,
    as the attendant would confirm them (fewest the attendant must look at closely first, then
    the profile's order); () when none does."""
    base = rules_application(program, form)
    checked = {d.code for d in program.documents if d.attendant_check}
    codes = [d.code for d in program.documents]
    for size in range(min(len(codes), MAX_DOCUMENTS) + 1):
        found = [
            chosen
            for chosen in combinations(codes, size)
            if not any(
                _document_problem(r)
                for r in rules.decide(program, replace(base, documents=chosen), today).reasons
            )
        ]
        if found:
            return min(found, key=lambda chosen: len(checked.intersection(chosen)))
    return ()


def _document_problem(reason: rules.Reason) -> bool:
    return reason.id.startswith("documents.") and reason.effect in (
        rules.Effect.REFUSE,
        rules.Effect.ATTENDANT,
    )


def _form(
    program: Program, view: ProgramView, res: ResidentApplication, resident: Path
) -> ApplicationForm:
    """The details page's form: every field the UI asks, checked as the UI checks it; fields
    the programme does not collect are kept, so that the rules engine names them."""
    holder = res.holder
    raw: dict[str, str] = {"family_name": holder.family_name, "given_name": holder.given_name}
    if holder.sex:
        raw["sex"] = holder.sex
    raw.update(res.fields)
    fields = dict(raw)
    for spec in view.fields:
        value = raw.get(spec.id, "")
        if not value:
            continue  # a missing required field is named with the others, below
        try:
            fields[spec.id] = check_field(spec, value)
        except InputError as exc:
            raise ApplicationRefused(f"{resident}: '{spec.id}': {exc.message}") from None
        if spec.kind in TYPED and not printable(fields[spec.id]):  # as the details page refuses it
            raise ApplicationRefused(f"{resident}: '{spec.id}': {cannot_print_sentence('en')}")
    provided = {
        key
        for key, value in (("photo", res.photo), ("signature", res.signature))
        if value is not None
    }
    # The kiosk language that answers the resident's first one (`zh-Hans` is `zh`, `pt-BR` `pt`).
    lang = next((m for code in holder.languages if (m := match(code, BY_CODE))), "en")
    return ApplicationForm(
        program_id=program.id,
        fields=fields,
        birth_date=holder.birth_date,
        documents=res.documents or (),
        guardian_present=res.guardian_present,
        lived_long_enough=res.lived_long_enough,
        provided=frozenset(provided),
        lang=lang,
        # All of them (_check_codes: each one the programme offers), as the kiosk names them.
        languages=tuple(dict.fromkeys(match(code, BY_CODE) or code for code in holder.languages)),
    )


def _missing(name: str, missing: Sequence[str], resident: Path) -> str:
    what = [
        f"'{code}' ({_FILES[code]})" if code in _FILES else f"'{code}' ({FIELDS[code]})"
        for code in missing
    ]
    them = "them" if len(what) > 1 else "it"
    return f"{name} requires {', '.join(what)}: add {them} to {resident}."


def _photo(view: ProgramView, data: bytes | None) -> Photo | None:
    if data is None:
        return None
    try:
        return PipelinePhotos().prepare(view, data)
    except PhotoRejected as exc:
        raise ApplicationRefused(exc.reason.message) from None


def _signature(data: bytes | None, resident: Path) -> bytes | None:
    """The signature as given, once it is known to be an image the card printer can draw."""
    if data is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise ApplicationRefused(
            f"{resident}: 'signature' is not an image file (use a PNG)."
        ) from None
    return data


def _iso(decision: rules.Decision) -> str:
    return decision.validity.expires.isoformat()
