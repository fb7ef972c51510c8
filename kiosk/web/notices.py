"""Notices for the attendant about earlier cards, on the attendant page.

After a restart, recovery (`kiosk.job.recover`) knows of cards cut short, cards printed without
their receipt, and reports the city registry has not recorded; a card made now may add one of
the last. The card-job port keeps them in a `NoticeBoard` (in memory; each is logged once, with
its whole card number) and the attendant page shows them in the page's language until the
attendant approves an application with them on screen. The page is seen by the next resident
too, so a notice shows only the end of a card number.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from . import messages as msg
from .context import translate
from .ports import StationNotice

log = logging.getLogger(__name__)

SHOWN_AT_MOST = 10  # more than this: the page says how many more the log has
NUMBER_END = 4  # characters of a card number the page shows


class NoticeBoard:
    """The notices not yet cleared, each under a number that the attendant page sends back
    when the application is approved (so a notice that came in after the page was shown is
    not cleared unseen). The same notice twice is kept once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, StationNotice] = {}
        self._next = 1

    def post(self, notices: Iterable[StationNotice]) -> None:
        with self._lock:
            for notice in notices:
                if notice not in self._items.values():
                    self._items[self._next] = notice
                    self._next += 1
                    # the whole number, for technical support (the page shows its end)
                    log.warning("attendant notice %s: card %s", notice.kind, notice.document_number)

    def pending(self) -> list[tuple[int, StationNotice]]:
        with self._lock:
            return sorted(self._items.items())

    def clear(self, ids: Iterable[int]) -> None:
        with self._lock:
            for i in ids:
                self._items.pop(i, None)


def number_end(number: str) -> str:
    """The end of a card number, as the page shows it: "…0018"."""
    return "…" + number[-NUMBER_END:] if len(number) > NUMBER_END else number


def notice_text(notice: StationNotice) -> str:
    """The notice in the page's language. A kind this kiosk does not know (a newer job layer)
    is still shown, as the one sentence every kind can take: see the log."""
    if notice.document_number is None:
        message = msg.STATION_NOTICES_NO_NUMBER.get(notice.kind)
        text = translate(message) if message else translate(msg.STATION_NOTICE_OTHER)
    else:
        message = msg.STATION_NOTICES.get(notice.kind, msg.STATION_NOTICE_OTHER)
        text = translate(message, number=number_end(notice.document_number))
    if notice.torn_receipt:
        text += " " + translate(msg.TORN_RECEIPT_NOTICE)
    return text


def ids_shown(raw: str) -> list[int]:
    """The notice numbers an attendant form sent back ("3,4"); anything else is ignored."""
    # isascii: "²" is a digit to str.isdigit, and int() refuses it
    return [int(p) for p in raw.split(",") if p.isascii() and p.isdigit() and len(p) < 10]
