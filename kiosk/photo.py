"""The photo pipeline: an upload or a camera frame in, a clean 3:4 JPEG portrait out.

    from kiosk.photo import prepare_photo, PhotoError

    try:
        chip = prepare_photo(upload, budget_bytes=3072)                  # 240 x 320 for the chip
        card = prepare_photo(upload, 24576, size=PRINT_SIZE)            # 360 x 480 for the card
        chip, card = prepare_photos(upload, 3072, 24576)                # both, one decode
    except PhotoError as exc:
        show(exc.reason, str(exc))       # a typed reason and one sentence for the resident

What happens, in order:

1. **Safe decoding.** At most `MAX_UPLOAD_BYTES` of input; only JPEG (and MPO, the multi-picture
   JPEG of many phones: its first picture), PNG and WebP are opened; the pixel count is checked
   from the header before anything is decoded (at most `MAX_PIXELS`, and never more than
   Pillow's own `Image.MAX_IMAGE_PIXELS`); animated GIF/PNG/WebP are refused; large JPEGs are
   decoded at a reduced scale (`draft`). Any decoder failure is a `PhotoNotImageError`, never a
   traceback: Pillow raises many exception types on hostile input, all caught at that boundary.
2. **EXIF orientation** is applied (a phone photo taken upright stays upright), then **all
   metadata is dropped**: the pixels are copied into a fresh image, so no EXIF (GPS, camera
   serial, time), ICC profile, XMP or comment reaches the output.
3. **Crop to 3:4 portrait**, face-agnostic: horizontally centred; vertically "upper-centre"
   (30 % of the excess above, 70 % below), because faces sit in the upper part of a portrait.
   A picture wider than 16:9 (or taller than 1:3) is refused as not portrait-able; a crop
   smaller than `MIN_CROP` is refused as too small.
4. **Resize** (Lanczos) to `size` (default 240 x 320 for the chip), optional **greyscale**.
5. **Exposure check** on the result: mean luminance below `DARK_LIMIT` is too dark, above
   `BRIGHT_LIMIT` washed out.
6. **Encode** a baseline JPEG with optimised Huffman tables, searching the quality (binary
   search between `QUALITY_MIN` and `QUALITY_MAX`) for the best one within `budget_bytes`. When
   even `QUALITY_MIN` does not fit, the portrait is made smaller (steps of 0.85) down to
   `MIN_OUTPUT`; then `PhotoBudgetError`.
7. **Face check** (`prepare_photos(..., face_check=True)`, the kiosk's camera frames): the whole
   decoded frame must show exactly one face (OpenCV's bundled Haar cascade for frontal faces, no
   model fetched at run time): none is `PhotoNoFaceError`, two or more of similar size is
   `PhotoSeveralFacesError`. A much smaller face (someone far behind, a pattern on the wall)
   does not count. It runs after the exposure check, because "too dark" helps more than "no face".

Nothing here logs or stores the image; errors carry a reason code (for the UI's translated
message) and an English sentence.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from PIL import Image, ImageOps, ImageStat

from cardio.errors import CitycardError

if TYPE_CHECKING:
    import cv2

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
"""Largest upload accepted (a 12-megapixel phone JPEG is 3 to 6 MB)."""
MAX_PIXELS = 40_000_000
"""Largest picture accepted, in pixels (checked from the header, before decoding)."""
CHIP_SIZE = (240, 320)
"""Portrait size on the chip (width, height)."""
PRINT_SIZE = (360, 480)
"""Portrait size for the printed card: about 30 x 40 mm at 300 dpi."""
MIN_CROP = (180, 240)
"""Smallest 3:4 crop of the source accepted (smaller is "too small")."""
MIN_OUTPUT = (120, 160)
"""Smallest portrait the encoder shrinks to when the byte budget is tight."""
MAX_ASPECT = 16 / 9
"""Widest source (width / height) a portrait is cut from."""
MIN_ASPECT = 1 / 3
"""Tallest source (width / height) a portrait is cut from."""
DARK_LIMIT = 45.0
BRIGHT_LIMIT = 235.0
QUALITY_MIN = 12
QUALITY_MAX = 92
MIN_BUDGET = 600
"""Smallest byte budget that can hold a JPEG at all (headers and tables take ~500 bytes)."""
FACE_FRAME = 480
"""Longest side the frame is scaled to for the face check (fast, and enough for a portrait)."""
FACE_MIN_SHARE = 1 / 8
"""Smallest face counted, as a share of the frame's shorter side."""
FACE_SIMILAR = 0.6
"""A second face counts when at least this share of the largest face's width."""
UPPER_CENTRE = 0.3
"""Share of the vertical excess cut above the portrait (the rest is cut below)."""

_FORMATS = ("JPEG", "MPO", "PNG", "WEBP")
_ANIMATABLE = {"GIF", "PNG", "WEBP"}


class PhotoError(CitycardError):
    """A picture that cannot become a card photo. `reason` is a stable code for the UI."""

    reason: ClassVar[str] = "photo"
    sentence: ClassVar[str] = "This picture cannot be used; take a new photo with the kiosk camera."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.sentence)


class PhotoNotImageError(PhotoError):
    reason = "not_image"
    sentence = (
        "This file is not a picture the kiosk can read; take a photo with the kiosk camera, "
        "or upload a JPEG or PNG picture."
    )


class PhotoAnimatedError(PhotoError):
    reason = "animated"
    sentence = "This picture moves (it has several frames); use a still photo instead."


class PhotoTooLargeError(PhotoError):
    reason = "too_large"
    sentence = (
        f"This picture is too large (more than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB or "
        f"{MAX_PIXELS // 1_000_000} megapixels); take a photo with the kiosk camera or upload a "
        "smaller picture."
    )


class PhotoTooManyPixelsError(PhotoTooLargeError):
    """Small in bytes (a JPEG of a plain picture) but too many pixels to decode safely."""

    reason = "too_many_pixels"
    sentence = (
        f"This picture has too many pixels (more than {MAX_PIXELS // 1_000_000} megapixels); "
        "take a photo with the kiosk camera or upload a smaller picture."
    )


class PhotoTooSmallError(PhotoError):
    reason = "too_small"
    sentence = (
        f"This picture is too small for a card photo (it needs at least {MIN_CROP[0]} x "
        f"{MIN_CROP[1]} pixels in portrait); take a photo with the kiosk camera instead."
    )


class PhotoNotPortraitError(PhotoError):
    reason = "not_portrait"
    sentence = (
        "This picture is too wide (or too narrow) to cut a portrait from; take a photo facing "
        "the camera, with your face in the middle."
    )


class PhotoTooDarkError(PhotoError):
    reason = "too_dark"
    sentence = (
        "This photo is too dark; stand facing the light, or ask for more light, and take it again."
    )


class PhotoTooBrightError(PhotoError):
    reason = "too_bright"
    sentence = (
        "This photo is too bright (washed out); step away from the strong light behind or in "
        "front of you and take it again."
    )


class PhotoNoFaceError(PhotoError):
    reason = "no_face"
    sentence = (
        "No face can be seen in this photo; look straight at the camera, with your whole face "
        "in the picture, and take it again."
    )


class PhotoSeveralFacesError(PhotoError):
    reason = "several_faces"
    sentence = (
        "There is more than one face in this photo; make sure only you are in the picture and "
        "take it again."
    )


class PhotoBudgetError(PhotoError):
    reason = "too_detailed"
    sentence = (
        "This photo cannot be made small enough for the chip; take it again in front of a "
        "plain background."
    )


@dataclass(frozen=True)
class PreparedPhoto:
    """A clean JPEG portrait (no metadata) and how it was made. `jpeg` is never shown in repr."""

    jpeg: bytes = field(repr=False)
    width: int
    height: int
    quality: int
    greyscale: bool
    mean_luminance: float
    source_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.jpeg)


def prepare_photo(
    data: bytes,
    budget_bytes: int,
    greyscale: bool = False,
    *,
    size: tuple[int, int] = CHIP_SIZE,
) -> PreparedPhoto:
    """A 3:4 portrait JPEG of at most `budget_bytes` from an uploaded picture (see module doc).

    Raises a PhotoError subclass with a sentence for the resident; ValueError only for a
    programming mistake (a budget below MIN_BUDGET, a size that is not 3:4 portrait).
    """
    _check_request(budget_bytes, size)
    image, source_size, scale = _decode(_upload(data), max(size))
    return _finish(_crop_portrait(image, scale), budget_bytes, size, greyscale, source_size)


def prepare_photos(
    data: bytes,
    chip_budget: int | None,
    print_budget: int,
    greyscale: bool = False,
    *,
    chip_size: tuple[int, int] = CHIP_SIZE,
    print_size: tuple[int, int] = PRINT_SIZE,
    face_check: bool = False,
) -> tuple[PreparedPhoto | None, PreparedPhoto]:
    """The chip portrait (None when `chip_budget` is None: no photo on the chip) and the print
    portrait from one upload, decoded once. Errors as for `prepare_photo`; with `face_check`
    also PhotoNoFaceError and PhotoSeveralFacesError (see module doc)."""
    if chip_budget is not None:
        _check_request(chip_budget, chip_size)
    _check_request(print_budget, print_size)
    longest = max(max(print_size), max(chip_size) if chip_budget is not None else 0)
    image, source_size, scale = _decode(_upload(data), longest)
    portrait = _crop_portrait(image, scale)
    printed = _finish(portrait, print_budget, print_size, greyscale, source_size)
    if face_check:
        check_one_face(image)
    chip = None
    if chip_budget is not None:
        chip = _finish(portrait, chip_budget, chip_size, greyscale, source_size)
    return chip, printed


def _check_request(budget_bytes: int, size: tuple[int, int]) -> None:
    width, height = size
    if budget_bytes < MIN_BUDGET:
        raise ValueError(f"A photo budget below {MIN_BUDGET} bytes cannot hold a JPEG.")
    if width <= 0 or height <= 0 or width * 4 != height * 3:
        raise ValueError(f"The photo size {width} x {height} is not a 3:4 portrait.")


def _upload(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PhotoNotImageError()
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoTooLargeError()
    if len(data) == 0:
        raise PhotoNotImageError()
    return bytes(data)


def _finish(
    portrait: Image.Image,
    budget_bytes: int,
    size: tuple[int, int],
    greyscale: bool,
    source_size: tuple[int, int],
) -> PreparedPhoto:
    resized = portrait.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    clean = _clean(resized, greyscale)
    luminance = _mean_luminance(clean)
    if luminance < DARK_LIMIT:
        raise PhotoTooDarkError()
    if luminance > BRIGHT_LIMIT:
        raise PhotoTooBrightError()
    jpeg, quality, out = _fit_budget(clean, budget_bytes)
    return PreparedPhoto(
        jpeg=jpeg,
        width=out.width,
        height=out.height,
        quality=quality,
        greyscale=greyscale,
        mean_luminance=round(luminance, 1),
        source_size=source_size,
    )


# -- the face check ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _face_cascade() -> cv2.CascadeClassifier:
    import cv2  # the kiosk extra's opencv-python-headless; imported only where faces are checked

    folder: str = cv2.data.haarcascades  # type: ignore[attr-defined]  # untyped submodule
    cascade = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's frontal face cascade is missing from this installation.")
    return cascade


def count_faces(image: Image.Image) -> int:
    """Faces in a decoded frame, counting only those at least FACE_SIMILAR of the largest."""
    import cv2
    import numpy as np

    grey = image.convert("L")
    scale = FACE_FRAME / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))))
    pixels = cv2.equalizeHist(np.asarray(grey, dtype=np.uint8))
    smallest = max(24, round(min(grey.size) * FACE_MIN_SHARE))
    found = _face_cascade().detectMultiScale(
        pixels, scaleFactor=1.1, minNeighbors=6, minSize=(smallest, smallest)
    )
    widths = [int(box[2]) for box in found]
    if not widths:
        return 0
    largest = max(widths)
    return sum(1 for width in widths if width >= largest * FACE_SIMILAR)


def check_one_face(image: Image.Image) -> None:
    """PhotoNoFaceError or PhotoSeveralFacesError unless the frame shows exactly one face."""
    faces = count_faces(image)
    if faces == 0:
        raise PhotoNoFaceError()
    if faces > 1:
        raise PhotoSeveralFacesError()


# -- decoding ------------------------------------------------------------------------------------


def _formats() -> tuple[str, ...]:
    """The accepted formats this Pillow can open (MPO and WebP register on Image.init())."""
    if not all(f in Image.OPEN for f in _FORMATS):
        Image.init()
    return tuple(f for f in _FORMATS if f in Image.OPEN)


def _pixel_limit() -> int:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return MAX_PIXELS if pillow_limit is None else min(MAX_PIXELS, int(pillow_limit))


def _decode(data: bytes, longest_side: int) -> tuple[Image.Image, tuple[int, int], float]:
    """Open, check and decode: an RGB or L image with its orientation applied, the source
    size as stored, and the source pixels per decoded pixel (> 1 after draft decoding)."""
    try:
        image = Image.open(io.BytesIO(data), formats=_formats())
    except Image.DecompressionBombError as exc:
        raise PhotoTooManyPixelsError() from exc
    except Exception as exc:  # Pillow raises many types on hostile input: all mean "not a picture"
        log.debug("photo refused at open: %s", type(exc).__name__)
        raise PhotoNotImageError() from exc
    try:
        source = (int(image.width), int(image.height))
        if source[0] <= 0 or source[1] <= 0:
            raise PhotoNotImageError()
        if source[0] * source[1] > _pixel_limit():
            raise PhotoTooManyPixelsError()
        if image.format in _ANIMATABLE and getattr(image, "is_animated", False):
            raise PhotoAnimatedError()
        _check_shape(source)  # cheap refusals before decoding; the crop is checked again
        if image.format in ("JPEG", "MPO"):
            # Decode at 1/2, 1/4 or 1/8 scale when that still leaves enough pixels.
            need = max(longest_side, MIN_CROP[1])
            image.draft("RGB" if image.mode == "RGB" else image.mode, (need, need))
        image.load()
        scale = source[0] / image.width
        oriented = _apply_orientation(image)
        return _to_rgb_or_l(oriented), source, scale
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoTooLargeError() from exc
    except Exception as exc:  # truncated data, bad chunks, unsupported modes, ...
        log.debug("photo refused at decode: %s", type(exc).__name__)
        raise PhotoNotImageError() from exc
    finally:
        image.close()


def _apply_orientation(image: Image.Image) -> Image.Image:
    try:
        rotated = ImageOps.exif_transpose(image)
    except Exception as exc:  # malformed EXIF: keep the pixels as stored
        log.debug("photo orientation ignored: %s", type(exc).__name__)
        return image
    return image if rotated is None else rotated


def _to_rgb_or_l(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L"):
        return image.copy()
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        # 16-bit or integer greyscale: scale the brightest value present to 255
        wide = image if image.mode in ("I", "F") else image.convert("I")
        top = float(wide.getextrema()[1])  # type: ignore[arg-type]
        factor = 255.0 / top if top > 255 else 1.0
        return wide.point(lambda v: v * factor).convert("L")
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def _check_shape(size: tuple[int, int]) -> None:
    width, height = size
    aspect = width / height
    # An EXIF rotation may turn the picture, so judge the shape either way round.
    if not (MIN_ASPECT <= aspect <= MAX_ASPECT or MIN_ASPECT <= 1 / aspect <= MAX_ASPECT):
        raise PhotoNotPortraitError()
    if min(size) < MIN_CROP[0]:  # a 3:4 crop is never wider than the shorter side
        raise PhotoTooSmallError()


# -- cropping, cleaning, encoding ------------------------------------------------------------------


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The 3:4 portrait box (left, upper, right, lower) cut from a width x height picture."""
    if width * 4 > height * 3:  # too wide: keep the height, centre horizontally
        crop_w, crop_h = (height * 3) // 4, height
        left = (width - crop_w) // 2
        return left, 0, left + crop_w, crop_h
    crop_w, crop_h = width, (width * 4) // 3
    top = int((height - crop_h) * UPPER_CENTRE)
    return 0, top, crop_w, top + crop_h


def _crop_portrait(image: Image.Image, scale: float) -> Image.Image:
    """The 3:4 crop; `scale` is source pixels per decoded pixel (JPEG draft decoding)."""
    width, height = image.size
    aspect = width / height
    if not MIN_ASPECT <= aspect <= MAX_ASPECT:
        raise PhotoNotPortraitError()
    box = crop_box(width, height)
    if round((box[2] - box[0]) * scale) < MIN_CROP[0]:
        raise PhotoTooSmallError()
    return image.crop(box)


def _clean(image: Image.Image, greyscale: bool) -> Image.Image:
    """A fresh image with the same pixels and no metadata at all (info, EXIF, ICC, XMP)."""
    mode = "L" if greyscale else "RGB"
    pixels = image.convert(mode) if image.mode != mode else image
    fresh = Image.new(mode, pixels.size)
    fresh.paste(pixels)
    return fresh


def _mean_luminance(image: Image.Image) -> float:
    grey = image if image.mode == "L" else image.convert("L")
    return float(ImageStat.Stat(grey).mean[0])


def _encode(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, optimize=True, progressive=False)
    return buf.getvalue()


def _best_quality(image: Image.Image, budget: int) -> tuple[bytes, int] | None:
    """The highest quality in [QUALITY_MIN, QUALITY_MAX] whose JPEG fits, by binary search."""
    top = _encode(image, QUALITY_MAX)
    if len(top) <= budget:
        return top, QUALITY_MAX
    low_bytes = _encode(image, QUALITY_MIN)
    if len(low_bytes) > budget:
        return None
    best, best_q = low_bytes, QUALITY_MIN
    lo, hi = QUALITY_MIN + 1, QUALITY_MAX - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        encoded = _encode(image, mid)
        if len(encoded) <= budget:
            best, best_q = encoded, mid
            lo = mid + 1
        else:
            hi = mid - 1
    return best, best_q


def _fit_budget(image: Image.Image, budget: int) -> tuple[bytes, int, Image.Image]:
    current = image
    while True:
        found = _best_quality(current, budget)
        if found is not None:
            return found[0], found[1], current
        width = int(current.width * 0.85) // 3 * 3
        if width < MIN_OUTPUT[0]:
            raise PhotoBudgetError()
        current = image.resize((width, width * 4 // 3), Image.Resampling.LANCZOS)
