"""Where drawn receipt text breaks its lines (`printer.raster.wrap`)."""

from __future__ import annotations

from printer.raster import TextStyle, font_runs, wrap

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


OFFICE = "المكتب: \u2066Stadthaus, Stadthausquai 17, 8001 Zürich, Schalter 3 (Mo-Fr 8-17 Uhr)\u2069"


def _isolates_balanced(line: str) -> bool:
    depth = 0
    for ch in line:
        if ch in "\u2066\u2067\u2068":
            depth += 1
        elif ch == "\u2069":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def test_a_left_to_right_value_that_wraps_keeps_its_isolate_on_every_line() -> None:
    # Before, the second line ("3 (Mo-Fr 8-17 Uhr)" + PDI) lost its LRI and was laid out
    # right to left on an Arabic receipt: "(3 (Mo-Fr 8-17 Uhr".
    lines = wrap(OFFICE, TextStyle(20), 560, "ar")
    assert len(lines) > 1
    assert all(_isolates_balanced(line) for line in lines), lines
    assert lines[1].startswith("\u2066")
    visible = " ".join(line.replace("\u2066", "").replace("\u2069", "") for line in lines)
    assert visible == OFFICE.replace("\u2066", "").replace("\u2069", "")
    [second] = [run for run in font_runs(lines[1], "ar") if "Uhr" in run.text]
    assert second.rtl is False  # laid out left to right, as on the first line


def test_a_first_strong_isolate_is_reopened_in_the_direction_it_took() -> None:
    text = "الهاتف: \u2068Stadthaus Zürich Schalter 3 شارع\u2069"
    lines = wrap(text, TextStyle(20), 300, "ar")
    assert len(lines) > 1 and all(_isolates_balanced(line) for line in lines), lines
    assert all(line.startswith("\u2066") for line in lines[1:])
