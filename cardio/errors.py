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
