"""A signature must hold some ink that prints: a tap, an opaque white page or an opaque
black box (a crafted POST) is not a signature (kiosk.web.flow.photo.read_signature)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from kiosk.web import messages as msg
from kiosk.web.flow.photo import read_signature
from kiosk.web.validation import InputError
from tests.test_kiosk_web import signature_data_url


def _url(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _tap() -> Image.Image:
    img = Image.new("RGBA", (900, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((400, 150, 405, 155), fill=(0, 0, 0, 255))  # one touch of the pen
    return img


@pytest.mark.parametrize(
    ("img", "message"),
    [
        pytest.param(_tap(), msg.NO_SIGNATURE, id="one-tap"),
        pytest.param(Image.new("RGB", (900, 300), "white"), msg.NO_SIGNATURE, id="opaque-white"),
        pytest.param(Image.new("RGB", (900, 300), "black"), msg.BAD_SIGNATURE, id="opaque-black"),
    ],
)
def test_no_real_ink_is_no_signature(img: Image.Image, message: str) -> None:
    with pytest.raises(InputError) as refused:
        read_signature(_url(img))
    assert refused.value.message == message


def test_a_drawn_signature_on_a_clear_or_a_white_pad_is_taken() -> None:
    assert read_signature(signature_data_url())
    page = Image.new("RGB", (900, 300), "white")
    ImageDraw.Draw(page).line((50, 200, 300, 80, 500, 220), fill="black", width=5)
    assert read_signature(_url(page))
