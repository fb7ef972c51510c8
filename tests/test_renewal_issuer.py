"""Renewal and replacement at the issuer: the same document number in a new status slot; a
renewed card SUPERSEDED only once the new one is reported issued (never after a void); a
replaced card REVOKED at once. Against the real issuer app, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.test import TestResponse

from api.issuer.card_status import card_history
from api.issuer.cli import main as cli_main
from api.issuer.registry import queries
from cardio.statuslist import SUPERSEDED, Status, parse_token
from tests.api_fixtures import (  # noqa: F401
    ALLOCATE,
    BACKENDS,
    Api,
    fixture_api,
    fixture_database_url,
    new_request_id,
)

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


def _successor(api: Api, number: str, kind: str, request_id: str | None = None) -> Any:
    body = {"request_id": request_id or new_request_id(), "kind": kind, "document_number": number}
    return api.kiosk_call("POST", ALLOCATE, body)


def _body(res: TestResponse) -> dict[str, Any]:
    body = res.get_json()
    assert isinstance(body, dict)
    return body


def _published(api: Api, list_id: str, index: int) -> int:
    """The status a venue reads for a slot, from the list the issuer serves now."""
    res = api.client.get(f"/status/{list_id}")
    assert res.status_code == 200
    return parse_token(res.data).status_list.get(index)


def _first_card(api: Api) -> dict[str, Any]:
    first = api.allocate()
    assert api.issued(first["document_number"]).status_code == 200
    return first


@BOTH
def test_renewal_keeps_the_number_and_supersedes_only_once_issued(api: Api) -> None:
    old = _first_card(api)
    number = old["document_number"]
    res = _successor(api, number, "renewal")
    assert res.status_code == 201, res.json
    new = res.json
    assert new["document_number"] == number
    assert (new["status_list"], new["status_index"]) != (old["status_list"], old["status_index"])
    assert new["revocation_code"] != old["revocation_code"]
    # Allocated, not made yet: the old card is still the holder's valid card.
    assert api.issuer.card(number).status_index == old["status_index"]
    assert api.issuer.card(number).status == "valid"
    assert _published(api, old["status_list"], old["status_index"]) == Status.VALID

    assert api.issued(number, iat=1_790_100_000).status_code == 200
    assert _published(api, old["status_list"], old["status_index"]) == SUPERSEDED
    assert _published(api, new["status_list"], new["status_index"]) == Status.VALID
    history = card_history(api.issuer.cards, number)
    assert [(c.generation, c.status, c.state) for c in history] == [
        (0, "superseded", "issued"),
        (1, "valid", "issued"),
    ]
    current = api.issuer.card(number)
    assert (current.status_index, current.generation) == (new["status_index"], 1)
    # the staff API acts on the new card
    assert _body(api.staff("suspend", number))["status_index"] == new["status_index"]


@BOTH
def test_a_failed_renewal_leaves_the_old_card_valid(api: Api) -> None:
    old = _first_card(api)
    number = old["document_number"]
    new = _successor(api, number, "renewal").json
    res = api.kiosk_call("POST", f"/api/v1/kiosk/cards/{number}/void")
    assert res.status_code == 200 and _body(res)["status_index"] == new["status_index"]
    assert _published(api, new["status_list"], new["status_index"]) == Status.INVALID
    assert _published(api, old["status_list"], old["status_index"]) == Status.VALID
    assert api.issuer.card(number).status_index == old["status_index"]
    assert api.issuer.card(number).status == "valid"
    # and it can be renewed again
    again = _successor(api, number, "renewal")
    assert again.status_code == 201 and again.json["document_number"] == number


@BOTH
def test_replacement_revokes_the_old_card_at_once_even_if_the_job_fails(api: Api) -> None:
    old = _first_card(api)
    number = old["document_number"]
    res = _successor(api, number, "replacement")
    assert res.status_code == 201
    new = res.json
    assert _published(api, old["status_list"], old["status_index"]) == Status.INVALID
    assert api.kiosk_call("POST", f"/api/v1/kiosk/cards/{number}/void").status_code == 200
    assert _published(api, old["status_list"], old["status_index"]) == Status.INVALID
    # a second try, after the failed one: allowed (the old card is revoked already)
    retry = _successor(api, number, "replacement")
    assert retry.status_code == 201
    retry_card = retry.json
    assert api.issued(number).status_code == 200
    assert _published(api, retry_card["status_list"], retry_card["status_index"]) == Status.VALID
    assert _published(api, old["status_list"], old["status_index"]) == Status.INVALID
    assert [c.status for c in card_history(api.issuer.cards, number)] == [
        "revoked", "revoked", "valid",
    ]  # fmt: skip
    assert new["document_number"] == retry_card["document_number"] == number


@BOTH
def test_successor_requests_are_idempotent(api: Api) -> None:
    number = _first_card(api)["document_number"]
    rid = new_request_id()
    first = _successor(api, number, "renewal", rid)
    again = _successor(api, number, "renewal", rid)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["status_index"] == first.json["status_index"]


@BOTH
def test_what_cannot_be_renewed_or_replaced_is_refused_with_a_sentence(api: Api) -> None:
    unknown = _successor(api, "DEV99999990", "renewal")
    assert unknown.status_code == 404 and "check the document number" in unknown.json["message"]

    number = _first_card(api)["document_number"]
    assert _successor(api, number, "renewal").status_code == 201
    busy = _successor(api, number, "replacement")
    assert busy.status_code == 409 and "is being made" in busy.json["message"]
    api.kiosk_call("POST", f"/api/v1/kiosk/cards/{number}/void")

    api.staff("suspend", number)
    suspended = _successor(api, number, "renewal")
    assert suspended.status_code == 409
    assert "contact the city card office" in suspended.json["message"]
    api.staff("revoke", number)
    revoked = _successor(api, number, "renewal")
    assert revoked.status_code == 409 and "replaced instead" in revoked.json["message"]

    never_made = api.allocate()["document_number"]
    res = _successor(api, never_made, "renewal")
    assert res.status_code == 409 and "never completed" in res.json["message"]

    bad = api.kiosk_call("POST", ALLOCATE, {"request_id": new_request_id(), "kind": "renewal"})
    assert bad.status_code == 400 and "document_number" in _body(bad)["message"]
    bad = api.kiosk_call(
        "POST", ALLOCATE, {"request_id": new_request_id(), "document_number": number}
    )
    assert bad.status_code == 400


@BOTH
def test_status_set_by_document_number_acts_on_the_current_card(api: Api) -> None:
    old = _first_card(api)
    number = old["document_number"]
    new = _successor(api, number, "renewal").json
    assert api.issued(number).status_code == 200
    runner = CliRunner()
    directory = str(api.dir)
    res = runner.invoke(
        cli_main, ["status", "set", "--dir", directory, number.lower(), "suspended"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"Card {number} is now suspended;")
    history = card_history(api.issuer.cards, number)
    assert [c.status for c in history] == ["superseded", "suspended"]
    assert history[1].status_index == new["status_index"]
    # the index form still works, and refuses a superseded slot with what to do
    res = runner.invoke(
        cli_main, ["status", "set", "--dir", directory, str(new["status_index"]), "valid"]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        cli_main, ["status", "set", "--dir", directory, str(old["status_index"]), "revoked"]
    )
    assert res.exit_code == 2 and "by its document number" in res.output
    res = runner.invoke(cli_main, ["status", "set", "--dir", directory, "DEV99999990", "revoked"])
    assert res.exit_code == 2 and "There is no card DEV99999990" in res.output
    assert "Traceback" not in res.output
    # nothing typed (this said "There is no card ; check the document number.")
    for blank in ("", "  "):
        res = runner.invoke(cli_main, ["status", "set", "--dir", directory, blank, "revoked"])
        assert res.exit_code == 2, res.output
        assert "Give the card's document number as printed, or its status index." in res.output


@BOTH
def test_a_kiosk_recovering_a_renewal_finds_and_voids_its_slot(api: Api) -> None:
    """A kiosk that crashed before it journalled the answer asks again with the plain
    allocation and its request id (kiosk.job.recovery), then voids what it learns: the
    renewal's slot, not a new number; the old card stays valid."""
    old = _first_card(api)
    number = old["document_number"]
    rid = new_request_id()
    new = _successor(api, number, "renewal", rid).json
    again = api.kiosk_call("POST", ALLOCATE, {"request_id": rid})
    assert again.status_code == 200
    assert (_body(again)["document_number"], _body(again)["status_index"]) == (
        number,
        new["status_index"],
    )
    assert api.kiosk_call("POST", f"/api/v1/kiosk/cards/{number}/void").status_code == 200
    assert [c.status for c in card_history(api.issuer.cards, number)] == ["valid", "revoked"]
    assert api.issuer.card(number).status_index == old["status_index"]


@BOTH
def test_a_card_on_a_one_bit_list_is_revoked_when_renewed(api: Api) -> None:
    """An early issuer's list of 1 bit per card can only say valid or revoked: the renewed
    card is revoked there, and the list still publishes."""
    old = _first_card(api)
    number = old["document_number"]
    with api.issuer.registry.write() as session:
        row = queries.status_list_row(session, old["status_list"])
        assert row is not None
        row.bits = 1
    new = _successor(api, number, "renewal").json
    assert api.issued(number).status_code == 200
    assert [c.status for c in card_history(api.issuer.cards, number)] == ["revoked", "valid"]
    assert _published(api, old["status_list"], old["status_index"]) == Status.INVALID
    assert _published(api, new["status_list"], new["status_index"]) == Status.VALID
