"""How one kiosk app is set up: its programme, the ports it talks to, its timeouts and limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .ports import CardJob, PhotoPreparer, ProgramView, Rules, StaffCardReader

DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_MAX_UPLOAD = 8 * 1024 * 1024  # a phone or webcam photo; larger is refused


@dataclass
class KioskConfig:
    program: ProgramView
    rules: Rules
    photos: PhotoPreparer
    job: CardJob
    attendant_pin_hash: str | None = None
    staff_cards: StaffCardReader | None = None
    staff_card_wait: float = 10.0  # seconds the attendant step waits for a staff card tap
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    done_timeout: float = 30.0  # the done page returns to the start after this
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    data_dir: Path | None = None  # kiosk state (journal) lives there; the web app writes nothing
    today: Callable[[], date] = field(default=date.today)
    clock: Callable[[], float] = field(default=time.monotonic)
    sweep_interval: float | None = 5.0  # None: no sweeper thread (tests sweep by hand)
    simulated: bool = False  # on simulated hardware: every page says so
    # The attendant page's language (a kiosk catalogue's code), where the attendants read one;
    # None: the resident's, as every other page. The resident's own line stays in theirs.
    staff_language: str | None = None
