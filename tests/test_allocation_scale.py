"""Allocation at city scale: constant work per card, no duplicates under concurrency, status
lists that open by themselves when full, slots out of issuance order, cheap receipt-code
digests (and old scrypt ones still verifying)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from api.issuer.config import PEPPER_FILE
from api.issuer.service import Issuer
from api.issuer.slots import SlotOrder, slot_key
from cardio import codes
from cardio.keys import load_public_pem
from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE
from cardio.trustlist import parse_trust_list
from tests.api_fixtures import BACKENDS, fixture_database_url, make_issuer  # noqa: F401
from tests.conftest import NOW

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


def _shrink_lists(issuer: Issuer, size: int) -> None:
    """Make the open list (and every list opened later) `size` slots long."""
    with issuer.registry.write() as s:
        s.execute(text("UPDATE status_lists SET size = :n"), {"n": size})
    issuer._config.data["status_list_size"] = size
    issuer._save_config()


@BOTH
def test_many_threads_get_distinct_numbers_and_slots(
    tmp_path: Path, database_url: str | None
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    _shrink_lists(issuer, 32)  # 64 cards fill two lists: threads race to open the next ones
    kiosks = [f"kiosk-{n}" for n in range(8)]
    for kiosk in kiosks:
        issuer.add_kiosk(kiosk)
    got: list[tuple[str, str, int]] = []
    errors: list[BaseException] = []

    def worker(kiosk: str) -> None:
        try:
            for i in range(8):
                a = issuer.allocate(kiosk, f"req-{i}")
                got.append((a.document_number, a.status_list, a.status_index))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 64
    assert len({g[0] for g in got}) == 64
    assert len({(g[1], g[2]) for g in got}) == 64
    assert sorted(int(g[0][3:10]) for g in got) == list(range(1, 65))
    assert {g[1] for g in got} == {"1", "2"}
    assert all(0 <= g[2] < 32 for g in got)
    issuer.close()


@BOTH
def test_a_full_list_opens_the_next_one_and_publishes_it(
    tmp_path: Path, database_url: str | None
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    issuer.add_kiosk("kiosk-2")
    _shrink_lists(issuer, 4)
    pub = issuer.dir / "public"
    root = load_public_pem((pub / ROOT_KEY_FILE).read_bytes())

    def published_lists() -> tuple[str, ...]:
        return parse_trust_list((pub / TRUST_LIST_FILE).read_bytes(), root).status_lists

    lists = [issuer.allocate("kiosk-2", f"req-{i}", NOW).status_list for i in range(3)]
    assert issuer.config["status_lists"] == ["1"]
    # The last slot of list 1 goes out: list 2 is opened and named, but nothing is signed on
    # the allocation's path...
    before = published_lists()
    lists.append(issuer.allocate("kiosk-2", "req-3", NOW).status_list)
    assert issuer.config["status_lists"] == ["1", "2"]
    assert published_lists() == before == (issuer.status_uri("1"),)
    # ...the publisher's catch-up publishes the trust list naming it, and its empty status
    # list, before its first card.
    assert "2" in issuer.publisher.publish_owed(NOW, 3600)
    assert published_lists() == tuple(issuer.status_uri(i) for i in ("1", "2"))
    assert (pub / STATUS_DIR / f"2{STATUS_SUFFIX}").is_file()
    for i in range(4, 10):
        lists.append(issuer.allocate("kiosk-2", f"req-{i}", NOW).status_list)
        issuer.publisher.publish_owed(NOW, 3600)
        assert published_lists() == tuple(issuer.status_uri(x) for x in issuer.config["status_lists"])
    assert lists == ["1"] * 4 + ["2"] * 4 + ["3"] * 2
    assert issuer.config["status_lists"] == ["1", "2", "3"]
    assert published_lists() == tuple(issuer.status_uri(i) for i in ("1", "2", "3"))
    assert (pub / STATUS_DIR / f"3{STATUS_SUFFIX}").is_file()
    # Another process that still names only list 1 follows the registry to list 3.
    other = Issuer(issuer.dir, database_url)
    other._config.data["status_lists"] = ["1"]
    assert other.allocate("kiosk-2", "req-10", NOW).status_list == "3"
    other.close()
    issuer.close()


@BOTH
def test_allocation_runs_no_query_that_grows_with_the_registry(
    tmp_path: Path, database_url: str | None
) -> None:
    issuer = make_issuer(tmp_path / "issuer", database_url)
    issuer.add_kiosk("kiosk-2")
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(issuer.registry.engine, "before_cursor_execute", record)
    counts = []
    for i in range(60):
        seen.clear()
        issuer.allocate("kiosk-2", f"req-{i}", NOW)
        counts.append(len(seen))
        for sql in seen:
            assert "count(" not in sql, sql
            if " from cards" in sql:  # reads of cards go by primary or unique key only
                assert "where" in sql and "limit" not in sql.split("where")[0], sql
    assert max(counts[1:]) == min(counts[1:])  # the same statements at 1 card and at 60
    event.remove(issuer.registry.engine, "before_cursor_execute", record)
    issuer.close()


def test_slots_are_not_handed_out_in_issuance_order(tmp_path: Path) -> None:
    issuer = make_issuer(tmp_path / "issuer", None)
    issuer.add_kiosk("kiosk-2")
    indices = [issuer.allocate("kiosk-2", f"req-{i}", NOW).status_index for i in range(200)]
    assert len(set(indices)) == 200
    assert indices != sorted(indices) and indices != sorted(indices, reverse=True)
    ups = sum(b > a for a, b in itertools.pairwise(indices))
    assert 60 < ups < 140  # about as many rises as falls: no drift with time
    issuer.close()


def test_the_slot_order_is_a_keyed_permutation() -> None:
    for size in (1, 2, 3, 7, 64, 1000, 4097):
        order = SlotOrder(slot_key(b"k" * 32, "1"), size)
        assert sorted(order.slot(p) for p in range(size)) == list(range(size))
    one = [SlotOrder(slot_key(b"a" * 32, "1"), 1 << 17).slot(p) for p in range(50)]
    other = [SlotOrder(slot_key(b"b" * 32, "1"), 1 << 17).slot(p) for p in range(50)]
    assert one != other
    with pytest.raises(ValueError):
        SlotOrder(b"k", 10).slot(10)


def test_a_repeated_request_gets_the_same_card(tmp_path: Path) -> None:
    issuer = make_issuer(tmp_path / "issuer", None)
    issuer.add_kiosk("kiosk-2")
    first = issuer.allocate("kiosk-2", "req-1", NOW)
    again = issuer.allocate("kiosk-2", "req-1", NOW)
    assert (again.document_number, again.status_list, again.status_index) == (
        first.document_number, first.status_list, first.status_index,
    )  # fmt: skip
    assert again.replayed and not first.replayed
    assert issuer.allocate("kiosk-2", "req-2", NOW).document_number != first.document_number
    issuer.close()


def test_receipt_codes_are_keyed_digests_and_old_scrypt_ones_still_verify(
    tmp_path: Path,
) -> None:
    issuer = make_issuer(tmp_path / "issuer", None)
    issuer.add_kiosk("kiosk-2")
    ours = issuer.allocate("kiosk-2", "req-1", NOW)
    issuer.report_issued("kiosk-2", ours.document_number, NOW, NOW + 1000, now=NOW)
    old = issuer.allocate("kiosk-2", "req-2", NOW)
    old_code = codes.new_revocation_code()
    issuer.report_issued(
        "kiosk-2", old.document_number, NOW, NOW + 1000, codes.hash_code(old_code), now=NOW
    )
    stored = {c["document_number"]: c["revocation_code_hash"] for c in issuer.registry.dump()["cards"]}
    assert stored[ours.document_number].startswith(codes.HMAC_SCHEME + "$")
    assert stored[old.document_number].startswith("scrypt$")
    # The pepper is in the issuer's directory, never in the registry.
    pepper = (issuer.dir / PEPPER_FILE).read_bytes()
    assert len(pepper) == 32 and (issuer.dir / PEPPER_FILE).stat().st_mode & 0o777 == 0o600
    assert pepper.hex() not in repr(issuer.registry.dump())
    # Without the pepper the keyed digest verifies nothing.
    assert not codes.check_code(ours.revocation_code, stored[ours.document_number])
    assert not codes.check_code(ours.revocation_code, stored[ours.document_number], b"x" * 32)
    wrong = "00000-00000" if ours.revocation_code != "00000-00000" else "11111-11111"
    assert issuer.self_revoke(ours.document_number, wrong, NOW) is None
    assert issuer.self_revoke(ours.document_number, ours.revocation_code.lower(), NOW) is not None
    assert issuer.self_revoke(ours.document_number, ours.revocation_code, NOW) is None  # once
    assert issuer.self_revoke(old.document_number, old_code, NOW) is not None
    issuer.close()
