"""The kiosk photo pipeline: safe decoding, orientation, metadata stripped, crop, budget, refusals."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from kiosk.demo import synthetic_portrait
from kiosk.photo import (
    CHIP_SIZE,
    MAX_UPLOAD_BYTES,
    PRINT_SIZE,
    PhotoAnimatedError,
    PhotoError,
    PhotoNoFaceError,
    PhotoNotImageError,
    PhotoNotPortraitError,
    PhotoSeveralFacesError,
    PhotoTooBrightError,
    PhotoTooDarkError,
    PhotoTooLargeError,
    PhotoTooSmallError,
    crop_box,
    prepare_photo,
    prepare_photos,
)


def portrait_scene(width: int, height: int, *, marker: bool = False) -> Image.Image:
    """A drawn head-and-shoulders scene with some texture. With `marker`, a red block marks the
    top of the scene (to check orientation)."""
    img = Image.new("RGB", (width, height), (190, 205, 222))
    d = ImageDraw.Draw(img)
    for i in range(0, width, 7):
        d.line((i, 0, i + height // 3, height), fill=(170 + i % 40, 190, 210), width=2)
    cx = width // 2
    d.ellipse((cx - width // 6, height // 8, cx + width // 6, height // 2), fill=(150, 110, 85))
    d.rectangle((cx - width // 3, height * 3 // 5, cx + width // 3, height), fill=(50, 70, 110))
    if marker:
        d.rectangle((0, 0, width, height // 10), fill=(255, 0, 0))
    return img


def jpeg(img: Image.Image, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **params)
    return buf.getvalue()


def png(img: Image.Image, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **params)
    return buf.getvalue()


def jpeg_segments(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's header segments (up to SOS)."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + length
    return markers


def test_webcam_frame_becomes_a_chip_portrait_within_budget() -> None:
    out = prepare_photo(jpeg(portrait_scene(1280, 720)), 3072)
    assert (out.width, out.height) == CHIP_SIZE
    assert len(out.jpeg) <= 3072
    assert out.quality >= 30  # a drawn scene compresses well: the search found a good quality
    with Image.open(io.BytesIO(out.jpeg)) as img:
        assert img.format == "JPEG" and img.size == CHIP_SIZE and img.mode == "RGB"


def test_print_photo_is_larger_and_greyscale_works() -> None:
    upload = jpeg(portrait_scene(1200, 1600))
    printed = prepare_photo(upload, 40_000, size=PRINT_SIZE)
    assert (printed.width, printed.height) == PRINT_SIZE and len(printed.jpeg) <= 40_000
    grey = prepare_photo(upload, 3072, greyscale=True)
    with Image.open(io.BytesIO(grey.jpeg)) as img:
        assert img.mode == "L"
    assert grey.greyscale


@pytest.mark.parametrize("budget", [800, 1500, 3072, 6000])
def test_quality_search_uses_the_budget(budget: int) -> None:
    upload = jpeg(portrait_scene(900, 1200))
    out = prepare_photo(upload, budget)
    assert len(out.jpeg) <= budget
    if out.quality < 92 and out.width == CHIP_SIZE[0]:
        # the next quality up would not have fitted (binary search found the best)
        bigger = prepare_photo(upload, len(out.jpeg) - 1) if len(out.jpeg) > 700 else None
        assert bigger is None or bigger.quality <= out.quality


def test_metadata_is_stripped() -> None:
    img = portrait_scene(600, 800)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x9286] = "user comment"  # UserComment
    exif[0x8825] = {1: "N", 2: (47.0, 22.0, 0.0)}  # GPS info
    upload = jpeg(img, exif=exif.tobytes(), icc_profile=b"\0" * 128, comment=b"Mira was here")
    out = prepare_photo(upload, 3072)
    markers = jpeg_segments(out.jpeg)
    assert 0xE1 not in markers  # APP1: EXIF / XMP
    assert 0xE2 not in markers  # APP2: ICC
    assert 0xFE not in markers  # COM
    for needle in (b"SecretCam", b"Mira", b"Exif", b"ICC_PROFILE"):
        assert needle not in out.jpeg


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_orientation_is_applied(orientation: int) -> None:
    upright = portrait_scene(600, 800, marker=True)
    # Store the pixels turned so that the EXIF orientation tag turns them back upright.
    stored = {
        6: upright.transpose(Image.Transpose.ROTATE_90),
        8: upright.transpose(Image.Transpose.ROTATE_270),
        3: upright.transpose(Image.Transpose.ROTATE_180),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = prepare_photo(jpeg(stored, exif=exif.tobytes()), 6000)
    with Image.open(io.BytesIO(out.jpeg)) as img:
        r, g, b = img.convert("RGB").getpixel((img.width // 2, 3))  # type: ignore[misc]
    assert r > 180 and g < 90 and b < 90, "the red top marker is not at the top"


def test_crop_is_centred_horizontally_and_upper_centre_vertically() -> None:
    assert crop_box(1600, 1200) == (350, 0, 1250, 1200)
    left, top, right, bottom = crop_box(600, 1200)
    assert (left, right) == (0, 600) and bottom - top == 800
    assert top == int(400 * 0.3)  # 30 % of the excess above, 70 % below


def test_png_with_alpha_and_palette_images_work() -> None:
    rgba = portrait_scene(600, 800).convert("RGBA")
    rgba.putalpha(200)
    assert len(prepare_photo(png(rgba), 3072).jpeg) <= 3072
    pal = portrait_scene(600, 800).convert("P", palette=Image.Palette.ADAPTIVE)
    assert len(prepare_photo(png(pal), 3072).jpeg) <= 3072
    grey16 = portrait_scene(600, 800).convert("I;16")
    assert len(prepare_photo(png(grey16), 3072).jpeg) <= 3072


def test_too_dark_and_too_bright() -> None:
    dark = Image.eval(portrait_scene(600, 800), lambda v: v // 8)
    with pytest.raises(PhotoTooDarkError) as exc:
        prepare_photo(jpeg(dark), 3072)
    assert exc.value.reason == "too_dark" and "light" in str(exc.value)
    bright = Image.new("RGB", (600, 800), (250, 250, 250))
    with pytest.raises(PhotoTooBrightError):
        prepare_photo(jpeg(bright), 3072)


def test_too_small_and_not_portrait() -> None:
    with pytest.raises(PhotoTooSmallError) as small:
        prepare_photo(jpeg(portrait_scene(120, 160)), 3072)
    assert small.value.reason == "too_small"
    with pytest.raises(PhotoTooSmallError):  # wide enough in pixels, but the crop is 168 wide
        prepare_photo(jpeg(portrait_scene(400, 225)), 3072)
    with pytest.raises(PhotoNotPortraitError) as wide:
        prepare_photo(jpeg(portrait_scene(2400, 600)), 3072)
    assert wide.value.reason == "not_portrait"
    with pytest.raises(PhotoNotPortraitError):
        prepare_photo(jpeg(portrait_scene(300, 1200)), 3072)


def test_not_images_and_empty() -> None:
    for data in (b"", b"hello", b"%PDF-1.4\n" + b"0" * 2000, b"GIF89a" + b"\0" * 50):
        with pytest.raises(PhotoNotImageError) as exc:
            prepare_photo(data, 3072)
        assert exc.value.reason == "not_image" and str(exc.value).endswith(".")


def test_truncated_jpeg_is_not_an_image() -> None:
    data = jpeg(portrait_scene(600, 800))
    with pytest.raises(PhotoNotImageError):
        prepare_photo(data[: len(data) // 2], 3072)


def test_formats_other_than_jpeg_png_webp_are_refused() -> None:
    buf = io.BytesIO()
    portrait_scene(600, 800).save(buf, "BMP")
    with pytest.raises(PhotoNotImageError):
        prepare_photo(buf.getvalue(), 3072)


def test_animated_pictures_are_refused() -> None:
    frames = [portrait_scene(300, 400), portrait_scene(300, 400, marker=True)]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(PhotoAnimatedError):
        prepare_photo(buf.getvalue(), 3072)
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(PhotoAnimatedError):
        prepare_photo(buf.getvalue(), 3072)


def _png_header_only(width: int, height: int) -> bytes:
    """A small PNG that claims a huge size (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_huge_pictures_are_refused_before_decoding() -> None:
    with pytest.raises(PhotoTooLargeError):
        prepare_photo(_png_header_only(20_000, 20_000), 3072)  # 400 MP, ~1 KB of file
    with pytest.raises(PhotoTooLargeError):
        prepare_photo(_png_header_only(60_000, 60_000), 3072)  # past Pillow's bomb limit
    with pytest.raises(PhotoTooLargeError) as exc:
        prepare_photo(b"\xff\xd8" + b"\0" * MAX_UPLOAD_BYTES, 3072)
    assert exc.value.reason == "too_large"


def test_programming_mistakes_are_value_errors() -> None:
    with pytest.raises(ValueError):
        prepare_photo(jpeg(portrait_scene(600, 800)), 100)
    with pytest.raises(ValueError):
        prepare_photo(jpeg(portrait_scene(600, 800)), 3072, size=(300, 300))


def test_repr_never_shows_the_picture() -> None:
    out = prepare_photo(jpeg(portrait_scene(600, 800)), 3072)
    assert "jpeg" not in repr(out) and "\\x" not in repr(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        out = prepare_photo(data, 3072)
    except PhotoError as exc:
        assert exc.reason and str(exc)
    else:  # vanishingly unlikely, but then it must be a proper portrait
        assert len(out.jpeg) <= 3072


_VALID = jpeg(portrait_scene(480, 640))
_VALID_PNG = png(portrait_scene(300, 400))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([_VALID, _VALID_PNG]),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 2),
)
def test_corrupted_pictures_never_crash(
    base: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(base)
    for at, value in flips:
        data[at % len(data)] = value
    if cut:
        data = data[: len(data) * cut // 3]
    try:
        out = prepare_photo(bytes(data), 3072)
    except PhotoError as exc:
        assert exc.reason
    else:
        assert len(out.jpeg) <= 3072


def test_both_portraits_from_one_decode() -> None:
    upload = jpeg(portrait_scene(1600, 1200))
    chip, printed = prepare_photos(upload, 3072, 40_000)
    assert chip is not None and (chip.width, chip.height) == CHIP_SIZE and len(chip.jpeg) <= 3072
    assert (printed.width, printed.height) == PRINT_SIZE and len(printed.jpeg) <= 40_000
    none, printed_only = prepare_photos(upload, None, 40_000)
    assert none is None and printed_only.jpeg == printed.jpeg
    with pytest.raises(PhotoTooDarkError):
        prepare_photos(jpeg(Image.eval(portrait_scene(600, 800), lambda v: v // 8)), 3072, 9000)


# -- the face check ------------------------------------------------------------------------------


def side_by_side(width: int, height: int) -> bytes:
    """Two of the demo's drawn faces next to each other in one frame."""
    face = Image.open(io.BytesIO(synthetic_portrait(width // 2, height // 2, seed=5)))
    frame = Image.new("RGB", (width, height), (196, 210, 226))
    frame.paste(face, (0, height // 4))
    frame.paste(face, (width // 2, height // 4))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize(("width", "height"), [(720, 960), (1200, 1600), (480, 640), (960, 720)])
@pytest.mark.parametrize("seed", [1, 3, 7, 42])
def test_the_demo_portrait_shows_one_face(width: int, height: int, seed: int) -> None:
    chip, printed = prepare_photos(synthetic_portrait(width, height, seed), 3072, 24 * 1024, face_check=True)
    assert chip is not None and printed.jpeg[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(jpeg(Image.new("RGB", (720, 960), (200, 200, 200))), id="blank"),
        pytest.param(jpeg(portrait_scene(720, 960)), id="silhouette without a face"),
    ],
)
def test_a_frame_without_a_face_is_refused(frame: bytes) -> None:
    with pytest.raises(PhotoNoFaceError, match="No face can be seen"):
        prepare_photos(frame, 3072, 24 * 1024, face_check=True)
    prepare_photos(frame, 3072, 24 * 1024)  # without the check the pipeline takes it


@pytest.mark.parametrize(("width", "height"), [(720, 960), (960, 720), (1200, 900)])
def test_two_faces_side_by_side_are_refused(width: int, height: int) -> None:
    with pytest.raises(PhotoSeveralFacesError, match="more than one face") as refused:
        prepare_photos(side_by_side(width, height), None, 24 * 1024, face_check=True)
    assert refused.value.reason == "several_faces"
