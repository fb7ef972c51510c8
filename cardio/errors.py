"""Typed errors of the card I/O layer. Every one carries a sentence a person can act on."""

from __future__ import annotations


class CitycardError(Exception):
    """Base of every error citycard shows to a person: its message says what to do next."""


class MalformedError(CitycardError):
    """Bytes that are not what they claim to be (bad CBOR, wrong structure, wrong types)."""


class SignatureError(CitycardError):
    """A signature that does not verify under the expected key."""


class KeyStoreError(CitycardError):
    """A key that cannot be created, found or used."""


class TrustListError(CitycardError):
    """A trust list that is not signed by the pinned root, is malformed or is older than ours."""


class TrustListRollbackError(TrustListError):
    """A trust list older than the one already accepted."""


class StatusListError(CitycardError):
    """A status list that is malformed or not signed by a trusted status key."""


class CardConnectionError(CitycardError):
    """A reader or card that cannot be reached or stopped answering."""


class ReaderNotFoundError(CardConnectionError):
    """No reader by that name (or none at all) is attached."""


class NoCardError(CardConnectionError):
    """No card was presented before the timeout."""


class CardRemovedError(CardConnectionError):
    """The card left the field during an exchange (a torn write is possible)."""


class NotType4Error(CitycardError):
    """A card without the NFC Forum Type 4 NDEF application (or without its CC file)."""


class MalformedCardError(MalformedError):
    """A Type 4 tag whose CC file, NLEN or NDEF message breaks the NFC Forum rules."""


class NoCredentialError(CitycardError):
    """An NDEF message (possibly empty) that holds no citycard credential record."""


class CardTooSmallError(CitycardError):
    """A message that does not fit in the card's NDEF file."""


class CardLockedError(CitycardError):
    """A card whose NDEF file is read-only (locked, or write-protected from the factory)."""


class CardReadProtectedError(CitycardError):
    """A card whose NDEF file may not be read without proprietary authentication."""


class NotIsoDepCardError(NotType4Error):
    """A contactless card that does not speak ISO/IEC 14443-4 (e.g. a Type 2 sticker)."""
