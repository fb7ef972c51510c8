from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardio import base45
from cardio.errors import MalformedError

# RFC 9285 section 4.3 and 4.4 examples.
VECTORS = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
]


@pytest.mark.parametrize(("raw", "text"), VECTORS)
def test_rfc9285_vectors(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@pytest.mark.parametrize("bad", ["GGW", "A", "ab", "AB\n", "ÄÄÄ", ":::"])
def test_invalid_text_is_refused(bad: str) -> None:
    with pytest.raises(MalformedError):
        base45.decode(bad)


@given(st.binary(max_size=600))
def test_round_trip(data: bytes) -> None:
    assert base45.decode(base45.encode(data)) == data


@given(st.text(max_size=200))
def test_decode_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(MalformedError):
        base45.decode(text)
