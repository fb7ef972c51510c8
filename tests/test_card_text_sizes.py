"""Names in every script print at about the same size (`printer.card_text.fit_text`)."""

from __future__ import annotations

import pytest

from printer.card_text import fit_text


def _given_name(text: str) -> tuple[int, int]:
    """(size, lines) of a given name in the front's box (58 px, 44 down to 28 px, 2 lines)."""
    fitted = fit_text(text, 626, 58, max_size=44, min_size=28, max_lines=2)
    return int(fitted.font.size), len(fitted.lines)


@pytest.mark.parametrize("name", ["فاطمة الزهراء", "محمد", "נועה לוי"])
def test_a_script_with_tall_line_metrics_is_not_printed_smaller(name: str) -> None:
    # Before, Noto Sans Arabic's 2.1 em line metrics fitted "فاطمة الزهراء" at 27 px, below
    # the box's 28 px minimum, where a Latin name of that length gets 44 px.
    size, _ = _given_name(name)
    assert size >= _given_name("Mira Beispiel")[0] - 4


def test_a_long_arabic_name_wraps_rather_than_shrinking_below_the_minimum() -> None:
    size, lines = _given_name("عبد الرحمن بن محمد بن عبد العزيز آل الفارسي")
    assert size >= 28 or lines > 1


def test_tall_scripts_ink_stays_inside_the_line_box() -> None:
    for text in ("إِبْرَاهِيم", "فاطمة", "བཀྲ་ཤིས"):  # Tibetan stacks are tall: a smaller size
        fitted = fit_text(text, 626, 58, max_size=44, min_size=28)
        _, top, _, bottom = fitted.font.getbbox(text, anchor="ls")
        assert -top <= fitted.ascent and bottom <= fitted.line_height - fitted.ascent
