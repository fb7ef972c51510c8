"""LED and buzzer feedback on readers that have them: the ACR122U's pseudo-APDUs.

The ACR122U (and its PC/SC relatives: ACR122T, ACR1252U in ACR122U mode, ...) intercepts
command APDUs of class FF. "Bi-Color LED and Buzzer Control" (ACR122U API v2.02):

    FF 00 40 P2 04 T1 T2 N B

P2, LED state control, bit by bit from bit 0: final red state, final green state, red mask
(update red), green mask (update green), initial red blinking state, initial green blinking
state, red blinking mask, green blinking mask. T1 / T2: the initial and toggled blinking
states' durations in units of 100 ms; N: number of repetitions (0 = no blinking, the final
state is applied at once); B, link to buzzer: 00 silent, 01 during T1, 02 during T2, 03 both.
The reader answers 90 <LED state> (or 63 00 on failure).

citycard sends three of them while a card is in the field (through the card connection's
transmit, which the reader intercepts; nothing goes to the card):

| moment | APDU | effect |
| --- | --- | --- |
| card found, reading | `FF 00 40 0F 04 00 00 00 00` | red and green on (orange), silent |
| VALID | `FF 00 40 AE 04 02 01 01 01` | green 200 ms with one beep, off 100 ms, then green stays on |
| any other verdict | `FF 00 40 5D 04 01 01 03 01` | red blinks three times with three short beeps, then red stays on |

The terminal configuration's `buzzer` and `led` switch the two halves off separately:

| buzzer, led | card found | VALID | any other verdict |
| --- | --- | --- | --- |
| on, on | `FF 00 40 0F 04 00 00 00 00` | `FF 00 40 AE 04 02 01 01 01` | `FF 00 40 5D 04 01 01 03 01` |
| off, on | `FF 00 40 0F 04 00 00 00 00` | `FF 00 40 AE 04 02 01 01 00` | `FF 00 40 5D 04 01 01 03 00` |
| on, off | nothing | `FF 00 40 00 04 02 01 01 01` | `FF 00 40 00 04 01 01 03 01` |
| off, off | nothing | nothing | nothing |

Buzzer off keeps the LED sequence with the link to buzzer B = 00 (silent). LED off sends P2 = 00
(no mask bit set: the LEDs keep whatever state they have) with the same T1, T2 and N, so the
beeps keep their rhythm; the silent "card found" light has nothing left to send.

Other readers are skipped silently. nfcpy connections never get these: nfcpy drives the
reader's PN53x directly, so an FF APDU would go to the card over the air.
"""

from __future__ import annotations

import logging
import re

from cardio.connection import Connection
from cardio.errors import CitycardError
from cardio.terminal_config import FEEDBACK_MODES

log = logging.getLogger(__name__)

# P2 bits of FF 00 40 (LED state control).
FINAL_RED = 0x01
FINAL_GREEN = 0x02
RED_MASK = 0x04
GREEN_MASK = 0x08
INITIAL_RED_BLINK = 0x10
INITIAL_GREEN_BLINK = 0x20
RED_BLINK_MASK = 0x40
GREEN_BLINK_MASK = 0x80

# Byte 3 of the data: link to buzzer.
BUZZER_OFF = 0x00
BUZZER_T1 = 0x01
BUZZER_T2 = 0x02
BUZZER_T1_T2 = 0x03

ACR122_READER = re.compile(r"ACR122", re.IGNORECASE)


def led_buzzer(p2: int, t1: int, t2: int, repetitions: int, buzzer: int) -> bytes:
    """The ACR122U "Bi-Color LED and Buzzer Control" pseudo-APDU."""
    for value in (p2, t1, t2, repetitions, buzzer):
        if not 0 <= value <= 0xFF:
            raise ValueError("Every LED and buzzer parameter is one byte.")
    return bytes((0xFF, 0x00, 0x40, p2, 0x04, t1, t2, repetitions, buzzer))


READING = led_buzzer(FINAL_RED | FINAL_GREEN | RED_MASK | GREEN_MASK, 0, 0, 0, BUZZER_OFF)
VALID = led_buzzer(
    FINAL_GREEN | RED_MASK | GREEN_MASK | INITIAL_GREEN_BLINK | GREEN_BLINK_MASK, 2, 1, 1, BUZZER_T1
)
NOT_VALID = led_buzzer(
    FINAL_RED | RED_MASK | GREEN_MASK | INITIAL_RED_BLINK | RED_BLINK_MASK, 1, 1, 3, BUZZER_T1
)


def feedback_apdu(apdu: bytes, *, buzzer: bool = True, led: bool = True) -> bytes | None:
    """`apdu` (one of READING, VALID, NOT_VALID) with the buzzer and/or the LEDs left out;
    None when nothing would be left to do."""
    p2, t1, t2, repetitions, link = apdu[3], apdu[5], apdu[6], apdu[7], apdu[8]
    if not buzzer:
        link = BUZZER_OFF
    if not led:
        p2 = 0  # every P2 bit is about the LEDs: no mask set, no LED changes
    if link == BUZZER_OFF and p2 == 0:
        return None
    return led_buzzer(p2, t1, t2, repetitions, link)


class ReaderFeedback:
    """Sends the LED and buzzer pseudo-APDUs to readers that understand them.

    mode "auto" (default): only PC/SC readers whose name contains ACR122; "acr122": every PC/SC
    reader (for a compatible reader with another name); "off": never. `buzzer=False` keeps the
    lights without beeps, `led=False` the beeps without lights; both off sends nothing.
    Feedback is best effort: a reader that refuses or fails is ignored, and the tap's verdict
    stands.
    """

    def __init__(self, mode: str = "auto", *, buzzer: bool = True, led: bool = True) -> None:
        if mode not in FEEDBACK_MODES:
            raise ValueError(
                f"Reader feedback mode {mode!r} is not one of {', '.join(FEEDBACK_MODES)}."
            )
        self.mode = mode
        self.buzzer = buzzer
        self.led = led
        self.sent = 0

    def applies(self, conn: Connection) -> bool:
        if self.mode == "off" or not (self.buzzer or self.led):
            return False
        try:
            from cardio.pcsc import PcscConnection
        except ImportError:  # no pyscard: no PC/SC reader to talk to
            return False
        if not isinstance(conn, PcscConnection):
            return False
        return self.mode == "acr122" or bool(ACR122_READER.search(conn.reader))

    def reading(self, conn: Connection) -> None:
        self._send(conn, READING)

    def verdict(self, conn: Connection, valid: bool) -> None:
        self._send(conn, VALID if valid else NOT_VALID)

    def _send(self, conn: Connection, full: bytes) -> None:
        apdu = feedback_apdu(full, buzzer=self.buzzer, led=self.led)
        if apdu is None or not self.applies(conn):
            return
        try:
            response = conn.transmit(apdu)
        except CitycardError as exc:  # the card left, the reader refused: no light, no harm
            log.debug("reader feedback not sent: %s", type(exc).__name__)
            return
        self.sent += 1
        if response[-2:-1] != b"\x90":
            log.debug("reader feedback refused with status %s", response[-2:].hex().upper())
