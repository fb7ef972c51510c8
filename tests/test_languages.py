"""The one fallback rule of the kiosk's languages (`kiosk.languages`)."""

from __future__ import annotations

from pathlib import Path

from cardio.languages import BY_CODE, LANGUAGES, match
from kiosk.languages import Localized, best_available, fallback_chain


def test_regional_tag_falls_back_to_its_base_then_programme_then_english() -> None:
    assert fallback_chain("pt-BR", ["de", "fr"]) == ("pt-BR", "pt", "de", "en")
    assert best_available("pt-BR", ["en", "pt", "de"]) == "pt"
    assert best_available("PT-br", ["en", "pt-BR"]) == "pt-BR"  # case does not matter


def test_traditional_chinese_never_gets_simplified() -> None:
    # `zh` is the Simplified catalogue: a Taiwanese or Hong Kong tag must not fall back to it.
    available = ["en", "zh", "zh-Hant"]
    for tag in ("zh-Hant", "zh-TW", "zh-HK", "zh-MO", "zh-Hant-TW", "zh-Hant-US", "zh_hant_mo"):
        assert best_available(tag, available) == "zh-Hant", tag
    assert best_available("zh-TW", ["en", "zh"]) == "en"  # better English than the wrong script
    for tag in ("zh-Hans", "zh-CN", "zh", "zh-Hans-HK", "zh-SG"):
        assert best_available(tag, available) == "zh", tag


def test_english_asked_for_is_english_not_nothing() -> None:
    # A staff member who switched to English kept the screen in their earlier language: the
    # match for the source language itself came back empty and the cookie's choice won.
    assert match("en", BY_CODE) == "en"
    assert match("en-GB", BY_CODE) == "en"
    assert match("EN", ["de", "en"]) == "en"
    assert match("en", ["de", "fr"]) is None  # no English offered: steps 1-2 only, no fallback
    assert match("xx", BY_CODE) is None


def test_english_on_the_staff_screen_overrides_an_earlier_choice() -> None:
    from api.terminal.i18n import language_for

    assert language_for("en") == "en"


def test_profile_texts_follow_the_same_rule() -> None:
    names = Localized((("en", "Library"), ("zh-Hant", "圖書館"), ("zh-Hans", "图书馆")))
    assert names.get("zh-TW") == "圖書館"
    assert names.get("zh-Hans") == "图书馆"
    assert names.get("ko", ["en"]) == "Library"


def test_every_page_that_speaks_has_a_catalogue_in_every_language() -> None:
    """One language list (cardio.languages) for the kiosk, the issuer's pages and the staff
    screen: each deployable ships a catalogue for every language in it."""
    root = Path(__file__).resolve().parent.parent
    domains = {
        "kiosk": root / "kiosk" / "translations",
        "issuer pages": root / "api" / "issuer" / "translations",
        "staff screen": root / "api" / "terminal" / "translations",
    }
    for what, folder in domains.items():
        have = {p.parent.parent.name for p in folder.glob("*/LC_MESSAGES/*.po")}
        assert have == set(BY_CODE), (what, sorted(set(BY_CODE) ^ have))


def test_right_to_left_languages_are_marked() -> None:
    assert {lang.code for lang in LANGUAGES if lang.rtl} == {"ar", "fa", "ur", "ps", "he", "yi"}
    assert match("he-IL", BY_CODE) == "he" and BY_CODE["he"].dir == "rtl"
