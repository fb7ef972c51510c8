"""What the kiosk UI needs from the rest of the kiosk, as small types and Protocols.

The UI renders and validates; the programme profiles (`kiosk.programs`), the rules engine
(`kiosk.rules`), the photo pipeline (`kiosk.photo`) and the personalisation job (`kiosk.job`)
decide and act. `kiosk.web.adapters` fits those modules to these ports; tests may fit small
stand-ins of their own. Every text here that the resident reads is either a message id from the
kiosk catalogues (translated on display) or a `kiosk.languages.Localized` text from a programme
profile (shown under the kiosk's one language fallback rule). The rules engine's `Outcome` is
used as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Protocol

from kiosk.languages import Localized
from kiosk.rules import Outcome


class FieldKind(Enum):
    NAME = "name"  # family or given name: one script, letters only
    TEXT = "text"  # one line of free text
    MULTILINE = "multiline"  # an address
    CHOICE = "choice"  # one of a few options (sex, eye colour)
    NUMBER = "number"  # height in cm, weight in kg


@dataclass(frozen=True, slots=True)
class FieldSpec:
    id: str  # the application key: family_name, given_name, sex, address, ...
    required: bool
    kind: FieldKind = FieldKind.TEXT
    choices: tuple[str, ...] = ()  # option ids for CHOICE
    max_length: int = 100
    min_value: int = 0
    max_value: int = 0


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    id: str
    label: Localized[str]
    group: str = ""  # e.g. identity / residence (shown as a heading)
    note: Localized[str] | None = None  # examples, points


@dataclass(frozen=True, slots=True)
class WaiverSpec:
    id: str  # a fee reduction the resident claims (e.g. low_income)
    label: str  # a message id


@dataclass(frozen=True, slots=True)
class ProgramView:
    """One city programme as the UI shows it."""

    id: str
    name: Localized[str]
    languages: tuple[str, ...]
    fields: tuple[FieldSpec, ...]  # birth date is always asked and is not in this list
    documents: tuple[DocumentSpec, ...]
    document_groups: Mapping[str, str] = field(default_factory=dict)  # group -> message id
    waivers: tuple[WaiverSpec, ...] = ()
    asks_photo: bool = True
    photo_required: bool = True
    prints_signature: bool = False
    asks_guardian: bool = False  # minors may enrol with a parent or guardian
    residence_days: int = 0  # days lived in the city before enrolling (0: not asked)
    disclaimer: Localized[str] | None = None
    # Set when cards are valid until a date the attendant enters: what that date is the end of.
    end_date_label: Localized[str] | None = None
    raw: object = None  # the programme object the adapters were built from


class ReasonKind(Enum):
    REFUSE = "refuse"  # why the card cannot be made
    ATTENDANT = "attendant"  # why a person must decide
    CHECK = "check"  # what the attendant looks at
    INFO = "info"  # fee, validity and other explanations


@dataclass(frozen=True, slots=True)
class ReasonView:
    """A message for the resident: a message id of the kiosk catalogues (with named values), or
    a `render` function that gives the sentence in a language (the rules engine's reasons, which
    `kiosk.rules.Reason` holds as an id and parameters)."""

    message: str
    params: Mapping[str, str] = field(default_factory=dict)
    kind: ReasonKind = ReasonKind.INFO
    code: str = ""
    render: Callable[[str], str] | None = None


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int  # cents, rappen
    currency: str  # ISO 4217

    @property
    def free(self) -> bool:
        return self.amount_minor == 0


@dataclass(frozen=True, slots=True)
class ApplicationForm:
    """What the resident entered, as the UI hands it to the rules (`kiosk.rules.Application`
    is the engine's own, narrower view: field names, never values)."""

    program_id: str
    fields: Mapping[str, str]
    birth_date: date
    documents: tuple[str, ...]
    waivers: tuple[str, ...] = ()
    guardian_present: bool = False
    lived_long_enough: bool | None = None  # None: not asked, or the resident is not sure
    provided: frozenset[str] = frozenset()  # photo, signature: given on later steps
    lang: str = "en"
    # Every language the resident speaks, for the card (empty: `lang` alone, as at the kiosk,
    # where the resident gives one; the demo's resident file may give more).
    languages: tuple[str, ...] = ()
    # Programmes valid until a date the attendant enters (a shelter registration's end).
    valid_until: date | None = None
    # "first" (a new number), "renewal" or "replacement" (a new card for `document_number`).
    card_kind: str = "first"
    document_number: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionView:
    outcome: Outcome
    reasons: tuple[ReasonView, ...] = ()
    fee: Money | None = None
    valid_until: date | None = None
    raw: object = None


class Rules(Protocol):
    def decide(
        self, program: ProgramView, application: ApplicationForm, today: date
    ) -> DecisionView:
        ...

    def card_fit(
        self, program: ProgramView, application: ApplicationForm, today: date
    ) -> tuple[tuple[str | None, str], ...]:
        """(field or None, sentence) for each detail the card cannot print."""
        ...


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo made ready for the card: the bytes that go to the chip and the printer."""

    jpeg: bytes
    raw: object = None


class PhotoRejected(Exception):
    """The photo cannot be used; `reason` is a message to show (id or translated text)."""

    def __init__(self, reason: ReasonView) -> None:
        super().__init__(reason.message)
        self.reason = reason


class PhotoPreparer(Protocol):
    def prepare(self, program: ProgramView, data: bytes) -> Photo:
        """The prepared photo, or PhotoRejected with a reason."""
        ...


@dataclass(frozen=True, slots=True)
class CardRequest:
    """Everything the personalisation job needs for one card. Memory only."""

    request_id: str  # the same id twice makes one card (a double submit is harmless)
    program: ProgramView
    application: ApplicationForm
    decision: DecisionView
    photo: Photo | None
    signature_png: bytes | None


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far the card job is (`kiosk.job.Progress` is the job's own, with its step enum)."""

    step: str  # a message id naming what the kiosk does now
    fraction: float  # 0.0 .. 1.0


@dataclass(frozen=True, slots=True)
class StationNotice:
    """Something the attendant must know about an earlier card: `kind` is one of
    `kiosk.job.NOTICE_KINDS`, translated on display (`kiosk.web.notices`)."""

    kind: str
    document_number: str | None
    torn_receipt: bool = False  # a torn receipt's code may still cancel the card


class CardFate(Enum):
    """What became of the card when its job failed (the resident is told)."""

    NOT_MADE = "not_made"  # no card, and no card number was taken
    NUMBER_CANCELLED = "number_cancelled"  # an unfinished card; its number is cancelled
    CANCEL_PENDING = "cancel_pending"  # an unfinished card; its number is cancelled later
    MADE = "made"  # the card is made; only the receipt failed
    UNKNOWN = "unknown"  # an unexpected failure: nothing more is known


class JobFailed(Exception):
    """The card could not be made. `reason` is for the resident; `attendant` is one sentence
    for the attendant (what to do with the card or the printer); `retry`: trying again may work;
    `card`: what became of the card."""

    def __init__(
        self,
        reason: ReasonView,
        *,
        attendant: str = "",
        retry: bool = True,
        card: CardFate = CardFate.UNKNOWN,
    ) -> None:
        super().__init__(reason.message)
        self.reason = reason
        self.attendant = attendant
        self.retry = retry
        self.card = card


class CardJob(Protocol):
    def run(self, request: CardRequest, progress: Callable[[JobProgress], None]) -> None:
        """Make the card; call `progress` as it goes; raise JobFailed when it cannot.
        Running the same request id again after a failure retries it (never two cards)."""
        ...

    def forget(self, request_id: str) -> None:
        """The resident left: drop anything kept for a retry of this request."""
        ...


class StaffCardReader(Protocol):
    """The hook for an attendant's staff card tap."""

    def wait_for_staff_card(self, timeout: float) -> str | None:
        """A staff id when an authorised staff card was tapped within `timeout` s, else None."""
        ...


class ProgramSource(Protocol):
    def load(self, program_id: str) -> ProgramView:
        ...

