"""What the personalisation job prints, and the seams to the printers (printer/).

- The **card**: `render_card_images` draws both sides with `printer.card_layout.render_card`
  from the programme's design (`card_design`, which bridges `kiosk.programs.CardDesignSpec` to
  `printer.card_layout.CardDesign`) and the signed print credential; a
  `printer.card_printer.CardPrinter` prints them (`printer.card_printer.FileCardPrinter` writes
  card-front.png / card-back.png for the demo).
- The **receipt**: a `ReceiptSink` prints a `Receipt` (programme, document number, expiry, the
  one-time revocation code, what the card is not, and the programme's contacts from its
  profile: `receipt_contact` gives office, phone, web and the lost-card page, which a QR code
  opens with ?doc=<document number>). `FileReceiptSink` writes the ESC/POS bytes to
  receipt.escpos.

  The receipt is laid out by printer.receipt (raster for scripts the code pages lack) and
  rendered to bytes through printer.escpos_printer; a network sink for a real printer is
  `printer.escpos_printer.ReceiptPrinter.network`.
- The **words** printed on the receipt, the paper card and the card: the printer layer holds
  none, it takes them translated (`printer.receipt.ReceiptText`,
  `printer.paper_card.PaperCardText`, the labels of `printer.card_design.CardDesign`).
  `receipt_text(language)`, `paper_card_text(language)` and `card_design` make them from the
  kiosk's gettext catalogues (`pgettext` with the context "receipt", "paper card" or "card";
  docs/i18n.md); the card speaks every language its profile prints ("Name / Nom").

`DelayedCardPrinter` / the `delay` of `FileReceiptSink` make the simulated printers take as
long as real ones (the benchmark and the crash test use them).

The receipt holds no name, birth date or photo: only the document number, dates and the
revocation code. Card images hold the resident's data and exist only in memory and at the
printer (for the file printer: its output directory, which the caller owns).
"""

from __future__ import annotations

import functools
import gettext
import logging
import os
import pickle
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError

from cardio.credential import Credential, Holder, local_day, to_qr
from cardio.errors import CitycardError
from cardio.files import write_atomic
from printer.card_design import CardData, CardLabels
from printer.card_design import CardDesign as LayoutDesign
from printer.card_fit import FitProblem, check_fit, draft_data
from printer.card_layout import render_card
from printer.card_printer import CardJobResult, CardPrinter, PrinterStatus
from printer.errors import PaperOutError, PrinterError
from printer.fonts import FontNotFoundError
from printer.paper import PAPER_80MM, PaperProfile

from .card_glyphs import lacks_a_font
from .i18n import BY_CODE, SOURCE_LANGUAGE, shared_catalogues
from .i18n_rules import render
from .programs import FIELDS, Program, Requirement

if TYPE_CHECKING:
    from printer.escpos_printer import ReceiptPrinter
    from printer.paper_card import PaperCardText
    from printer.receipt import Contact, ReceiptLayout, ReceiptText

log = logging.getLogger(__name__)

RECEIPT_FILE = "receipt.escpos"


# -- the printed words ---------------------------------------------------------------------------
# printer.receipt and printer.paper_card are imported where used: they import python-escpos,
# which must not be imported before `use_escpos_cache`.


def _translations(language: str, programme_languages: Sequence[str]) -> gettext.NullTranslations:
    return shared_catalogues().get(language, programme_languages)


def _disclaimer(t: gettext.NullTranslations) -> str:
    return t.pgettext("card", "Not a residence permit. Not a travel document.")


def receipt_text(language: str, programme_languages: Sequence[str] = ()) -> ReceiptText:
    """The receipt's own words in `language` (a BCP 47 tag, under the kiosk's fallback rule)."""
    from printer.receipt import ReceiptText

    t = _translations(language, programme_languages)
    return ReceiptText(
        title=t.pgettext("receipt", "Enrolment receipt"),
        document_number=t.pgettext("receipt", "Document number"),
        valid_until=t.pgettext("receipt", "Valid until"),
        lost_heading=t.pgettext("receipt", "If your card is lost or stolen"),
        lost_text=t.pgettext(
            "receipt",
            "Tell us as soon as you can and give this one-time code: we block the card at once, "
            "without asking for your name. The code is printed only here and cannot be shown "
            "again. Keep this receipt apart from your card.",
        ),
        about_heading=t.pgettext("receipt", "What this card is - and is not"),
        contacts_heading=t.pgettext("receipt", "Contact"),
        # Translators: between a contact's label and its value (French: " : ", Chinese: "：").
        separator=t.pgettext("receipt", ": "),
    )


def receipt_about(
    language: str, programme_languages: Sequence[str] = (), lost_url: str | None = None
) -> str:
    """What the card is and is not, and what to do when it is lost, for the receipt; with
    the programme's lost-card page when it has one."""
    t = _translations(language, programme_languages)
    report_lost = t.pgettext(
        "receipt",
        "Lost your card? Report it at the city office or online with this document number and "
        "the code above; the card then stops working everywhere.",
    )
    about = f"{_disclaimer(t)} {report_lost}"
    if lost_url:
        # Translators: followed by a web address (no full stop after it, it would look part
        # of the address).
        online = t.pgettext("receipt", "Report it online: {address}")
        about += " " + online.format(address=f"{_LRI}{lost_url}{_PDI}")
    return about


_LRI, _PDI = "\u2066", "\u2069"  # keep an address left-to-right in right-to-left text


@dataclass(frozen=True)
class ReceiptContact:
    """Where a resident reaches the programme, from its profile's `[issuer]`: the values
    only (the labels come from the catalogues)."""

    office: str | None = None
    phone: str | None = None
    web: str | None = None
    lost_url: str | None = None  # the lost-card page; the QR code adds ?doc=<number>


def receipt_contact(program: object | None, language: str) -> ReceiptContact | None:
    """The contacts of a `kiosk.programs.Program` for a resident reading `language` (None for
    anything else: a card without a profile). Without an `office`, the issuing authority is
    where to go."""
    if not isinstance(program, Program):
        return None
    issuer = program.issuer
    office = program.text(issuer.office or issuer.authority, language)
    return ReceiptContact(office, issuer.phone, issuer.web, issuer.lost_url)


def receipt_contacts(
    contact: ReceiptContact | None, language: str, programme_languages: Sequence[str] = ()
) -> tuple[Contact, ...]:
    """The receipt's contact lines (office, phone, web), labelled in `language`."""
    from printer.receipt import Contact

    if contact is None:
        return ()
    t = _translations(language, programme_languages)
    lines = (
        # Translators: where to go in person (a contact line of the receipt).
        (t.pgettext("receipt", "Office"), contact.office),
        (t.pgettext("receipt", "Phone"), contact.phone),
        # Translators: the programme's web address (a contact line of the receipt).
        (t.pgettext("receipt", "Web"), contact.web),
    )
    return tuple(Contact(label, value) for label, value in lines if value)


def lost_page_address(lost_url: str, document_number: str) -> str:
    """The address the receipt's QR code opens: the lost-card page for this card."""
    return f"{lost_url}?{urlencode({'doc': document_number})}"


def paper_card_text(language: str, programme_languages: Sequence[str] = ()) -> PaperCardText:
    """The paper card's own words in `language` (under the kiosk's fallback rule)."""
    from printer.paper_card import PaperCardText

    t = _translations(language, programme_languages)
    return PaperCardText(
        title=t.pgettext("paper card", "Temporary resident card"),
        family_name=t.pgettext("paper card", "Family name"),
        given_name=t.pgettext("paper card", "Given name"),
        birth_date=t.pgettext("paper card", "Date of birth"),
        document_number=t.pgettext("paper card", "Document number"),
        # Translators: followed by the two dates "from - until".
        valid=t.pgettext("paper card", "Valid"),
        not_a_permit=t.pgettext("paper card", "This card is not a residence permit."),
        temporary=t.pgettext(
            "paper card", "Paper card: valid until your plastic card is ready."
        ),
    )


# -- the card ------------------------------------------------------------------------------------


def card_design(program: Program | None, program_id: str, language: str = "en") -> LayoutDesign:
    """The layout design of a programme (`kiosk.programs.Program`) in the words of its printed
    languages (`[card.design] languages`: "Name / Nom" on a card printing two), or a plain
    one in the source language when the programme has no profile yet. `language` is the
    resident's, used only by a programme that names no printed language."""
    if program is None:
        words = _card_words((SOURCE_LANGUAGE,))
        return LayoutDesign(
            display_name=program_id.replace("-", " ").title() + " City Card",
            primary="#1F4E79",
            secondary="#DCE6F0",
            # No profile, no printed languages: the card speaks the source language.
            disclaimer=words.disclaimer,
            labels=words.labels,
            language_names=LANGUAGE_NAMES,
            languages=(SOURCE_LANGUAGE,),
        )
    design = program.card.design
    printed = design.languages or (language,)
    words = _card_words(printed)
    fields = {"entitlements", "languages"}
    # Only what the programme collects is printed: no "Sex –" on a card that never asks it.
    if program.fields.requirement("sex") in (Requirement.REQUIRED, Requirement.OPTIONAL):
        fields.add("sex")
    if design.signature:
        fields.add("signature")
    collected = (*program.fields.required, *program.fields.optional)
    return LayoutDesign(
        display_name=each_language(printed, design.display_name.get),
        primary=design.primary_colour,
        secondary=design.secondary_colour,
        disclaimer=each_language(printed, design.disclaimer.get),
        arms=design.arms,
        fields=frozenset(fields),
        labels=words.labels,
        entitlement_names={
            e.code: each_language(printed, e.names.get) for e in program.entitlements
        },
        field_labels={
            code: each_language(printed, functools.partial(field_label, code))
            for code in collected
            if code in PRINTED_ONLY_FIELDS
        },
        issuer_name=each_language(printed, program.issuer.authority.get),
        language_names=LANGUAGE_NAMES,
        full_width_fields=FULL_WIDTH_FIELDS,
        languages=tuple(printed),
    )


# Printed-only fields whose values run long: each gets a row of its own on the back, at the
# column's full width, so an address is never squeezed beside eye colour and height.
FULL_WIDTH_FIELDS = frozenset(
    {"address", "emergency_contact", "medical_info", "sponsor", "integration_evidence"}
)
# Between the same words in two printed languages ("Name / Nom").
LANGUAGE_SEPARATOR = " / "


def each_language(printed: Sequence[str], text_in: Callable[[str], str]) -> str:
    """One text in every printed language, joined ("Sex / Sexe"); a language that words it the
    same (or has no translation yet, so falls back) is not repeated."""
    return _joined(text_in(lang) for lang in printed)


def _joined(texts: Iterable[str]) -> str:
    """The same text in several languages, joined, a repeated wording once."""
    return LANGUAGE_SEPARATOR.join(dict.fromkeys(texts))


@dataclass(frozen=True)
class _CardWords:
    labels: CardLabels
    disclaimer: str


def _card_words(printed: Sequence[str]) -> _CardWords:
    """The card's labels in every printed language, each from that language's own catalogue
    (no programme fallback: a language without a catalogue gives the source language's
    words, which are then not repeated)."""
    ts = [_translations(lang, ()) for lang in printed]
    each = [_labels_in(t) for t in ts]
    labels = CardLabels(
        **{
            f.name: _joined(getattr(words, f.name) for words in each)
            for f in dataclass_fields(CardLabels)
        }
    )
    disclaimer = _joined(_disclaimer(t) for t in ts)
    return _CardWords(labels, disclaimer)


def _labels_in(t: gettext.NullTranslations) -> CardLabels:
    """The card's labels in one language."""
    return CardLabels(
        family_name=t.pgettext("card", "Family name"),
        given_name=t.pgettext("card", "Given names"),
        birth_date=t.pgettext("card", "Date of birth"),
        # Translators: the holder's sex (F, M or X) as printed on the card.
        sex=t.pgettext("card", "Sex"),
        # Translators: short, above the card's document number.
        document_number=t.pgettext("card", "Document no."),
        # Translators: above the date the card was issued.
        issued=t.pgettext("card", "Issued"),
        # Translators: above the date the card expires.
        expires=t.pgettext("card", "Expires"),
        # Translators: what the card gives access to (libraries, pools, ...).
        entitlements=t.pgettext("card", "Entitlements"),
        # Translators: the languages the holder prefers to be spoken to in.
        languages=t.pgettext("card", "Languages"),
        signature=t.pgettext("card", "Holder's signature"),
        # Translators: in the photo's place on a card printed without a photo.
        no_photo=t.pgettext("card", "No photo"),
    )


class _LanguageNames(Mapping[str, str]):
    """A language code's name in the language itself, as printed on the card: the kiosk's own
    list (`kiosk.i18n.LANGUAGES`), else Babel's (CLDR) name; KeyError for a code neither knows."""

    def __getitem__(self, code: str) -> str:
        known = BY_CODE.get(code)
        if known is not None:
            return known.name
        try:
            name = Locale.parse(code, sep="-").get_display_name(Locale.parse(code, sep="-"))
        except (UnknownLocaleError, ValueError, TypeError) as exc:
            raise KeyError(code) from exc
        if not name:
            raise KeyError(code)
        return name[:1].upper() + name[1:]

    def __iter__(self) -> Iterator[str]:
        return iter(BY_CODE)

    def __len__(self) -> int:
        return len(BY_CODE)


LANGUAGE_NAMES: Mapping[str, str] = _LanguageNames()


def printed_values(extra_fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The printed-only fields as the card prints them: a preferred language by its name in
    itself ("Español"), never as a code."""
    out = []
    for code, value in extra_fields:
        if code == "preferred_language" and value in BY_CODE:
            value = LANGUAGE_NAMES[value]
        out.append((code, value))
    return tuple(out)


# Fields printed on the card only (Enrolment.printed_fields): never in the chip or QR
# credential. The others a programme collects are the credential's (names, birth date, sex,
# photo) or the signature. What a programme collects is printed (an optional emergency contact
# too, on the back, as IDNYC and San Francisco do): nothing is asked only to be dropped.
PRINTED_ONLY_FIELDS = frozenset(FIELDS) - {
    "family_name",
    "given_name",
    "birth_date",
    "photo",
    "signature",
    "sex",
}


def field_label(code: str, language: str) -> str:
    """The label of a field code as printed on a card in `language` (English when the rules
    texts have no such language), starting with a capital."""
    label = render(f"field.{code}", {}, language)
    return label[:1].upper() + label[1:]


def render_card_images(
    design: LayoutDesign,
    credential: Credential,
    print_cose: bytes,
    photo: bytes | None,
    signature: bytes | None,
    extra_fields: tuple[tuple[str, str], ...] = (),
) -> tuple[bytes, bytes]:
    """(front PNG, back PNG) of one card; raises printer.card_layout.CardLayoutError.

    `extra_fields` are (field code, value) pairs printed on the card only (labelled by the
    design's `field_labels`); they are in neither credential."""
    data = CardData.from_credential(
        credential, to_qr(print_cose), photo, signature, extra_fields=printed_values(extra_fields)
    )
    rendered = render_card(design, data)
    return rendered.front_png, rendered.back_png


def card_fit_problems(
    design: LayoutDesign,
    holder: Holder,
    photo: bytes | None,
    signature: bytes | None,
    extra_fields: tuple[tuple[str, str], ...] = (),
    today: date | None = None,
) -> list[FitProblem]:
    """What of a resident's details does not fit their card, known before a number is
    allocated (`printer.card_fit`): the details step and the job ask it with what
    `render_card_images` will draw, less the number and the QR code, which move no text."""
    data = draft_data(
        holder.family_name,
        holder.given_name,
        holder.birth_date,
        today or local_day(time.time()),
        photo=photo,
        sex=holder.sex,
        signature=signature,
        entitlements=holder.entitlements,
        languages=holder.languages,
        extra_fields=printed_values(extra_fields),
    )
    try:
        return check_fit(design, data)
    except FontNotFoundError as exc:
        # A text no installed font draws: the field that holds it is named (the resident
        # rewrites it), not a traceback; the technician's sentence stays in `message`.
        texts = (("family_name", holder.family_name), ("given_name", holder.given_name))
        found = [
            UnprintableProblem(code, 0, str(exc))
            for code, text in (*texts, *data.extra_fields)
            if lacks_a_font(text)
        ]
        return list(found) or [FitProblem(None, 0, str(exc))]


@dataclass(frozen=True)
class UnprintableProblem(FitProblem):
    """A field with characters the card's fonts cannot draw (not a length to cut it to)."""


def cannot_print_sentence(language: str, programme_languages: Sequence[str] = ()) -> str:
    """What a resident reads after a field's label when the card's fonts cannot draw some of
    its characters (kiosk.card_glyphs): what they can do about it."""
    return _translations(language, programme_languages).pgettext(
        "card",
        "The card cannot print some of these characters. Please write them another way, or ask "
        "the attendant.",
    )


def fit_problem_sentence(
    problem: FitProblem, language: str, programme_languages: Sequence[str] = ()
) -> str:
    """The sentence that says which field to change and how ("Address: This is too long ...").

    Written as every other field error of the details step is (the field's label, a colon,
    a sentence), so the resident reads one kind of message whatever found the problem."""
    if problem.field is None:
        return problem.message  # the programme's design or a photo: the layout's own words
    t = _translations(language, programme_languages)
    name = render(f"field.{problem.field}", {}, language) if problem.field in FIELDS else problem.field
    label = name[:1].upper() + name[1:]  # the catalogue's label is written for inside a sentence
    if isinstance(problem, UnprintableProblem):
        sentence = cannot_print_sentence(language, programme_languages)
    elif problem.max_chars <= 0:
        sentence = t.pgettext(
            "card",
            "There is no room for this on the card beside the other details. Please shorten "
            "the other details or leave it out.",
        )
    else:
        sentence = t.pgettext(
            "card", "This is too long for the card. Please shorten it to {count} characters."
        ).format(count=problem.max_chars)
    return f"{label}: {sentence}"


class DelayedCardPrinter:
    """A simulated card printer that takes `seconds` per card, then hands on to `inner`."""

    def __init__(self, inner: CardPrinter, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        time.sleep(self.seconds)
        return self.inner.print_card(front_png, back_png)

    def status(self) -> PrinterStatus:
        return self.inner.status()


# -- the receipt ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What goes on one resident's receipt: the values only, the words come from the
    catalogues in `language`. No name, no birth date, no photo."""

    programme: str
    document_number: str
    issued: date
    expires: date
    language: str = "en"
    revocation_code: str | None = field(default=None, repr=False)
    contact: ReceiptContact | None = None  # the programme's (receipt_contact)


class ReceiptSink(Protocol):
    def print_receipt(self, receipt: Receipt) -> None:
        """Print one receipt; return only once the printer took it, else raise PrinterError."""
        ...


def receipt_document(receipt: Receipt, paper: PaperProfile = PAPER_80MM) -> ReceiptLayout:
    """The receipt laid out for a roll of `paper` (printer.receipt layout).

    The words are the kiosk catalogues' in the resident's language (`receipt_text`); scripts
    the code pages lack are drawn as raster images.
    """
    from printer.receipt import ReceiptContent, RevocationCode, build_receipt, normalise_code

    language = shared_catalogues().language(receipt.language)
    code = RevocationCode(normalise_code(receipt.revocation_code or ""), digest="")
    contact = receipt.contact
    lost_url = contact.lost_url if contact is not None else None
    t = _translations(language, ())
    content = ReceiptContent(
        programme_name=receipt.programme,
        document_number=receipt.document_number,
        expires=receipt.expires,
        revocation_code=code,
        card_is_and_is_not=receipt_about(language, lost_url=lost_url),
        contacts=receipt_contacts(contact, language),
        language=language,
        text=receipt_text(language),
        contact_note=t.pgettext("receipt", "Ask at the office where you enrolled."),
        lost_qr=lost_page_address(lost_url, receipt.document_number) if lost_url else None,
        lost_qr_caption=t.pgettext(
            "receipt", "Scan this code to report the card lost or stolen."
        ),
    )
    return build_receipt(content, paper)


def escpos_receipt(receipt: Receipt) -> bytes:
    """The receipt as the ESC/POS bytes an 80 mm printer receives."""
    from escpos.printer import Dummy

    from printer.escpos_printer import ReceiptPrinter

    device = Dummy(profile=PAPER_80MM.escpos_profile())
    ReceiptPrinter(device, PAPER_80MM).print_receipt(receipt_document(receipt, PAPER_80MM))
    return bytes(device.output)


class EscposReceiptSink:
    """Receipts on an ESC/POS printer (network, USB or serial): `print_receipt` returns once the
    printer took the receipt, and raises the printer's typed error (paper out, cover open,
    offline) otherwise, so nothing is reported printed that was not."""

    def __init__(self, printer: ReceiptPrinter) -> None:
        self.printer = printer
        self.printed = 0
        # The printer's paper-near-end sensor after the last receipt: the attendant page says
        # so (kiosk.web), so the roll is changed before a resident meets "out of paper".
        self.paper_near_end = False

    def print_receipt(self, receipt: Receipt) -> None:
        result = self.printer.print_receipt(receipt_document(receipt, self.printer.profile))
        self.printed += 1
        if result.paper_near_end and not self.paper_near_end:
            log.warning("the receipt roll is nearly empty: change it before it runs out")
        self.paper_near_end = result.paper_near_end


class FileReceiptSink:
    """Writes each receipt's ESC/POS bytes to `directory/receipt.escpos` (replacing it).

    `delay` seconds per receipt simulate a real printer; `paper=False` simulates an empty roll
    (PaperOutError, nothing written)."""

    def __init__(self, directory: str | os.PathLike[str], *, delay: float = 0.0) -> None:
        self.directory = Path(directory)
        self.delay = delay
        self.paper = True
        self.paper_near_end = False  # as EscposReceiptSink's; a test or simulation sets it
        self.printed = 0

    def print_receipt(self, receipt: Receipt) -> None:
        if not self.paper:
            raise PaperOutError()
        data = escpos_receipt(receipt)
        if self.delay:
            time.sleep(self.delay)
        try:
            # 0600: the receipt holds the one-time revocation code.
            write_atomic(self.directory / RECEIPT_FILE, data, mode=0o600)
        except OSError as exc:
            raise PrinterError(
                f"The receipt could not be written to {self.directory} ({exc.strerror}); check "
                "the directory and its free space."
            ) from exc
        self.printed += 1


def use_escpos_cache(directory: Path) -> None:
    """Keep python-escpos's printer-database pickle in `directory`.

    Unless ESCPOS_CAPABILITIES_PICKLE_DIR is set, importing escpos makes a *new* temporary
    directory every time (tempfile.mkdtemp) and leaves a pickle in it: a file outside the
    kiosk's data directory per process (and it calls logging.basicConfig(), undone here).
    This imports escpos now (it reads the variable once,
    at import), with the variable set only meanwhile; it does nothing when escpos was already
    imported or the variable is set.
    """
    if "escpos.capabilities" in sys.modules or _PICKLE_DIR in os.environ:
        return
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _drop_damaged_cache(directory / escpos_cache_name())
    root = logging.getLogger()
    handlers = list(root.handlers)
    os.environ[_PICKLE_DIR] = str(directory)
    try:
        import escpos.capabilities  # noqa: F401 - imported for its side effect
    finally:
        os.environ.pop(_PICKLE_DIR, None)
        # escpos.capabilities also calls logging.basicConfig(): undo the stderr handler it adds
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)


_PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"


class EscposCacheError(CitycardError):
    """python-escpos's printer-database cache is damaged and cannot be removed."""


def escpos_cache_name() -> str:
    """The name python-escpos gives its pickle (escpos.capabilities: one per Python version)."""
    return f"{platform.python_version()}.capabilities.pickle"


class _PlainUnpickler(pickle.Unpickler):
    """Reads only plain data (dicts, lists, text, numbers): the printer database is parsed
    YAML, so a pickle that names any class or function is not one python-escpos wrote."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def _drop_damaged_cache(path: Path) -> None:
    """Remove the cache at `path` unless it holds a printer database, so that python-escpos
    rebuilds it from its own capabilities.json (it loads whatever is there, and a torn or
    damaged file made every start fail with UnpicklingError). EscposCacheError when it
    cannot be removed."""
    try:
        with path.open("rb") as f:
            data = _PlainUnpickler(f).load()
        if isinstance(data, dict) and {"profiles", "encodings"} <= data.keys():
            return
    except FileNotFoundError:
        return  # python-escpos builds it
    except Exception:  # any failure to read it back means it is damaged
        pass
    log.warning("python-escpos's printer-database cache %s is damaged; rebuilding it", path)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise EscposCacheError(
            f"The printer-database cache {path} is damaged and cannot be removed "
            f"({exc.strerror}); delete it and start the kiosk again."
        ) from exc


def utc_day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()
