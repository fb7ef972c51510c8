"""The phone's venue page applies a venue profile's `require` as the reader terminal does: at the
age-restricted event a valid answer whose birth date says the holder is not over 18 is TOO YOUNG
(UNDER_AGE), one that does not say it (or only a wallet's disclosed "no", which may be stale)
AGE NOT KNOWN (AGE_UNKNOWN), each with the terminal's sentence in every language; never a
green VALID with "Over 18: no".

The decision (presentation.js's venueVerdict) runs in node's vm, beside cardio.venues' own
(VenueProfile.refusal) on the same claims; the page script is read as text."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from babel.messages.pofile import read_po

from api.phone import PAGE_DIR, catalogue, venue_requests
from api.phone.venue_requests import TERMINAL_TRANSLATIONS
from cardio.venues import AGE_ITEMS, AGE_UNKNOWN, REFUSALS, UNDER_AGE, load_venue

from .conftest import NOW
from .test_phone_fixes import needs_node, presentation

VENUE_JS = (PAGE_DIR / "venue.js").read_text("utf-8")
# The terminal's words for the venue's own refusals (api/terminal/screen_text.py), msgctxt none.
NAMES = {UNDER_AGE: "TOO YOUNG", AGE_UNKNOWN: "AGE NOT KNOWN"}


def phone_template(template: str) -> str:
    """A terminal template (%(age)s) as the phone pages write it ({age})."""
    return template.replace("%(age)s", "{age}")


def test_venues_json_carries_each_profiles_require() -> None:
    types = {v["name"]: v for v in venue_requests.venues()}
    assert types["event"]["require"] == ["age_over_18"]
    assert "require" not in types["pool"]  # a venue that requires nothing says nothing
    committed = {v["name"]: v for v in json.loads(venue_requests.VENUES_FILE.read_text("utf-8"))}
    assert committed["event"]["require"] == ["age_over_18"]


def _valid(claims: dict[str, object]) -> dict[str, object]:
    """A VALID result of presentation.js's verifyAnswer disclosing `claims` (a fictional
    holder: no name, a made-up photo)."""
    shown = {"format": "sd-jwt-vc", "issued": "2026-09-01", "expires": "2031-09-01"}
    return {**shown, **claims, "photo_base64": "iVBORw0KGgo=", "entitlements": []}


@needs_node
def test_the_venue_page_decides_as_the_terminal() -> None:
    today = datetime.fromtimestamp(NOW).date()  # the terminal's day: local, as node's Date
    birthday = date(today.year - 18, today.month, today.day)  # NOW is not a 29 February
    eighteen, younger = birthday.isoformat(), (birthday + timedelta(days=1)).isoformat()
    cases: list[dict[str, object]] = [
        {"age_over_18": True},
        {"age_over_18": False},
        {},  # not disclosed: cannot be known
        {"birth_date": eighteen},  # a birth date decides before the item, on the venue's day
        {"birth_date": younger, "age_over_18": True},
        {"birth_date": "not a date", "age_over_18": False},
    ]
    results = [
        {"verdict": "VALID", "reason": None, "message": None, "claims": _valid(c),
         "warnings": [], "missing": []}
        for c in cases
    ]  # fmt: skip
    got = presentation(
        "["
        + ",".join(f"P.venueVerdict({json.dumps(r)}, ['age_over_18'], {NOW})" for r in results)
        + "]"
    )
    event = load_venue("event")
    for case, result, verdict in zip(cases, results, got, strict=True):
        refused = event.refusal(case, NOW)
        if refused is None:
            assert verdict == result, case
            continue
        code, sentence = refused
        assert verdict["verdict"] == code, case
        assert verdict["message"] == phone_template(sentence.template)
        assert verdict["values"] == {"age": 18}
        # what was disclosed stays shown (the photo, "Over 18: no") for staff to tell the holder
        assert verdict["claims"] == result["claims"]
    # a wallet's "no" was worked out on its issue day and may be years stale: only a birth
    # date says TOO YOUNG; a disclosed "no" alone is AGE NOT KNOWN (ask for another proof)
    assert [v["verdict"] for v in got] == [
        "VALID", AGE_UNKNOWN, AGE_UNKNOWN, "VALID", UNDER_AGE, AGE_UNKNOWN,
    ]  # fmt: skip


@needs_node
def test_only_a_valid_answer_meets_the_venues_require() -> None:
    expired = {"verdict": "EXPIRED", "reason": None, "message": None, "claims": None,
               "warnings": [], "missing": []}  # fmt: skip
    valid = {"verdict": "VALID", "reason": None, "message": None, "claims": _valid({}),
             "warnings": [], "missing": ["age_over_18"]}  # fmt: skip
    got = presentation(
        f"[P.venueVerdict({json.dumps(expired)}, ['age_over_18'], {NOW}),"
        f" P.venueVerdict({json.dumps(valid)}, [], {NOW}),"
        f" P.venueVerdict({json.dumps(valid)}, undefined, {NOW}),"
        " P.AGE_ITEMS]"
    )
    assert got[:3] == [expired, valid, valid]
    assert got[3] == AGE_ITEMS  # the items and ages cardio.venues knows


def test_the_venue_page_shows_the_refusal_with_what_was_disclosed() -> None:
    assert "P.venueVerdict(" in VENUE_JS and "type.require" in VENUE_JS
    # the claims are shown whenever the result holds them (a refusal of a valid card does)
    assert "if (valid && res.claims)" not in VENUE_JS
    assert "t(sentence, res.values)" in VENUE_JS


def terminal_words(language: str) -> dict[tuple[str | None, str], str]:
    """The terminal's catalogue of `language`: {(msgctxt, msgid): msgstr}."""
    with (TERMINAL_TRANSLATIONS / language / "LC_MESSAGES" / "terminal.po").open("rb") as f:
        return {(m.context, m.id): m.string for m in read_po(f) if m.id}


def test_every_language_says_the_refusal_as_the_terminal() -> None:
    msgids = set(catalogue.extract())
    assert set(NAMES.values()) | {phone_template(s) for s in REFUSALS.values()} <= msgids
    for language, _rtl in catalogue.LANGUAGES:
        if language == "en":
            continue
        terminal = terminal_words(language)
        phone = catalogue.read_po(catalogue.po_path(language, "phone"))
        for code, name in NAMES.items():
            assert phone[name] == terminal[(None, name)] and phone[name], (language, name)
            theirs = phone_template(terminal[("verdict", REFUSALS[code])])
            assert theirs and phone[phone_template(REFUSALS[code])] == theirs, (language, code)


def test_a_disclosed_age_no_is_shown_as_the_terminal_shows_it() -> None:
    """A wallet's "no" may be years stale (its card's issue day): the venue page shows "cannot
    be known" beside AGE NOT KNOWN, as the staff screen does, never "Over 18: no"."""
    assert 'key in P.AGE_ITEMS && value !== true ? t("cannot be known")' in VENUE_JS
    assert "cannot be known" in set(catalogue.extract())
    for language, _rtl in catalogue.LANGUAGES:
        if language == "en":
            continue
        terminal = terminal_words(language)
        phone = catalogue.read_po(catalogue.po_path(language, "phone"))
        assert phone["cannot be known"] == terminal[(None, "cannot be known")], language
