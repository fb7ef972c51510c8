"""The issuer's promises: no personal data at rest, checkable document numbers, unlinkable indices."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from api.issuer.service import Issuer, luhn_digit
from cardio.credential import ChipBinding, Holder
from cardio.published import load_verifier
from tests.conftest import NOW, synthetic_photo

EPOCH = date(1970, 1, 1)

# Obviously fictional residents besides the `holder` fixture: some born before 1970 (negative
# day numbers), one with non-ASCII names.
RESIDENTS = [
    ("Fiktiv", "Quilla", date(1958, 7, 14)),
    ("Ærøskøbing-Probe", "Zoë", date(1946, 11, 2)),
    ("Testperson", "Orrin", date(2001, 9, 30)),
]


def luhn_valid(digits: str) -> bool:
    """Standard Luhn check over a number that ends in its check digit (independent of the issuer)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def leaves(obj: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) for every scalar in a parsed JSON document; list items keep their parent key."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from leaves(v, key)
    else:
        yield key, obj


INDEX_KEYS = ("idx", "status_index")  # random status indices (registry.json, SQL registry)


def assert_no_personal_bytes(raw: bytes, name: str, holders: list[Holder]) -> None:
    """No name, birth date or photo bytes anywhere in a binary file (a database file)."""
    lowered = raw.lower()
    for h in holders:
        for value in (h.family_name, h.given_name):
            for enc in ("utf-8", "utf-16-le", "utf-16-be"):
                assert value.lower().encode(enc) not in lowered, f"{value!r} ({enc}) in {name}"
        iso = h.birth_date.isoformat()
        for form in (iso, iso.replace("-", ""), h.birth_date.strftime("%d.%m.%Y")):
            assert form.encode() not in raw, f"birth date {form} in {name}"
        if h.photo is not None:
            assert h.photo[16:64] not in raw, f"photo bytes in {name}"


def assert_no_personal_data(raw: bytes, name: str, holders: list[Holder]) -> None:
    text = raw.decode("utf-8")
    parsed = json.loads(text)
    idx_values = [v for k, v in leaves(parsed) if k in INDEX_KEYS]
    lowered = text.lower()
    for h in holders:
        for value in (h.family_name, h.given_name):
            assert value.lower() not in lowered, f"{value!r} in {name}"
            escaped = json.dumps(value)[1:-1].lower()  # how json.dumps writes non-ASCII
            assert escaped not in lowered, f"{value!r} in {name}"
        iso = h.birth_date.isoformat()
        for form in (iso, iso.replace("-", ""), h.birth_date.strftime("%d.%m.%Y")):
            assert form not in text, f"birth date {form} in {name}"
        day = (h.birth_date - EPOCH).days
        hits = re.findall(rf"(?<![\w.-]){day}(?![\w.])".encode(), raw)
        # A random status index may equal a day number by chance; any other occurrence is a leak.
        assert len(hits) <= idx_values.count(day), f"birth day number {day} in {name}"
        for key, value in leaves(parsed):
            if value == day and not isinstance(value, bool):
                assert key in INDEX_KEYS, f"birth day number {day} under {key!r} in {name}"
        if h.photo is not None:
            for form in (base64.b64encode(h.photo[:48]), h.photo[:48].hex().encode()):
                assert form not in raw, f"photo bytes in {name}"


def test_registry_and_config_hold_no_personal_data(issuer: Issuer, holder: Holder) -> None:
    holders = [holder] + [
        Holder(program="demo", family_name=f, given_name=g, birth_date=b, sex="X")
        for f, g, b in RESIDENTS
    ]
    photo_holder = Holder(
        program="demo",
        family_name="Bildnis-Fiktiv",
        given_name="Ilka",
        birth_date=date(1962, 5, 17),
        photo=synthetic_photo(),
    )
    holders.append(photo_holder)
    issued = [issuer.issue(h, now=NOW) for h in holders]
    issued.append(
        issuer.issue(
            photo_holder, chip_binding=ChipBinding(uid=bytes.fromhex("04A1B2C3D4E5F6")), now=NOW
        )
    )
    issuer.publish(NOW)

    # The credentials themselves do carry the names (so the search below is not vacuous).
    verifier, problems = load_verifier(issuer.dir)
    assert problems == []
    for h, card in zip(holders, issued[: len(holders)], strict=True):
        res = verifier.verify(card.print_cose, now=NOW + 60)
        assert res.valid and res.claims is not None
        assert res.claims["family_name"] == h.family_name
        assert res.claims["birth_date"] == h.birth_date.isoformat()

    cards = issuer.registry.cards()
    assert set(cards) == {c.credential.document_number for c in issued}
    # Every row of every table, as JSON, and the database files byte for byte.
    dump = json.dumps(issuer.registry.dump(), ensure_ascii=False).encode("utf-8")
    assert_no_personal_data(dump, "registry rows", holders)
    assert_no_personal_data((issuer.dir / "issuer.json").read_bytes(), "issuer.json", holders)
    db_files = sorted(issuer.dir.glob("registry.sqlite*"))
    assert issuer.dir / "registry.sqlite" in db_files
    for path in db_files:
        assert_no_personal_bytes(path.read_bytes(), path.name, holders)
    assert not (issuer.dir / "registry.json").exists()


def test_the_privacy_check_would_catch_a_leak(holder: Holder) -> None:
    """The checker above is not vacuous: each kind of leak trips it."""
    day = (holder.birth_date - EPOCH).days
    for leak in (
        {"cards": {"DEV00000018": {"idx": 5, "who": holder.family_name.upper()}}},
        {"cards": {"DEV00000018": {"idx": 5, "note": f"born {holder.birth_date}"}}},
        {"cards": {"DEV00000018": {"idx": 5, "bd": day}}},
        {"cards": {"DEV00000018": {"idx": 5, "given": [holder.given_name]}}},
    ):
        raw = json.dumps(leak).encode()
        with pytest.raises(AssertionError):
            assert_no_personal_data(raw, "leak.json", [holder])
    for leak_bytes in (
        b"SQLite format 3\x00" + holder.family_name.encode("utf-16-le"),
        b"\x00\x01" + holder.birth_date.isoformat().encode() + b"\x00",
        b"row" + holder.given_name.upper().encode() + b"\xff",
    ):
        with pytest.raises(AssertionError):
            assert_no_personal_bytes(leak_bytes, "leak.sqlite", [holder])
    # A status index that happens to equal the day number is not a leak.
    ok = json.dumps({"cards": {"DEV00000018": {"idx": day}}}).encode()
    assert_no_personal_data(ok, "ok.json", [holder])


def test_document_numbers_carry_a_luhn_check_digit(issuer: Issuer, holder: Holder) -> None:
    assert luhn_digit("7992739871") == "3"  # the textbook example
    numbers = [issuer.issue(holder, now=NOW).credential.document_number for _ in range(25)]
    assert numbers[:3] == ["DEV00000018", "DEV00000026", "DEV00000034"]
    assert len(set(numbers)) == len(numbers)
    for seq, number in enumerate(numbers, start=1):
        assert re.fullmatch(r"DEV\d{8}", number)
        digits = number[3:]
        assert digits[:7] == f"{seq:07d}"
        assert luhn_valid(digits), number
        # Any single mistyped digit is caught.
        for pos in range(len(digits)):
            for wrong in "0123456789":
                if wrong != digits[pos]:
                    typo = digits[:pos] + wrong + digits[pos + 1 :]
                    assert not luhn_valid(typo), (number, typo)


def test_status_indices_are_distinct_and_random(issuer: Issuer, holder: Holder) -> None:
    issued = [issuer.issue(holder, now=NOW) for _ in range(200)]
    indices = [card.status_index for card in issued]
    size = issuer.config["status_list_size"]
    assert len(set(indices)) == len(indices)
    assert all(0 <= i < size for i in indices)
    assert indices != sorted(indices)  # not handed out in order (herd privacy)
    cards = issuer.registry.cards()
    assert sorted(c["idx"] for c in cards.values()) == sorted(indices)
    for card in issued:
        entry = cards[card.credential.document_number]
        assert (entry["list"], entry["idx"]) == (card.status_list, card.status_index)
        assert card.credential.status_index == card.status_index
