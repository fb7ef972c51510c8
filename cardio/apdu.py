"""ISO/IEC 7816-4 command APDUs, status words as typed errors, and a processor over a Connection.

Shaped after yubikey-manager's `SmartCardProtocol`: `ApduProcessor.send()` encodes a command
(short or extended, chaining long data over a short-only reader), follows 61xx with GET
RESPONSE and 6Cxx with a resend carrying the right Le, and returns the response data or raises
the `ApduError` subclass for the status word. It counts every APDU and byte it exchanges, so a
benchmark can compare a read with the minimum for the frame size.

Lengths follow ISO/IEC 7816-4 section 5.1: `le` is Ne, the number of response bytes asked for
(1..256 short, 1..65536 extended; 256 is sent as 00 and 65536 as 0000), None when the command
expects no response data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .connection import Connection
from .errors import CardConnectionError, CitycardError

SW_OK = 0x9000
SHORT_MAX_DATA = 255
SHORT_MAX_LE = 256
EXTENDED_MAX_DATA = 65535
EXTENDED_MAX_LE = 65536
CLA_CHAINING = 0x10
INS_GET_RESPONSE = 0xC0
INS_SELECT = 0xA4
_MAX_GET_RESPONSES = 1024  # a card answering 61xx for ever is broken, not slow


# -- encoding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandApdu:
    """A decoded command APDU; `extended` is True when Lc or Le used the 3-byte/2-byte form."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def encode(self) -> bytes:
        return encode_command(
            self.cla, self.ins, self.p1, self.p2, self.data, self.le, extended=self.extended
        )


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must be a byte (0..255), not {value}.")


def encode_command(
    cla: int,
    ins: int,
    p1: int,
    p2: int,
    data: bytes = b"",
    le: int | None = None,
    extended: bool = False,
) -> bytes:
    """Encode a command APDU (cases 1, 2, 3, 4; short or extended).

    Short form: Lc 1 byte (1..255), Le 1 byte (1..256, 256 as 00). Extended form: Lc 00 + 2
    bytes (1..65535), Le 2 bytes after an extended Lc or 00 + 2 bytes alone (1..65536, 65536
    as 0000). Raises ValueError when the lengths need the extended form and `extended` is False.
    """
    for name, value in (("CLA", cla), ("INS", ins), ("P1", p1), ("P2", p2)):
        _check_byte(name, value)
    data = bytes(data)
    header = bytes((cla, ins, p1, p2))
    if le is not None and not 1 <= le <= (EXTENDED_MAX_LE if extended else SHORT_MAX_LE):
        raise ValueError(
            f"Le {le} is out of range for a {'extended' if extended else 'short'} APDU "
            f"(1..{EXTENDED_MAX_LE if extended else SHORT_MAX_LE}); pass None for no Le."
        )
    if len(data) > (EXTENDED_MAX_DATA if extended else SHORT_MAX_DATA):
        raise ValueError(
            f"{len(data)} data bytes do not fit a {'extended' if extended else 'short'} APDU; "
            "use extended=True or command chaining."
        )
    if not extended:
        lc = bytes((len(data),)) + data if data else b""
        le_field = b"" if le is None else bytes((le & 0xFF,))
        return header + lc + le_field
    lc = b"\x00" + len(data).to_bytes(2, "big") + data if data else b""
    if le is None:
        le_field = b""
    else:
        le_field = (le & 0xFFFF).to_bytes(2, "big")
        if not data:
            le_field = b"\x00" + le_field
    return header + lc + le_field


def decode_command(apdu: bytes) -> CommandApdu:
    """Parse a command APDU (ISO/IEC 7816-4 5.1). Raises ValueError when the lengths disagree."""
    apdu = bytes(apdu)
    n = len(apdu)
    if n < 4:
        raise ValueError(f"A command APDU has at least 4 bytes, not {n}.")
    cla, ins, p1, p2 = apdu[:4]
    if n == 4:
        return CommandApdu(cla, ins, p1, p2)
    if n == 5:  # case 2 short
        return CommandApdu(cla, ins, p1, p2, b"", apdu[4] or SHORT_MAX_LE)
    if apdu[4] != 0:  # case 3 or 4 short
        lc = apdu[4]
        if n == 5 + lc:
            return CommandApdu(cla, ins, p1, p2, apdu[5:])
        if n == 6 + lc:
            return CommandApdu(cla, ins, p1, p2, apdu[5:-1], apdu[-1] or SHORT_MAX_LE)
        raise ValueError(f"Lc {lc} does not match a {n}-byte short APDU.")
    if n == 7:  # case 2 extended
        return CommandApdu(
            cla, ins, p1, p2, b"", int.from_bytes(apdu[5:7], "big") or EXTENDED_MAX_LE, True
        )
    if n < 8:
        raise ValueError(f"A {n}-byte APDU starting an extended length is truncated.")
    lc = int.from_bytes(apdu[5:7], "big")
    if lc == 0:
        raise ValueError("An extended Lc of 0000 is not allowed.")
    if n == 7 + lc:
        return CommandApdu(cla, ins, p1, p2, apdu[7:], None, True)
    if n == 9 + lc:
        le = int.from_bytes(apdu[-2:], "big") or EXTENDED_MAX_LE
        return CommandApdu(cla, ins, p1, p2, apdu[7:-2], le, True)
    raise ValueError(f"Extended Lc {lc} does not match a {n}-byte APDU.")


def split_response(response: bytes) -> tuple[bytes, int]:
    """(data, SW) of a response APDU. Raises CardConnectionError when there is no status word."""
    if len(response) < 2:
        raise CardConnectionError(
            "The card answered without a status word; present the card again and retry."
        )
    return bytes(response[:-2]), int.from_bytes(response[-2:], "big")


# -- status words --------------------------------------------------------------------------------


class ApduError(CitycardError):
    """A command the card refused: `sw` is the status word (SW1 SW2 as one int)."""

    default_sentence = "The card refused a command."

    def __init__(self, sw: int, sentence: str | None = None) -> None:
        self.sw = sw
        self.sentence = sentence or self.default_sentence
        super().__init__(f"{self.sentence} (SW {sw:04X})")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF


class WrongLengthError(ApduError):
    default_sentence = "The card rejected the length of a command (wrong Lc or Le)."


class SecurityStatusError(ApduError):
    default_sentence = (
        "The card refused: security status not satisfied (locked or not authenticated)."
    )


class ConditionsNotSatisfiedError(ApduError):
    default_sentence = "The card refused: conditions of use not satisfied."


class ApduFileNotFoundError(ApduError):
    default_sentence = "The card has no such file or application."


class NotEnoughMemoryError(ApduError):
    default_sentence = "The card has not enough memory in the file for this write."


class WrongParametersError(ApduError):
    default_sentence = (
        "The card rejected the command parameters (P1-P2, e.g. an offset outside the file)."
    )


class InsNotSupportedError(ApduError):
    default_sentence = "The card does not know this instruction."


class ClaNotSupportedError(ApduError):
    default_sentence = "The card does not support this command class."


class WrongDataError(ApduError):
    default_sentence = "The card rejected the command data."


class UnexpectedStatusError(ApduError):
    """Any status word without a class of its own (warnings 62xx/63xx included)."""

    default_sentence = "The card answered with an unexpected status word."


_SW_ERRORS: dict[int, type[ApduError]] = {
    0x6700: WrongLengthError,
    0x6982: SecurityStatusError,
    0x6985: ConditionsNotSatisfiedError,
    0x6A82: ApduFileNotFoundError,
    0x6A84: NotEnoughMemoryError,
    0x6B00: WrongParametersError,
    0x6A86: WrongParametersError,
    0x6D00: InsNotSupportedError,
    0x6E00: ClaNotSupportedError,
    0x6A80: WrongDataError,
}


def error_for_sw(sw: int, sentence: str | None = None) -> ApduError:
    """The typed error for a status word other than 9000."""
    return _SW_ERRORS.get(sw, UnexpectedStatusError)(sw, sentence)


def raise_for_sw(sw: int) -> None:
    """Return for 9000; raise the typed ApduError for anything else."""
    if sw != SW_OK:
        raise error_for_sw(sw)


# -- processor -----------------------------------------------------------------------------------


class ApduProcessor:
    """Sends commands over a Connection and turns status words into data or typed errors.

    Extended APDUs are used when `allow_extended` and `connection.extended_length` are both
    True; otherwise data longer than 255 bytes is sent with command chaining (CLA | 0x10).
    """

    def __init__(self, connection: Connection, *, allow_extended: bool = True) -> None:
        self.connection = connection
        self.allow_extended = allow_extended
        self.apdu_count = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.select_count = 0
        """SELECT commands sent through this processor: applications use it to notice that
        something else changed the card's current application or file."""

    @property
    def extended(self) -> bool:
        """True when commands may use extended lengths (card support is the caller's business)."""
        return self.allow_extended and self.connection.extended_length

    @property
    def max_response(self) -> int:
        """Largest Ne one command may ask for over this connection."""
        if self.extended:
            return max(1, min(EXTENDED_MAX_LE, self.connection.max_response))
        return max(1, min(SHORT_MAX_LE, self.connection.max_response))

    @property
    def max_command_data(self) -> int:
        """Largest command data field one APDU carries without chaining."""
        return EXTENDED_MAX_DATA if self.extended else SHORT_MAX_DATA

    def reset_counters(self) -> None:
        self.apdu_count = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def transmit(self, apdu: bytes) -> bytes:
        """Send one raw APDU and return the raw response, counting both."""
        response = bytes(self.connection.transmit(bytes(apdu)))
        self.apdu_count += 1
        self.bytes_sent += len(apdu)
        self.bytes_received += len(response)
        return response

    def send(
        self,
        cla: int,
        ins: int,
        p1: int,
        p2: int,
        data: bytes = b"",
        le: int | None = None,
    ) -> bytes:
        """Send a command; return the response data or raise the ApduError for its SW.

        `le` is Ne (None: no response data expected). Data above 255 bytes goes out as one
        extended APDU when allowed, else as a chain of short APDUs; Ne above 256 needs extended.
        """
        data = bytes(data)
        need_extended = len(data) > SHORT_MAX_DATA or (le is not None and le > SHORT_MAX_LE)
        if ins == INS_SELECT:
            self.select_count += 1
        if need_extended and self.extended:
            apdu = encode_command(cla, ins, p1, p2, data, le, extended=True)
            return self._exchange(apdu, (cla, ins, p1, p2, data, True))
        if le is not None and le > SHORT_MAX_LE:
            raise ValueError(
                f"Le {le} needs an extended APDU, which this connection does not pass; "
                f"ask for at most {SHORT_MAX_LE} bytes."
            )
        if len(data) > SHORT_MAX_DATA:
            if cla & CLA_CHAINING:
                raise ValueError(
                    f"CLA {cla:02X} cannot be chained: its chaining bit is already set."
                )
            blocks = [data[i : i + SHORT_MAX_DATA] for i in range(0, len(data), SHORT_MAX_DATA)]
            for block in blocks[:-1]:
                _, sw = split_response(
                    self.transmit(encode_command(cla | CLA_CHAINING, ins, p1, p2, block))
                )
                raise_for_sw(sw)
            data = blocks[-1]
        apdu = encode_command(cla, ins, p1, p2, data, le)
        return self._exchange(apdu, (cla, ins, p1, p2, data, False))

    def _exchange(self, apdu: bytes, command: tuple[int, int, int, int, bytes, bool]) -> bytes:
        body, sw = split_response(self.transmit(apdu))
        if sw >> 8 == 0x6C:  # wrong Le: SW2 is the exact length available, resend once
            cla, ins, p1, p2, data, extended = command
            exact = (sw & 0xFF) or SHORT_MAX_LE
            body, sw = split_response(
                self.transmit(encode_command(cla, ins, p1, p2, data, exact, extended=extended))
            )
        out = bytearray(body)
        rounds = 0
        while sw >> 8 == 0x61:  # more data: GET RESPONSE until 9000
            rounds += 1
            if rounds > _MAX_GET_RESPONSES:
                raise UnexpectedStatusError(
                    sw, "The card kept announcing more response data without end."
                )
            body, sw = split_response(
                self.transmit(encode_command(0x00, INS_GET_RESPONSE, 0, 0, le=(sw & 0xFF) or 256))
            )
            out += body
        raise_for_sw(sw)
        return bytes(out)
