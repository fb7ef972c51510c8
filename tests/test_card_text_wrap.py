"""A long one-word name wraps between letters, never inside one (`printer.card_text`)."""

from __future__ import annotations

import unicodedata
from itertools import pairwise

import pytest

from printer import raster
from printer.card_text import fit_text
from printer.graphemes import clusters

DEVANAGARI = "श्रीकृष्णचन्द्रप्रकाशविद्यार्थीक्षत्रियत्र्यम्बकेश्वरद्विवेदीस्वामीनाथनज्ञानेश्वर"
TAMIL = "சுப்பிரமணியன்கிருஷ்ணமூர்த்திவெங்கடேஸ்வரன்ராமச்சந்திரன்"
BENGALI = "শ্রীকৃষ্ণচন্দ্রপ্রকাশবিদ্যার্থীক্ষত্রিয়ত্র্যম্বকেশ্বরদ্বিবেদী"


def _cut_inside_a_letter(lines: list[str]) -> list[str]:
    """Lines that start with a mark (a dotted circle when printed) or follow a virama."""
    bad = []
    for before, line in pairwise(lines):
        if unicodedata.category(line[0])[0] == "M" or unicodedata.combining(before[-1]) == 9:
            bad.append(line[:3])
    return bad


@pytest.mark.parametrize("name", [DEVANAGARI, TAMIL, BENGALI, "Ọ̀ṣunỌ̀ṣunỌ̀ṣunỌ̀ṣunỌ̀ṣunỌ̀ṣun"])
@pytest.mark.parametrize("width", [180, 233, 301])
def test_a_long_word_wraps_between_letters(name: str, width: int) -> None:
    # Before, the card cut before vowel signs (द|ी, வ|ெ) and after viramas.
    fitted = fit_text(name, width, 400, max_size=30, min_size=30, max_lines=12)
    assert len(fitted.lines) > 1 and "".join(fitted.lines) == name
    assert _cut_inside_a_letter(fitted.lines) == []
    lines = raster.wrap(name, raster.TextStyle(30), width, "hi")  # the receipt's wrapping
    assert "".join(lines) == name and _cut_inside_a_letter(lines) == []


def test_clusters() -> None:
    assert clusters("क्षत्रिय") == ["क्ष", "त्रि", "य"]
    assert clusters("வெங்கடே") == ["வெ", "ங்க", "டே"]
    assert clusters("Ọ̀ṣun") == ["Ọ̀", "ṣ", "u", "n"]
    assert clusters("\u1112\u1161\u11ab\u1100\u1173\u11af") == ["\u1112\u1161\u11ab", "\u1100\u1173\u11af"]
    assert clusters("a b") == ["a", " ", "b"]
