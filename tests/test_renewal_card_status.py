"""Status changes by document number (api.issuer.card_status): they act on the number's
current card, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from api.issuer.card_status import card_history, set_current_card_status
from api.issuer.errors import CardStateError, UnknownCardError
from tests.api_fixtures import BACKENDS, Api, fixture_api, fixture_database_url  # noqa: F401

BOTH = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


@BOTH
def test_set_current_card_status_by_number(api: Api) -> None:
    number = api.allocate()["document_number"]
    assert api.issued(number).status_code == 200
    info, changed = set_current_card_status(api.issuer.cards, number, "suspended", "staff", "d")
    assert (info.status, changed) == ("suspended", True)
    info, changed = set_current_card_status(api.issuer.cards, number, "suspended", "staff", "d")
    assert changed is False
    info, changed = set_current_card_status(api.issuer.cards, number, "revoked", "staff", "d")
    assert info.status == "revoked"
    with pytest.raises(CardStateError):
        set_current_card_status(api.issuer.cards, number, "valid", "staff", "d")
    assert [c.status for c in card_history(api.issuer.cards, number)] == ["revoked"]


@BOTH
def test_unknown_number_is_a_typed_error(api: Api) -> None:
    with pytest.raises(UnknownCardError, match="check the document number"):
        set_current_card_status(api.issuer.cards, "ZZ00000000", "revoked", "staff", "d")
    with pytest.raises(UnknownCardError):
        card_history(api.issuer.cards, "ZZ00000000")
