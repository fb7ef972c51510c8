"""Receipt codes and document numbers as phones type them: another script's digits, full-width
forms, dashes and invisible spaces are read as what they show, on the lost page and in the
self-revocation API; a text that cannot be a code is told so without costing an attempt. And
identifiers with a trailing newline are malformed, not looked up."""

from __future__ import annotations

import pytest

from cardio import codes
from tests.api_fixtures import Api, fixture_api, fixture_database_url  # noqa: F401
from tests.desk_helpers import issued_card, post_form, text_of

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def full_width(text: str) -> str:
    """What a Japanese IME types: every ASCII character as its full-width form."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def phone_typed(code: str) -> list[str]:
    """The right code as different phones type it (letters always change, digits may not)."""
    first, second = code[:5], code[6:]
    return [
        full_width(code),
        f"{first}\u2013{second}".translate(ARABIC_INDIC),  # en dash from auto-correct
        f"\u200f{first}\u00a0{second}".translate(PERSIAN),  # RLM, no-break space
        f"{first}\u200b{second}",  # zero-width space
        f"{full_width(first)}ー{second}",  # katakana long mark for '-'
    ]


@pytest.mark.parametrize(
    ("typed", "canon"),
    [
        ("MB٩RY-E٢SXR", "MB9RYE2SXR"),
        ("ＭＢ９ＲＹ－Ｅ２ＳＸＲ", "MB9RYE2SXR"),
        ("mb9ry\u2014e2sxr", "MB9RYE2SXR"),
        ("\u200fMB۹RY\u00a0E۲SXR\ufeff", "MB9RYE2SXR"),
        ("MB9RY\u2212E2SXR", "MB9RYE2SXR"),
    ],
)
def test_a_code_typed_on_any_keyboard_is_read_as_printed(typed: str, canon: str) -> None:
    assert codes.normalise_code(typed) == canon


def test_text_that_is_no_code_stays_none() -> None:
    for typed in ("hello", "MB9RY-E2SX", "MB9RY-E2SXR-1", "MB9RY_E2SXR", "٩" * 10 + "!"):
        assert codes.normalise_code(typed) is None, typed


def test_the_lost_page_takes_a_right_code_typed_on_a_phone(api: Api) -> None:
    numbers = []
    for typed in (lambda n, c: (n.translate(ARABIC_INDIC), phone_typed(c)[1]),
                  lambda n, c: (full_width(n), phone_typed(c)[0]),
                  lambda n, c: (n.translate(PERSIAN) + "\u200b", phone_typed(c)[2])):
        number, code = issued_card(api)
        doc, text = typed(number, code)
        res = post_form(api.client, "/lost", "/lost", {"doc": doc, "code": text, "action": "suspend"})
        assert res.status_code == 303, text_of(res)  # to the result page (a reload posts nothing)
        assert number in text_of(api.client.get(res.headers["Location"]))
        assert api.issuer.card(number).status == "suspended"
        numbers.append(number)
    assert len(set(numbers)) == 3


def test_the_api_takes_a_right_code_typed_on_a_phone(api: Api) -> None:
    for n in (3, 4):
        number, code = issued_card(api)
        res = api.self_revoke(number.translate(PERSIAN), phone_typed(code)[n])
        assert res.status_code == 200, res.get_json()
        assert api.issuer.card(number).status == "revoked"


def test_text_that_is_no_code_costs_no_attempt(api: Api) -> None:
    number, code = issued_card(api)
    for _ in range(7):  # more than the 5 attempts a number has
        res = post_form(
            api.client, "/lost", "/lost", {"doc": number, "code": "hello", "action": "revoke"}
        )
        assert res.status_code == 400, res.status_code
        assert "10 letters and digits printed on your receipt" in text_of(res)
        res = api.self_revoke(number, "my code")
        assert res.status_code == 400 and res.get_json()["code"] == "bad_request"
        assert "'code' must be the receipt's code" in res.get_json()["message"]
    res = post_form(api.client, "/lost", "/lost", {"doc": number, "code": code, "action": "revoke"})
    assert res.status_code == 303, text_of(res)
    assert api.issuer.card(number).status == "revoked"


def test_identifiers_with_a_trailing_newline_are_malformed(api: Api) -> None:
    res = api.kiosk_call("POST", "/api/v1/kiosk/allocations", {"request_id": "newline-test-1\n"})
    assert res.status_code == 400 and res.get_json()["code"] == "bad_request"
    number, _code = issued_card(api)
    res = api.client.get(
        f"/api/v1/staff/cards/{number}%0A",
        headers={"Authorization": f"Bearer {api.staff_token}"},
    )
    assert res.status_code == 400 and res.get_json()["code"] == "bad_request"
