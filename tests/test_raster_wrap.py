"""Where drawn receipt text breaks its lines (`printer.raster.wrap`)."""

from __future__ import annotations

from printer.raster import TextStyle, wrap

KOREAN = "카드를 잃어버렸나요? 도시 주민 카드 사무소에 알려 주세요. 새 카드를 받을 수 있습니다."


def test_korean_breaks_only_between_words() -> None:
    # Before, Hangul broke between any two syllables: "알려 주세 / 요", "잃 / 어버렸나요".
    lines = wrap(KOREAN, TextStyle(24), 230, "ko")
    assert len(lines) > 2
    assert " ".join(lines) == KOREAN  # every break replaced a space: no word cut


def test_chinese_and_japanese_still_break_between_characters() -> None:
    for text, language in (("城市居民卡可以在图书馆和游泳池使用。", "zh"), ("カードをなくしたら、市役所に連絡してください。", "ja")):
        lines = wrap(text, TextStyle(24), 200, language)
        assert len(lines) > 1 and "".join(lines) == text
